//! The lists an agency publishes before enforcing (事前公开), and their item schemas.
//!
//! Each agency keeps six lists (000 二(一)2, 001 二(一)2, 003 tasks 2–7): its subjects
//! (执法主体, from the Agency object), its matters ([`crate::Matter`]), its supervision
//! matters (监管事项目录清单), its random-inspection items (随机抽查事项清单), its service
//! guides (服务指南) and its personnel (执法人员: name, unit, position, certificate number,
//! category, region — nothing else). One mechanism versions and reviews them all; a
//! [`ListKind`] says which schema its items follow and whether the agency writes them
//! (matters, supervision matters, inspections, guides) or the service takes them from its
//! records (subjects from the Agency, personnel from the valid active officers).

use serde::{Deserialize, Serialize};

use crate::category::EnforcementCategory;
use crate::field_error::FieldError;
use crate::matter::{Matter, validate_matters};

/// Which list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListKind {
    /// 执法主体清单.
    Subjects,
    /// 执法事项清单 (权责清单).
    Matters,
    /// 监管事项目录清单.
    SupervisionMatters,
    /// 随机抽查事项清单.
    RandomInspections,
    /// 服务指南.
    ServiceGuides,
    /// 执法人员清单.
    Personnel,
}

impl ListKind {
    /// All kinds.
    pub const ALL: [Self; 6] = [
        Self::Subjects,
        Self::Matters,
        Self::SupervisionMatters,
        Self::RandomInspections,
        Self::ServiceGuides,
        Self::Personnel,
    ];

    /// The code in paths and storage, e.g. `random_inspections`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Subjects => "subjects",
            Self::Matters => "matters",
            Self::SupervisionMatters => "supervision_matters",
            Self::RandomInspections => "random_inspections",
            Self::ServiceGuides => "service_guides",
            Self::Personnel => "personnel",
        }
    }

    /// The Chinese name of the list.
    pub fn chinese_name(self) -> &'static str {
        match self {
            Self::Subjects => "执法主体清单",
            Self::Matters => "执法事项清单",
            Self::SupervisionMatters => "监管事项目录清单",
            Self::RandomInspections => "随机抽查事项清单",
            Self::ServiceGuides => "服务指南",
            Self::Personnel => "执法人员清单",
        }
    }

    /// The kind whose code is `s`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The codes, comma-separated, for error messages.
    pub fn code_list() -> String {
        Self::ALL.map(Self::as_str).join(", ")
    }

    /// Whether the service builds the items from its records (the agency cannot write
    /// them): subjects from the Agency object, personnel from the personnel list.
    pub fn is_derived(self) -> bool {
        matches!(self, Self::Subjects | Self::Personnel)
    }

    /// Checks written items against this kind's schema; every problem is named by its
    /// field (`items[2].ratioPermille`).
    pub fn validate_items(self, items: &serde_json::Value) -> Result<(), Vec<FieldError>> {
        fn typed<T: serde::de::DeserializeOwned>(
            items: &serde_json::Value,
        ) -> Result<Vec<T>, Vec<FieldError>> {
            let arr = items
                .as_array()
                .ok_or_else(|| vec![FieldError::new("items", "must be an array of list items")])?;
            arr.iter()
                .enumerate()
                .map(|(i, v)| {
                    T::deserialize(v)
                        .map_err(|e| vec![FieldError::new(format!("items[{i}]"), e.to_string())])
                })
                .collect()
        }
        let errors = match self {
            Self::Matters => validate_matters(&typed::<Matter>(items)?),
            Self::SupervisionMatters => each(&typed::<SupervisionMatter>(items)?),
            Self::RandomInspections => each(&typed::<RandomInspection>(items)?),
            Self::ServiceGuides => each(&typed::<ServiceGuide>(items)?),
            Self::Personnel => each(&typed::<PersonnelEntry>(items)?),
            Self::Subjects => each(&typed::<SubjectEntry>(items)?),
        };
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// An item that can check its own fields.
pub trait ListItem {
    /// Problems, fields named below `at`.
    fn validate(&self, at: &str) -> Vec<FieldError>;
}

fn each<T: ListItem>(items: &[T]) -> Vec<FieldError> {
    items
        .iter()
        .enumerate()
        .flat_map(|(i, x)| x.validate(&format!("items[{i}]")))
        .collect()
}

fn required(e: &mut Vec<FieldError>, at: &str, fields: &[(&str, &str)]) {
    for (name, value) in fields {
        if value.trim().is_empty() {
            e.push(FieldError::new(format!("{at}.{name}"), "must not be empty"));
        } else if value.chars().count() > 4_000 {
            e.push(FieldError::new(
                format!("{at}.{name}"),
                "must be at most 4000 characters",
            ));
        }
    }
}

/// One entry of the supervision-matter catalogue (监管事项目录清单).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SupervisionMatter {
    pub code: String,
    pub name: String,
    pub category: EnforcementCategory,
    /// Who supervises (监管主体).
    pub subject: String,
    pub legal_basis: String,
    /// Whom and what is supervised (监管对象、内容).
    pub content: String,
    /// How (监管方式).
    pub method: String,
}

impl ListItem for SupervisionMatter {
    fn validate(&self, at: &str) -> Vec<FieldError> {
        let mut e = Vec::new();
        required(
            &mut e,
            at,
            &[
                ("code", &self.code),
                ("name", &self.name),
                ("subject", &self.subject),
                ("legalBasis", &self.legal_basis),
                ("content", &self.content),
                ("method", &self.method),
            ],
        );
        e
    }
}

/// One item of the random-inspection list (随机抽查事项清单): inspector, basis, targets,
/// content, ratio, method, frequency (000, 003 task 13).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RandomInspection {
    pub code: String,
    pub name: String,
    /// Code of the inspection matter of the agency's matter list that the inspections of
    /// this item exercise: each drawn inspection is an action of that matter. (Empty only
    /// in a list stored before this field; such an item cannot be drawn.)
    #[serde(default)]
    pub matter: String,
    /// The inspecting body (抽查主体).
    pub inspector: String,
    pub legal_basis: String,
    /// Who may be drawn (抽查对象), e.g. 辖区内食品经营者.
    pub targets: String,
    /// What is checked (抽查内容).
    pub content: String,
    /// Share of the target pool drawn, per thousand (1 to 1000).
    pub ratio_permille: u32,
    /// Inspectors drawn per inspection (at least 2).
    pub inspectors_per_target: u32,
    /// How (抽查方式), e.g. 现场检查.
    pub method: String,
    /// How often (抽查频次), e.g. 每年一次.
    pub frequency: String,
}

impl ListItem for RandomInspection {
    fn validate(&self, at: &str) -> Vec<FieldError> {
        let mut e = Vec::new();
        required(
            &mut e,
            at,
            &[
                ("code", &self.code),
                ("name", &self.name),
                ("matter", &self.matter),
                ("inspector", &self.inspector),
                ("legalBasis", &self.legal_basis),
                ("targets", &self.targets),
                ("content", &self.content),
                ("method", &self.method),
                ("frequency", &self.frequency),
            ],
        );
        if !(1..=1000).contains(&self.ratio_permille) {
            e.push(FieldError::new(
                format!("{at}.ratioPermille"),
                "must be 1 to 1000 (per thousand of the target pool)",
            ));
        }
        if !(2..=10).contains(&self.inspectors_per_target) {
            e.push(FieldError::new(
                format!("{at}.inspectorsPerTarget"),
                "must be 2 to 10: inspections are made by at least two officers",
            ));
        }
        e
    }
}

/// A service guide (服务指南, 001 and 003 task 3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceGuide {
    pub name: String,
    pub legal_basis: String,
    /// 受理机构.
    pub accepting_body: String,
    /// 办理条件.
    pub conditions: String,
    /// 申请材料.
    pub materials: String,
    /// 办理时限.
    pub time_limit: String,
    /// 收费标准 (or 不收费).
    pub fees: String,
    /// 救济途径.
    pub remedies: String,
    pub office_hours: String,
    pub address: String,
    /// The office's public phone.
    pub phone: String,
    /// Flow chart (办事流程图), as text or a link.
    #[serde(default)]
    pub flow_chart: String,
}

impl ListItem for ServiceGuide {
    fn validate(&self, at: &str) -> Vec<FieldError> {
        let mut e = Vec::new();
        required(
            &mut e,
            at,
            &[
                ("name", &self.name),
                ("legalBasis", &self.legal_basis),
                ("acceptingBody", &self.accepting_body),
                ("conditions", &self.conditions),
                ("materials", &self.materials),
                ("timeLimit", &self.time_limit),
                ("fees", &self.fees),
                ("remedies", &self.remedies),
                ("officeHours", &self.office_hours),
                ("address", &self.address),
                ("phone", &self.phone),
            ],
        );
        e
    }
}

/// One officer on the public personnel list: these six fields and nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PersonnelEntry {
    pub name: String,
    pub unit: String,
    pub position: String,
    pub certificate_number: String,
    pub categories: Vec<EnforcementCategory>,
    pub region: String,
}

impl ListItem for PersonnelEntry {
    fn validate(&self, at: &str) -> Vec<FieldError> {
        let mut e = Vec::new();
        required(
            &mut e,
            at,
            &[
                ("name", &self.name),
                ("unit", &self.unit),
                ("certificateNumber", &self.certificate_number),
                ("region", &self.region),
            ],
        );
        e
    }
}

/// The enforcement subject (执法主体): the agency itself, from its Agency object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubjectEntry {
    pub name: String,
    pub credit_code: String,
    pub categories: Vec<EnforcementCategory>,
    pub province: String,
    pub city: String,
    pub county: String,
}

impl ListItem for SubjectEntry {
    fn validate(&self, at: &str) -> Vec<FieldError> {
        let mut e = Vec::new();
        required(&mut e, at, &[("name", &self.name)]);
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_round_trip_and_derived_kinds_are_known() {
        for k in ListKind::ALL {
            assert_eq!(ListKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), json!(k.as_str()), "{k:?}");
        }
        assert!(ListKind::Personnel.is_derived() && ListKind::Subjects.is_derived());
        assert!(!ListKind::Matters.is_derived());
    }

    #[test]
    fn items_are_checked_against_their_kind_naming_the_field() {
        let e = ListKind::RandomInspections
            .validate_items(&json!([{
                "code": "SJ-1", "name": "食品经营抽查", "matter": "JC-1", "inspector": "市场监管局",
                "legalBasis": "《食品安全法》", "targets": "食品经营者", "content": "许可、台账",
                "ratioPermille": 0, "inspectorsPerTarget": 1, "method": "现场检查", "frequency": ""
            }]))
            .unwrap_err();
        let fields: Vec<_> = e.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "items[0].frequency",
                "items[0].ratioPermille",
                "items[0].inspectorsPerTarget"
            ]
        );
        // An item names the inspection matter its inspections exercise.
        let e = ListKind::RandomInspections
            .validate_items(&json!([{
                "code": "SJ-1", "name": "食品经营抽查", "inspector": "市场监管局",
                "legalBasis": "《食品安全法》", "targets": "食品经营者", "content": "许可、台账",
                "ratioPermille": 100, "inspectorsPerTarget": 2, "method": "现场检查", "frequency": "每年"
            }]))
            .unwrap_err();
        assert_eq!(e[0].field, "items[0].matter");
        let e = ListKind::Personnel
            .validate_items(
                &json!([{ "name": "张三", "unit": "u", "position": "", "certificateNumber": "c",
                "categories": ["penalty"], "region": "r", "idNumber": "x" }]),
            )
            .unwrap_err();
        assert_eq!(e[0].field, "items[0]");
        assert!(e[0].message.contains("idNumber"), "{}", e[0].message);
        assert_eq!(
            ListKind::Matters.validate_items(&json!({})).unwrap_err()[0].field,
            "items"
        );
    }
}
