//! Enforcement matters (执法事项) and their discretion benchmarks (行政裁量权基准).
//!
//! The matter is the backbone of enforcement: each agency keeps a list of the matters it
//! may enforce (执法事项清单 / 权责清单), reviewed by the same-level justice bureau and
//! published before enforcing (000 二(一)2, 001 二(一)2, 003 tasks 2–4). A matter fixes the
//! category and the procedures an action or decision of it may use, whether its decisions
//! always need legal review (this *is* the 重大执法决定法制审核目录: there is no separate
//! catalogue), a disclosure deadline a law sets differently (with that law cited), its A/V
//! recording requirement, and for penalties the quantified benchmark a decision is measured
//! against (004 三(八)): a decision outside its circumstance level's range, or one that applies
//! 从轻 / 减轻 / 不予处罚, must state its reasons (说明理由).
//!
//! Everything here is pure: the tenant service stores the list and applies these rules.

use serde::{Deserialize, Serialize};

use crate::category::{EnforcementCategory, Procedure};
use crate::disclosure::MAX_DISCLOSURE_WORKING_DAYS;
use crate::field_error::FieldError;

/// One enforcement matter of an agency's matter list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Matter {
    /// The agency's code of the matter, e.g. `CF-0012` (unique in the list, compared
    /// case-insensitively).
    pub code: String,
    /// Name of the matter, e.g. 对未取得食品经营许可从事食品经营活动的处罚.
    pub name: String,
    pub category: EnforcementCategory,
    /// Procedures an action or decision of this matter may use (at least one).
    pub procedures: Vec<Procedure>,
    /// Law and article that give the power.
    pub legal_basis: String,
    /// The subject that exercises it (实施主体), e.g. the agency or one of its units.
    pub exercising_subject: String,
    /// Decisions of this matter always need an approving legal review (法制审核目录).
    #[serde(default)]
    pub legal_review_required: bool,
    /// A disclosure deadline a law sets differently for this matter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disclosure_override: Option<MatterDisclosure>,
    /// Audio/video recording requirement (音像记录事项清单).
    #[serde(default)]
    pub av_recording: AvRecording,
    /// For penalties: the discretion benchmark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub benchmark: Option<Benchmark>,
}

/// A matter's own disclosure deadline, with the law that sets it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MatterDisclosure {
    /// Working days after the decision, 1 to 60.
    pub working_days: u32,
    /// Law and article, e.g. 《某某条例》第十二条.
    pub legal_basis: String,
}

/// How actions of a matter are recorded on audio/video.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AvRecording {
    /// As the situation needs (the rule of the action's kind applies).
    #[default]
    AsNeeded,
    /// Full-process A/V recording for every action of this matter.
    FullProcess,
}

/// Circumstance levels (情节) of a violation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CircumstanceLevel {
    /// 轻微.
    Minor,
    /// 一般.
    General,
    /// 严重.
    Serious,
    /// 特别严重.
    EspeciallySerious,
}

impl CircumstanceLevel {
    /// The Chinese term, e.g. 特别严重.
    pub fn chinese_name(self) -> &'static str {
        match self {
            Self::Minor => "轻微",
            Self::General => "一般",
            Self::Serious => "严重",
            Self::EspeciallySerious => "特别严重",
        }
    }
}

/// The discretion benchmark of a penalty matter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Benchmark {
    /// The violation (违法行为).
    pub violation: String,
    /// One range per circumstance level, each level at most once.
    pub levels: Vec<LevelRange>,
    /// When no penalty is given (不予处罚的情形).
    #[serde(default)]
    pub not_punished_when: String,
    /// When a lighter penalty within the range is given (从轻处罚的情形).
    #[serde(default)]
    pub lighter_when: String,
    /// When a penalty below the range is given (减轻处罚的情形).
    #[serde(default)]
    pub mitigated_when: String,
}

/// The penalty of one circumstance level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LevelRange {
    pub level: CircumstanceLevel,
    /// Kind of penalty, e.g. 警告 or 罚款.
    pub penalty_kind: String,
    /// Lowest fine in yuan, if the kind is a fine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_yuan: Option<u64>,
    /// Highest fine in yuan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_yuan: Option<u64>,
}

/// How a decision uses discretion (裁量).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscretionApplied {
    /// Within the level's range, without adjustment.
    #[default]
    Standard,
    /// 从轻处罚.
    Lighter,
    /// 减轻处罚.
    Mitigated,
    /// 不予处罚.
    NotPunished,
}

impl DiscretionApplied {
    /// The Chinese term.
    pub fn chinese_name(self) -> &'static str {
        match self {
            Self::Standard => "按基准",
            Self::Lighter => "从轻处罚",
            Self::Mitigated => "减轻处罚",
            Self::NotPunished => "不予处罚",
        }
    }
}

/// What a penalty decision says about its discretion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DecisionDiscretion {
    pub circumstance_level: CircumstanceLevel,
    /// Kind of penalty given, e.g. 罚款.
    pub penalty_kind: String,
    /// Fine in yuan, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_yuan: Option<u64>,
    #[serde(default)]
    pub applied: DiscretionApplied,
    /// 说明理由: required when the penalty leaves its level's range or discretion is applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statement_of_reasons: Option<String>,
}

/// Longest text of a matter's fields, in characters.
pub const MAX_MATTER_TEXT: usize = 4_000;

fn text(errors: &mut Vec<FieldError>, field: String, value: &str, max: usize) {
    if value.trim().is_empty() {
        errors.push(FieldError::new(field, "must not be empty"));
    } else if value.chars().count() > max {
        errors.push(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
}

impl Matter {
    /// Every problem of this matter, fields named below `at` (e.g. `items[3]`).
    pub fn validate(&self, at: &str) -> Vec<FieldError> {
        let mut e = Vec::new();
        text(&mut e, format!("{at}.code"), &self.code, 64);
        if self.code.chars().any(char::is_whitespace) {
            e.push(FieldError::new(
                format!("{at}.code"),
                "must not contain spaces",
            ));
        }
        text(&mut e, format!("{at}.name"), &self.name, 256);
        text(
            &mut e,
            format!("{at}.legalBasis"),
            &self.legal_basis,
            MAX_MATTER_TEXT,
        );
        text(
            &mut e,
            format!("{at}.exercisingSubject"),
            &self.exercising_subject,
            256,
        );
        if self.procedures.is_empty() {
            e.push(FieldError::new(
                format!("{at}.procedures"),
                "name at least one procedure (simple or general)",
            ));
        }
        if let Some(o) = &self.disclosure_override {
            if !(1..=MAX_DISCLOSURE_WORKING_DAYS).contains(&o.working_days) {
                e.push(FieldError::new(
                    format!("{at}.disclosureOverride.workingDays"),
                    format!("must be 1 to {MAX_DISCLOSURE_WORKING_DAYS} working days"),
                ));
            }
            if o.legal_basis.trim().chars().count() < 4 {
                e.push(FieldError::new(
                    format!("{at}.disclosureOverride.legalBasis"),
                    "cite the law and article that set this deadline",
                ));
            }
        }
        if let Some(b) = &self.benchmark {
            let at = format!("{at}.benchmark");
            if self.category != EnforcementCategory::Penalty {
                e.push(FieldError::new(
                    at.clone(),
                    "only penalty matters have a discretion benchmark",
                ));
            }
            text(&mut e, format!("{at}.violation"), &b.violation, 1_000);
            if b.levels.is_empty() {
                e.push(FieldError::new(
                    format!("{at}.levels"),
                    "name at least one circumstance level",
                ));
            }
            for (i, l) in b.levels.iter().enumerate() {
                let f = format!("{at}.levels[{i}]");
                if b.levels[..i].iter().any(|p| p.level == l.level) {
                    e.push(FieldError::new(
                        format!("{f}.level"),
                        format!("level {} appears twice", l.level.chinese_name()),
                    ));
                }
                text(&mut e, format!("{f}.penaltyKind"), &l.penalty_kind, 128);
                if let (Some(lo), Some(hi)) = (l.min_yuan, l.max_yuan)
                    && lo > hi
                {
                    e.push(FieldError::new(
                        format!("{f}.minYuan"),
                        format!("minYuan {lo} is above maxYuan {hi}"),
                    ));
                }
            }
        }
        e
    }

    /// Whether `procedure` is one of the matter's.
    pub fn allows(&self, procedure: Procedure) -> bool {
        self.procedures.contains(&procedure)
    }

    /// Whether `code` names this matter (trimmed, case-insensitive).
    pub fn is(&self, code: &str) -> bool {
        self.code.trim().eq_ignore_ascii_case(code.trim())
    }
}

/// Every problem of a whole matter list: each matter's, and codes used twice.
pub fn validate_matters(matters: &[Matter]) -> Vec<FieldError> {
    let mut e = Vec::new();
    for (i, m) in matters.iter().enumerate() {
        e.extend(m.validate(&format!("items[{i}]")));
        if matters[..i].iter().any(|p| p.is(&m.code)) {
            e.push(FieldError::new(
                format!("items[{i}].code"),
                format!("code {} appears twice in the list", m.code),
            ));
        }
    }
    e
}

impl Benchmark {
    /// The range of `level`, if the benchmark has one.
    pub fn level(&self, level: CircumstanceLevel) -> Option<&LevelRange> {
        self.levels.iter().find(|l| l.level == level)
    }

    /// Checks a decision's discretion against this benchmark: the level must exist, and a
    /// penalty outside the level's range or of another kind, or one applying 从轻 / 减轻 /
    /// 不予处罚, must carry a statement of reasons. `Ok` carries why reasons were needed
    /// (empty when the decision stays within the benchmark).
    pub fn check(&self, d: &DecisionDiscretion) -> Result<Vec<String>, FieldError> {
        let Some(range) = self.level(d.circumstance_level) else {
            let known: Vec<_> = self.levels.iter().map(|l| l.level.chinese_name()).collect();
            return Err(FieldError::new(
                "discretion.circumstanceLevel",
                format!(
                    "the benchmark has no level {}; it has {}",
                    d.circumstance_level.chinese_name(),
                    known.join(", ")
                ),
            ));
        };
        let mut why = Vec::new();
        if d.applied != DiscretionApplied::Standard {
            why.push(format!("applies {}", d.applied.chinese_name()));
        }
        if d.penalty_kind.trim() != range.penalty_kind.trim() {
            why.push(format!(
                "penalty kind {} differs from the benchmark's {}",
                d.penalty_kind.trim(),
                range.penalty_kind.trim()
            ));
        }
        if let Some(a) = d.amount_yuan
            && (range.min_yuan.is_some_and(|lo| a < lo) || range.max_yuan.is_some_and(|hi| a > hi))
        {
            why.push(format!(
                "amount {a} yuan is outside the {} range {}–{} yuan",
                range.level.chinese_name(),
                range.min_yuan.map_or("-".into(), |v| v.to_string()),
                range.max_yuan.map_or("-".into(), |v| v.to_string()),
            ));
        }
        let stated = d
            .statement_of_reasons
            .as_deref()
            .is_some_and(|s| !s.trim().is_empty());
        if !why.is_empty() && !stated {
            return Err(FieldError::new(
                "discretion.statementOfReasons",
                format!(
                    "the decision {}: it must carry a statement of reasons (说明理由)",
                    why.join("; ")
                ),
            ));
        }
        Ok(why)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn benchmark() -> Benchmark {
        Benchmark {
            violation: "未取得许可从事食品经营".into(),
            levels: vec![
                LevelRange {
                    level: CircumstanceLevel::Minor,
                    penalty_kind: "罚款".into(),
                    min_yuan: Some(5_000),
                    max_yuan: Some(20_000),
                },
                LevelRange {
                    level: CircumstanceLevel::Serious,
                    penalty_kind: "罚款".into(),
                    min_yuan: Some(50_000),
                    max_yuan: Some(100_000),
                },
            ],
            not_punished_when: "初次违法且危害后果轻微并及时改正".into(),
            lighter_when: "主动消除或者减轻违法行为危害后果".into(),
            mitigated_when: "受他人胁迫或者诱骗实施违法行为".into(),
        }
    }

    fn discretion(amount: u64, applied: DiscretionApplied) -> DecisionDiscretion {
        DecisionDiscretion {
            circumstance_level: CircumstanceLevel::Minor,
            penalty_kind: "罚款".into(),
            amount_yuan: Some(amount),
            applied,
            statement_of_reasons: None,
        }
    }

    #[test]
    fn within_range_needs_no_reasons() {
        assert_eq!(
            benchmark().check(&discretion(10_000, DiscretionApplied::Standard)),
            Ok(vec![])
        );
    }

    #[test]
    fn outside_range_or_applied_discretion_needs_reasons() {
        for d in [
            discretion(30_000, DiscretionApplied::Standard),
            discretion(1_000, DiscretionApplied::Standard),
            discretion(10_000, DiscretionApplied::Lighter),
            discretion(0, DiscretionApplied::NotPunished),
        ] {
            let e = benchmark().check(&d).unwrap_err();
            assert_eq!(e.field, "discretion.statementOfReasons", "{d:?}");
            assert!(e.message.contains("说明理由"), "{e}");
            let mut with = d.clone();
            with.statement_of_reasons = Some("当事人主动消除危害后果".into());
            assert!(!benchmark().check(&with).unwrap().is_empty());
            with.statement_of_reasons = Some("  ".into());
            assert!(benchmark().check(&with).is_err(), "blank reasons are none");
        }
    }

    #[test]
    fn unknown_level_names_the_field() {
        let mut d = discretion(10_000, DiscretionApplied::Standard);
        d.circumstance_level = CircumstanceLevel::General;
        let e = benchmark().check(&d).unwrap_err();
        assert_eq!(e.field, "discretion.circumstanceLevel");
        assert!(e.message.contains("一般"), "{e}");
    }

    #[test]
    fn matter_lists_are_validated_field_by_field() {
        let m = Matter {
            code: "CF-1".into(),
            name: "处罚".into(),
            category: EnforcementCategory::Licensing,
            procedures: vec![],
            legal_basis: "《食品安全法》第一百二十二条".into(),
            exercising_subject: "市场监督管理局".into(),
            legal_review_required: true,
            disclosure_override: Some(MatterDisclosure {
                working_days: 90,
                legal_basis: "".into(),
            }),
            av_recording: AvRecording::AsNeeded,
            benchmark: Some(benchmark()),
        };
        let fields: Vec<_> = validate_matters(&[m.clone(), m])
            .into_iter()
            .map(|e| e.field)
            .collect();
        for f in [
            "items[0].procedures",
            "items[0].disclosureOverride.workingDays",
            "items[0].disclosureOverride.legalBasis",
            "items[0].benchmark",
            "items[1].code",
        ] {
            assert!(fields.iter().any(|x| x == f), "{f} in {fields:?}");
        }
    }
}
