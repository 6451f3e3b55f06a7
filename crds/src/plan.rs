//! `SupervisionPlan`: the milestones a supervising justice bureau sets, with who is
//! responsible and when each is due.
//!
//! The seeds show two kinds of duty: one-off deadlines from implementation plans
//! (Liaoning: plans filed by 2019-04-30; Tieling's 34 tasks, each with responsible units)
//! and recurring ones (Shenyang: a progress report on the 20th of each month; annual
//! statistics). Each milestone has a [`Schedule`]; the due-date arithmetic
//! ([`occurrences`], [`next_due`], [`is_due_soon`]) lives in [`crate::schedule`] and is
//! re-exported here.

use chrono::NaiveDate;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::codes::{is_division_code, is_dns_label};
use crate::field_error::FieldError;

pub use crate::schedule::{
    DEFAULT_DUE_SOON_WORKING_DAYS, MAX_POSTPONEMENT_DAYS, MonthlySchedule, Recurrence, Schedule,
    is_due_soon, next_due, occurrences,
};

/// Most milestones one plan may hold (Tieling's decomposition table has 34).
pub const MAX_MILESTONES: usize = 100;

/// A supervision plan (实施方案 / 任务分解表): milestones with responsible units and due
/// dates, issued by a jurisdiction's justice bureau. The operator computes each
/// milestone's next due date from the WorkCalendars and raises "due soon" and "missed"
/// alerts for the responsible units.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "sanxiang.io",
    version = "v1alpha1",
    kind = "SupervisionPlan",
    doc = "A supervision plan: milestones with responsible units and due dates; see spec.",
    plural = "supervisionplans",
    namespaced,
    shortname = "splan",
    category = "sanxiang",
    status = "SupervisionPlanStatus",
    printcolumn = r#"{"name":"Title","type":"string","jsonPath":".spec.title"}"#,
    printcolumn = r#"{"name":"Issued By","type":"string","jsonPath":".spec.issuedBy"}"#,
    printcolumn = r#"{"name":"Next Due","type":"string","format":"date","jsonPath":".status.nextDue"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "self.milestones.all(m, self.milestones.exists_one(n, n.id == m.id))",
        "message": "milestone ids must be unique within the plan",
        "fieldPath": ".milestones"
    }
]))]
pub struct SupervisionPlanSpec {
    /// Title of the plan as issued, e.g. 沈阳市推行行政执法三项制度工作任务分解.
    #[schemars(length(min = 1, max = 200))]
    pub title: String,

    /// GB/T 2260 code of the jurisdiction whose justice bureau issued the plan, e.g.
    /// 210100 for Shenyang.
    #[schemars(
        length(max = 6),
        extend("x-kubernetes-validations" = [
            {
                "rule": "self.matches('^[1-9][0-9]{5}$')",
                "message": "must be a 6-digit GB/T 2260 administrative division code such as 210100"
            }
        ])
    )]
    pub issued_by: String,

    /// The tasks to supervise, each with its responsible units and schedule.
    #[schemars(length(min = 1, max = 100))]
    pub milestones: Vec<Milestone>,
}

/// One supervised task with its responsible units and schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Milestone {
    /// Short identifier, unique within the plan, used in alert labels: lower-case letters,
    /// digits and '-', at most 63 characters, e.g. `monthly-report` or `task-13`.
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    )]
    pub id: String,

    /// What must be done, as worded in the plan, e.g. 每月20日前报送工作进展情况.
    #[schemars(length(min = 1, max = 2000))]
    pub task: String,

    /// Who must do it.
    pub responsible: ResponsibleUnits,

    /// When it is due.
    pub schedule: Schedule,
}

/// The units responsible for a milestone: whole jurisdictions, selected agencies, or both.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "(has(self.jurisdictions) && size(self.jurisdictions) > 0) || has(self.agencySelector)",
        "message": "name at least one responsible jurisdiction or an agencySelector",
        "fieldPath": ".jurisdictions"
    }
]))]
pub struct ResponsibleUnits {
    /// GB/T 2260 codes of jurisdictions whose justice bureaus are responsible, e.g.
    /// `["210100"]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        length(max = 50),
        inner(length(max = 6)),
        extend(
            "x-kubernetes-list-type" = "set",
            "x-kubernetes-validations" = [
                {
                    "rule": "self.all(c, c.matches('^[1-9][0-9]{5}$'))",
                    "message": "every entry must be a 6-digit GB/T 2260 administrative division code"
                }
            ]
        )
    )]
    pub jurisdictions: Vec<String>,

    /// Selects the responsible Agency objects by label, in the plan's namespace, e.g.
    /// `matchLabels: {sanxiang.io/category: Penalty}`. Omit to select none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency_selector: Option<LabelSelector>,
}

/// What the operator last computed for the plan.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SupervisionPlanStatus {
    /// `Ready` is True when every milestone's due date could be computed; reason
    /// `CalendarMissing` means a WorkCalendar must be loaded first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Earliest upcoming due date over all milestones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_due: Option<NaiveDate>,
    /// Next due date of each milestone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub milestones: Vec<MilestoneStatus>,
}

/// Computed state of one milestone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MilestoneStatus {
    /// The milestone's `id`.
    pub id: String,
    /// Its next due date on or after today; absent for a one-off milestone whose date
    /// has passed, and while the date is pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_due: Option<NaiveDate>,
    /// Set while the next due date cannot be known: "pending: no calendar for YEAR". It
    /// is computed as soon as that year's WorkCalendar is loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<String>,
}

/// Checks a SupervisionPlan spec the way its schema and CEL rules do.
pub fn validate_plan(spec: &SupervisionPlanSpec) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if spec.title.trim().is_empty() {
        errors.push(FieldError::new("spec.title", "must not be empty"));
    } else if spec.title.chars().count() > 200 {
        errors.push(FieldError::new(
            "spec.title",
            "must be at most 200 characters",
        ));
    }
    if !is_division_code(&spec.issued_by) {
        errors.push(FieldError::new(
            "spec.issuedBy",
            format!(
                "{:?} is not a 6-digit GB/T 2260 administrative division code such as 210100",
                spec.issued_by
            ),
        ));
    }
    if spec.milestones.is_empty() {
        errors.push(FieldError::new(
            "spec.milestones",
            "list at least one milestone",
        ));
    } else if spec.milestones.len() > MAX_MILESTONES {
        errors.push(FieldError::new(
            "spec.milestones",
            format!("at most {MAX_MILESTONES} milestones; split the plan"),
        ));
    }
    for (i, m) in spec.milestones.iter().enumerate() {
        let field = format!("spec.milestones[{i}]");
        if !is_dns_label(&m.id) {
            errors.push(FieldError::new(
                format!("{field}.id"),
                format!(
                    "{:?} must be 1 to 63 lower-case letters, digits or '-', starting and ending with a letter or digit",
                    m.id
                ),
            ));
        }
        if let Some(j) = spec.milestones[..i].iter().position(|o| o.id == m.id) {
            errors.push(FieldError::new(
                format!("{field}.id"),
                format!("{:?} is already used by spec.milestones[{j}]", m.id),
            ));
        }
        if m.task.trim().is_empty() {
            errors.push(FieldError::new(
                format!("{field}.task"),
                "must not be empty",
            ));
        } else if m.task.chars().count() > 2000 {
            errors.push(FieldError::new(
                format!("{field}.task"),
                "must be at most 2000 characters",
            ));
        }
        let r = &m.responsible;
        if r.jurisdictions.is_empty() && r.agency_selector.is_none() {
            errors.push(FieldError::new(
                format!("{field}.responsible.jurisdictions"),
                "name at least one responsible jurisdiction or an agencySelector",
            ));
        }
        for (k, code) in r.jurisdictions.iter().enumerate() {
            if !is_division_code(code) {
                errors.push(FieldError::new(
                    format!("{field}.responsible.jurisdictions[{k}]"),
                    format!("{code:?} is not a 6-digit GB/T 2260 administrative division code"),
                ));
            }
        }
        errors.extend(m.schedule.validate(&format!("{field}.schedule")));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::tests::date;

    fn monthly_20() -> Schedule {
        Schedule::monthly(20)
    }

    fn milestone(id: &str, schedule: Schedule) -> Milestone {
        Milestone {
            id: id.into(),
            task: "每月20日报送工作进展".into(),
            responsible: ResponsibleUnits {
                jurisdictions: vec!["210100".into()],
                agency_selector: None,
            },
            schedule,
        }
    }

    fn plan(milestones: Vec<Milestone>) -> SupervisionPlanSpec {
        SupervisionPlanSpec {
            title: "沈阳市行政执法三项制度工作任务".into(),
            issued_by: "210100".into(),
            milestones,
        }
    }

    fn fields(spec: &SupervisionPlanSpec) -> Vec<String> {
        validate_plan(spec).into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn validate_plan_accepts_a_good_plan() {
        let p = plan(vec![
            milestone("monthly-report", monthly_20()),
            milestone("plans-filed", Schedule::once(date("2019-04-30"))),
        ]);
        assert_eq!(validate_plan(&p), vec![]);
    }

    #[test]
    fn validate_plan_names_each_bad_field() {
        let mut p = plan(vec![]);
        p.title = " ".into();
        p.issued_by = "21010".into();
        assert_eq!(
            fields(&p),
            ["spec.title", "spec.issuedBy", "spec.milestones"]
        );

        let mut p = plan(vec![
            milestone("a", monthly_20()),
            milestone("a", monthly_20()),
        ]);
        assert_eq!(fields(&p), ["spec.milestones[1].id"]);
        p.milestones[1].id = "Bad_ID".into();
        assert_eq!(fields(&p), ["spec.milestones[1].id"]);
        p.milestones[1].id = "b".into();
        p.milestones[1].task = "".into();
        p.milestones[1].responsible.jurisdictions = vec![];
        assert_eq!(
            fields(&p),
            [
                "spec.milestones[1].task",
                "spec.milestones[1].responsible.jurisdictions"
            ]
        );
        p.milestones[1].task = "务".repeat(2001);
        assert_eq!(
            fields(&p),
            [
                "spec.milestones[1].task",
                "spec.milestones[1].responsible.jurisdictions"
            ]
        );
        p.milestones[1].task = "t".into();
        p.milestones[1].responsible.agency_selector = Some(LabelSelector::default());
        assert_eq!(fields(&p), Vec::<String>::new());
        p.milestones[1].responsible.jurisdictions = vec!["210100".into(), "x".into()];
        assert_eq!(
            fields(&p),
            ["spec.milestones[1].responsible.jurisdictions[1]"]
        );
        p.milestones[1].responsible.jurisdictions = vec![];
        p.milestones[0].schedule.yearly = Some(crate::MonthDay::new(1, 31));
        assert_eq!(fields(&p), ["spec.milestones[0].schedule"]);
    }

    #[test]
    fn schedule_yaml_shape() {
        let m: Milestone = serde_yaml::from_str(
            "id: monthly-report\ntask: 报送进展\nresponsible:\n  jurisdictions: ['210100']\nschedule:\n  monthly:\n    day: 20\n",
        )
        .unwrap();
        assert_eq!(m.schedule, monthly_20());
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["schedule"]["dueSoonWorkingDays"], 3);
        assert!(json["schedule"].get("due").is_none());
        assert!(json["responsible"].get("agencySelector").is_none());
    }
}
