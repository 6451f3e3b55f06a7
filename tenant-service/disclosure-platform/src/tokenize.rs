//! Tokenizers of the index.
//!
//! - `jieba`: Chinese word segmentation (jieba, precise mode) with *ordinal* positions, so
//!   a phrase query of the words of `食品经营许可` matches them in a row.
//! - `cjk_bigram`: every two neighbouring Han characters (`沈阳市` → `沈阳`, `阳市`), runs of
//!   letters and digits as one lower-cased token, a lone Han character as itself. A phrase
//!   of bigrams matches any substring of two characters or more, so a person's or
//!   company's name that the jieba dictionary splits oddly is still found.

use tantivy::tokenizer::{
    LowerCaser, RemoveLongFilter, TextAnalyzer, Token, TokenStream, Tokenizer, TokenizerManager,
};

pub const JIEBA: &str = "jieba";
pub const BIGRAM: &str = "cjk_bigram";

/// Registers both tokenizers.
pub fn register(manager: &TokenizerManager) {
    let mut jieba = tantivy_jieba::JiebaTokenizer::with_ordinal_position_mode(true);
    jieba.set_search_mode(false);
    manager.register(
        JIEBA,
        TextAnalyzer::builder(jieba)
            .filter(RemoveLongFilter::limit(40))
            .filter(LowerCaser)
            .build(),
    );
    manager.register(BIGRAM, TextAnalyzer::builder(CjkBigram).build());
}

/// Han ideographs (CJK Unified, Extension A, compatibility, Extensions B+).
pub fn is_han(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x3134F)
}

/// The bigram tokenizer.
#[derive(Clone, Copy, Debug, Default)]
pub struct CjkBigram;

pub struct VecTokenStream {
    tokens: Vec<Token>,
    next: usize,
}

impl TokenStream for VecTokenStream {
    fn advance(&mut self) -> bool {
        self.next += 1;
        self.next <= self.tokens.len()
    }
    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

impl Tokenizer for CjkBigram {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        VecTokenStream {
            tokens: bigrams(text),
            next: 0,
        }
    }
}

/// The tokens of `text` (see the module docs).
pub fn bigrams(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let end_of = |i: usize| chars.get(i + 1).map_or(text.len(), |(o, _)| *o);
    let mut push = |from: usize, to: usize, text: String| {
        let position = out.len();
        out.push(Token {
            offset_from: from,
            offset_to: to,
            position,
            text,
            position_length: 1,
        });
    };
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        if is_han(c) {
            let mut j = i;
            while j + 1 < chars.len() && is_han(chars[j + 1].1) {
                j += 1;
            }
            if j == i {
                push(start, end_of(i), c.to_string());
            } else {
                for k in i..j {
                    let pair: String = [chars[k].1, chars[k + 1].1].iter().collect();
                    push(chars[k].0, end_of(k + 1), pair);
                }
            }
            i = j + 1;
        } else if c.is_alphanumeric() {
            let mut j = i;
            while j + 1 < chars.len() && chars[j + 1].1.is_alphanumeric() && !is_han(chars[j + 1].1)
            {
                j += 1;
            }
            let word: String = chars[i..=j].iter().map(|(_, c)| *c).collect();
            if word.len() <= 40 {
                push(start, end_of(j), word.to_lowercase());
            }
            i = j + 1;
        } else {
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<String> {
        bigrams(s).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn han_runs_become_bigrams_and_the_rest_words() {
        assert_eq!(texts("沈阳市"), ["沈阳", "阳市"]);
        assert_eq!(
            texts("沈市监罚〔2026〕20号"),
            ["沈市", "市监", "监罚", "2026", "20", "号"]
        );
        assert_eq!(texts("ABC-12 罚"), ["abc", "12", "罚"]);
        let t = bigrams("张三（住***）");
        assert_eq!((t[0].offset_from, t[0].offset_to, t[0].position), (0, 6, 0));
        assert_eq!(t[1].text, "住");
    }

    #[test]
    fn jieba_positions_are_ordinal() {
        let m = TokenizerManager::default();
        register(&m);
        let mut a = m.get(JIEBA).unwrap();
        let mut s = a.token_stream("销售过期食品的行为");
        let mut positions = Vec::new();
        while s.advance() {
            positions.push(s.token().position);
        }
        assert_eq!(positions, (0..positions.len()).collect::<Vec<_>>());
    }
}
