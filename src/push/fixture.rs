//! One small organization and a table builder the planning tests share, so
//! each test states only the rows it checks.

use std::collections::BTreeMap;

use serde_json::json;

use super::{Advisor, FieldDef, InputTable, MemberState, OrgSnapshot, Outcome, Pending, Template};

fn field(id: &str, name: &str, field_type: &str, choices: &[&str]) -> FieldDef {
    FieldDef {
        id: id.into(),
        name: name.into(),
        field_type: field_type.into(),
        choices: choices.iter().map(|c| c.to_string()).collect(),
    }
}

fn member(id: &str, email: &str, is_active: bool) -> MemberState {
    MemberState {
        id: id.into(),
        email: email.into(),
        is_active,
        values: BTreeMap::new(),
    }
}

/// Fields Location (6 choices), Program (3), Graduation (DATE), Nickname
/// (TEXT), Age (NUMBER); members ann (with values), bob (inactive) and
/// two sharing dup@example.org; carol is invited; one advisor.
pub(super) fn org() -> OrgSnapshot {
    let locations = [
        "Vancouver",
        "Seattle",
        "New York",
        "Montreal",
        "Miami",
        "Toronto",
    ];
    let mut ann = member("m-ann", "Ann@Example.org", true);
    ann.values = BTreeMap::from([
        ("f-loc".to_string(), json!("Seattle")),
        ("f-prog".to_string(), json!(["iOS", "Web Design"])),
        ("f-grad".to_string(), json!(1717200000)),
        ("f-nick".to_string(), json!("Annie")),
        ("f-age".to_string(), json!(3.0)),
    ]);
    OrgSnapshot {
        fields: vec![
            field("f-loc", "Location", "MULTIPLE_CHOICE", &locations),
            field(
                "f-prog",
                "Program",
                "MULTIPLE_CHOICE",
                &["Web Design", "iOS", "Data Science"],
            ),
            field("f-grad", "Graduation", "DATE", &[]),
            field("f-nick", "Nickname", "TEXT", &[]),
            field("f-age", "Age", "NUMBER", &[]),
        ],
        templates: vec![
            Template {
                id: "t-tech".into(),
                name: "Tech Jobs".into(),
            },
            Template {
                id: "t-fall-1".into(),
                name: "Fall 2020".into(),
            },
            Template {
                id: "t-fall-2".into(),
                name: "fall 2020".into(),
            },
        ],
        members: vec![
            ann,
            member("m-bob", "bob@example.org", false),
            member("m-dup-1", "dup@example.org", true),
            member("m-dup-2", "DUP@example.org", true),
        ],
        pending: vec![Pending {
            id: "i-carol".into(),
            email: "carol@example.org".into(),
        }],
        advisors: Some(vec![Advisor {
            id: "a-1".into(),
            email: "Advisor@Example.org".into(),
        }]),
    }
}

/// A table whose rows start on line 2.
pub(super) fn table(columns: &[&str], rows: &[&[&str]]) -> InputTable {
    InputTable {
        columns: columns.iter().map(|c| c.to_string()).collect(),
        rows: rows
            .iter()
            .enumerate()
            .map(|(i, row)| (i + 2, row.iter().map(|c| c.to_string()).collect()))
            .collect(),
        ..Default::default()
    }
}

/// An invalid row's problems as (column, message).
pub fn problems(outcome: &Outcome) -> Vec<(&str, &str)> {
    match outcome {
        Outcome::Invalid(problems) => problems
            .iter()
            .map(|p| (p.column.as_str(), p.message.as_str()))
            .collect(),
        other => panic!("not invalid: {other:?}"),
    }
}
