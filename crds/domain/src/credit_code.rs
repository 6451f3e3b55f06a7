//! The unified social credit code (统一社会信用代码, GB 32100-2015) that identifies every
//! agency, and its check digit.
//!
//! The schema's CEL rule only checks the shape (18 characters from the code's alphabet);
//! the check digit needs a weighted sum that CEL cannot express cheaply, so the operator
//! verifies it here and refuses to provision an agency whose code has a typo: the code
//! is what the public search and the upward reports identify the agency by.

/// The 31 characters a credit code may use, in value order (no I, O, S, V, Z).
pub const ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Weights of positions 1 to 17 (3^(i-1) mod 31).
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// CEL regular expression for the shape: registration authority and category, the
/// 6-digit division code of the registration place, organisation code and check digit.
pub const CREDIT_CODE_PATTERN: &str = "^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$";

/// Why a string is not a valid credit code; `Display` is the message for the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditCodeError {
    /// Not 18 characters.
    #[error("must be 18 characters, found {0}")]
    Length(usize),
    /// A character outside [`ALPHABET`] (or a non-digit in positions 3 to 8).
    #[error(
        "character {position} is {found:?}, which is not allowed there (digits, and upper-case letters except I, O, S, V, Z; positions 3-8 are digits)"
    )]
    Character {
        /// 1-based position.
        position: usize,
        /// The offending character.
        found: char,
    },
    /// The 18th character does not match the first 17.
    #[error("check digit is '{found}' but should be '{expected}' (GB 32100-2015)")]
    CheckDigit {
        /// Character found in position 18.
        found: char,
        /// Character the first 17 require.
        expected: char,
    },
}

fn value(c: char) -> Option<u32> {
    ALPHABET.find(c).map(|i| i as u32)
}

/// The check character for the first 17 characters of a code; `None` if `first17` is
/// not 17 characters from [`ALPHABET`].
pub fn check_character(first17: &str) -> Option<char> {
    let mut sum = 0;
    let mut n = 0;
    for (c, w) in first17.chars().zip(WEIGHTS) {
        sum += value(c)? * w;
        n += 1;
    }
    if n != 17 || first17.chars().count() != 17 {
        return None;
    }
    let check = (31 - sum % 31) % 31;
    ALPHABET.chars().nth(check as usize)
}

/// Checks shape and check digit of a unified social credit code.
pub fn validate_credit_code(code: &str) -> Result<(), CreditCodeError> {
    let chars: Vec<char> = code.chars().collect();
    if chars.len() != 18 {
        return Err(CreditCodeError::Length(chars.len()));
    }
    for (i, &c) in chars.iter().enumerate() {
        let ok = if (2..8).contains(&i) {
            c.is_ascii_digit()
        } else {
            value(c).is_some()
        };
        if !ok {
            return Err(CreditCodeError::Character {
                position: i + 1,
                found: c,
            });
        }
    }
    let first17: String = chars[..17].iter().collect();
    let expected = check_character(&first17).expect("17 characters from the alphabet");
    if chars[17] != expected {
        return Err(CreditCodeError::CheckDigit {
            found: chars[17],
            expected,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_are_powers_of_three_mod_31() {
        let mut w = 1;
        for expected in WEIGHTS {
            assert_eq!(w, expected);
            w = w * 3 % 31;
        }
        assert_eq!(ALPHABET.len(), 31);
    }

    #[test]
    fn known_valid_codes() {
        // Worked by hand: 9·1 + 1·3 + 3·9 + 5·27 + 1·26 + M(21)·20 + 1·8 + Y(30)·30 + 4·28
        // = 1640; 1640 mod 31 = 28; 31 − 28 = 3 → '3'.
        assert_eq!(validate_credit_code("91350100M000100Y43"), Ok(()));
        // 9 + 3 + 9 + 27 + 20 + 24 + 30 + 240 + 196 = 558 = 18·31 → 31 − 0 = 31 → 0 → '0'.
        assert_eq!(validate_credit_code("911100001000013870"), Ok(()));
        assert_eq!(check_character("91350100M000100Y4"), Some('3'));
        assert_eq!(check_character("91110000100001387"), Some('0'));
    }

    #[test]
    fn a_check_value_of_30_is_the_letter_y() {
        // Build a code whose check value is 30 and make sure it maps to 'Y'.
        let body = "1121010000000000";
        let c = (0..31)
            .map(|i| format!("{body}{}", ALPHABET.chars().nth(i).unwrap()))
            .find(|f| check_character(f) == Some('Y'))
            .expect("some 17th character gives check value 30");
        let code = format!("{c}Y");
        assert_eq!(validate_credit_code(&code), Ok(()));
    }

    #[test]
    fn wrong_check_digit() {
        let e = validate_credit_code("91350100M000100Y42").unwrap_err();
        assert_eq!(
            e,
            CreditCodeError::CheckDigit {
                found: '2',
                expected: '3'
            }
        );
        assert_eq!(
            e.to_string(),
            "check digit is '2' but should be '3' (GB 32100-2015)"
        );
        // A transposition is caught too.
        assert!(matches!(
            validate_credit_code("91351000M000100Y43"),
            Err(CreditCodeError::CheckDigit { .. })
        ));
    }

    #[test]
    fn wrong_shape() {
        assert_eq!(validate_credit_code(""), Err(CreditCodeError::Length(0)));
        assert_eq!(
            validate_credit_code("91350100M000100Y4"),
            Err(CreditCodeError::Length(17))
        );
        assert_eq!(
            validate_credit_code("91350100M000100Y433"),
            Err(CreditCodeError::Length(19))
        );
        // Lower case.
        assert_eq!(
            validate_credit_code("91350100m000100Y43"),
            Err(CreditCodeError::Character {
                position: 9,
                found: 'm'
            })
        );
        // Letters the code never uses: I, O, S, V, Z.
        for bad in ['I', 'O', 'S', 'V', 'Z'] {
            let code = format!("91350100{bad}000100Y43");
            assert!(
                matches!(
                    validate_credit_code(&code),
                    Err(CreditCodeError::Character { position: 9, .. })
                ),
                "{code}"
            );
        }
        // Letters in the division-code part.
        assert!(matches!(
            validate_credit_code("9135A100M000100Y43"),
            Err(CreditCodeError::Character { position: 5, .. })
        ));
        // Multi-byte characters count as one.
        assert_eq!(
            validate_credit_code("９1350100M000100Y43"),
            Err(CreditCodeError::Character {
                position: 1,
                found: '９'
            })
        );
    }
}
