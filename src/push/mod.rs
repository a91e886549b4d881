//! The write side: what `huntr-sync push` sends, and sending it exactly
//! once.
//!
//! The pure half decides from an input file and a snapshot of the
//! organization, with no network and no database: every row is checked
//! before anything is sent, so a dry run shows the whole plan and a bad
//! file changes nothing. `input` reads the file into strings, `values`
//! turns a cell into the JSON a member field takes (and compares it with
//! the current one), `columns` maps the file's columns onto fields, and one
//! file per kind plans rows.
//!
//! The other half talks to the API and the destination: `orgview` builds
//! the snapshot from the push's opening sync (and reads the listings again
//! when a write's fate is in doubt), `send` journals and sends each write,
//! `report` tells what happened to every row.

mod columns;
mod dates;
mod field_values;
mod fields;
mod input;
mod invitations;
pub mod orgview;
pub mod report;
pub mod send;
pub mod session;
pub mod template;
mod values;

use std::collections::BTreeMap;
use std::fmt;

pub use dates::DateFormat;
pub use input::{read_input, InputError, InputTable, ReadOptions};

/// What a push writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushKind {
    Invitations,
    FieldValues,
    Fields,
}

impl PushKind {
    /// The name on the command line (`push field-values`).
    pub fn name(self) -> &'static str {
        match self {
            PushKind::Invitations => "invitations",
            PushKind::FieldValues => "field-values",
            PushKind::Fields => "fields",
        }
    }
}

/// A member field as the API lists it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldDef {
    pub id: String,
    pub name: String,
    /// `MULTIPLE_CHOICE`, `TEXT`, `NUMBER` or `DATE`.
    pub field_type: String,
    /// Empty unless `MULTIPLE_CHOICE`.
    pub choices: Vec<String>,
}

/// A board template an invitation may name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Template {
    pub id: String,
    pub name: String,
}

/// A member and its current field values.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemberState {
    pub id: String,
    pub email: String,
    pub is_active: bool,
    /// Field id -> current value.
    pub values: BTreeMap<String, serde_json::Value>,
}

/// A pending organization invitation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pending {
    pub id: String,
    pub email: String,
}

/// An advisor an invitation may name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Advisor {
    pub id: String,
    pub email: String,
}

/// The organization as read at the start of a push.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrgSnapshot {
    pub fields: Vec<FieldDef>,
    pub templates: Vec<Template>,
    pub members: Vec<MemberState>,
    pub pending: Vec<Pending>,
    /// None: the API did not list advisors.
    pub advisors: Option<Vec<Advisor>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Post,
    Put,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Post => "POST",
            Method::Put => "PUT",
        }
    }
}

/// The journal key of an invitation to `email` (emails compare without
/// case or surrounding spaces).
pub fn invitation_key(email: &str) -> String {
    format!("invitation:{}", email.trim().to_lowercase())
}

/// The journal key of the member field named `name`.
pub fn field_key(name: &str) -> String {
    format!("field:{}", name.trim())
}

/// One request to send. `key` identifies it across runs (journal key):
/// invitations [`invitation_key`], fields [`field_key`],
/// values `value:<member id>/<field id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub key: String,
    pub method: Method,
    /// Relative to the API's base (`organization-invitations`).
    pub path: String,
    pub body: serde_json::Value,
    /// What the request does, for people: `set Location to "Seattle" (was
    /// "Miami")`.
    pub summary: String,
}

/// Why a valid row sends nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    AlreadyMember {
        member_id: String,
    },
    AlreadyInvited {
        invitation_id: String,
    },
    /// An earlier row (its line) already plans the same thing.
    RepeatedInFile {
        first_line: usize,
    },
    /// Every value in the row is already the member's.
    Unchanged,
    FieldExists {
        field_id: String,
    },
    /// A field of that name exists but is not the one the row describes;
    /// the API cannot change a field.
    FieldDiffers {
        field_id: String,
        detail: String,
    },
}

impl SkipReason {
    pub fn describe(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::AlreadyMember { member_id } => {
                write!(f, "already a member (member {member_id})")
            }
            SkipReason::AlreadyInvited { invitation_id } => {
                write!(f, "already invited (invitation {invitation_id})")
            }
            SkipReason::RepeatedInFile { first_line } => {
                write!(f, "repeats line {first_line}, which is planned instead")
            }
            SkipReason::Unchanged => write!(f, "unchanged: every value is already set"),
            SkipReason::FieldExists { field_id } => {
                write!(f, "the field exists already (field {field_id})")
            }
            SkipReason::FieldDiffers { field_id, detail } => write!(
                f,
                "a field of this name exists (field {field_id}) but {detail}; \
                 the API cannot change a field: change it in Huntr or rename this one"
            ),
        }
    }
}

/// What is wrong with one cell of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub column: String,
    /// The cell as written (for two rows giving one member's field two
    /// values, the value this row gives).
    pub value: String,
    pub message: String,
}

impl Problem {
    pub(crate) fn new(column: &str, value: &str, message: impl Into<String>) -> Problem {
        Problem {
            column: column.to_string(),
            value: value.to_string(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.column, self.message)
    }
}

/// What becomes of one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Send(Vec<Write>),
    Skip(SkipReason),
    /// Every problem found in the row.
    Invalid(Vec<Problem>),
}

impl Outcome {
    pub fn describe(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Send(writes) => {
                let summaries: Vec<&str> = writes.iter().map(|w| w.summary.as_str()).collect();
                write!(f, "{}", summaries.join("; "))
            }
            Outcome::Skip(reason) => write!(f, "skip: {reason}"),
            Outcome::Invalid(problems) => {
                let each: Vec<String> = problems.iter().map(Problem::to_string).collect();
                write!(f, "invalid: {}", each.join("; "))
            }
        }
    }
}

/// One input row and what becomes of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRow {
    /// The file's line (CSV) or row index + 2 (Parquet).
    pub line: usize,
    /// What the row is about: `invitation:<email>`, `member:<id>`,
    /// `field:<name>`.
    pub key: String,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub kind: PushKind,
    pub rows: Vec<PlannedRow>,
}

/// Rows by outcome, and the requests the sending rows make.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub send: usize,
    pub writes: usize,
    pub skip: usize,
    pub invalid: usize,
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let requests = if self.writes == 1 {
            "request"
        } else {
            "requests"
        };
        write!(
            f,
            "{} to send ({} {requests}), {} skipped, {} invalid",
            self.send, self.writes, self.skip, self.invalid
        )
    }
}

impl Plan {
    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for row in &self.rows {
            match &row.outcome {
                Outcome::Send(writes) => {
                    counts.send += 1;
                    counts.writes += writes.len();
                }
                Outcome::Skip(_) => counts.skip += 1,
                Outcome::Invalid(_) => counts.invalid += 1,
            }
        }
        counts
    }

    /// Whether any row is invalid (then nothing should be sent).
    pub fn has_invalid(&self) -> bool {
        self.rows
            .iter()
            .any(|r| matches!(r.outcome, Outcome::Invalid(_)))
    }

    /// Every request, in file order.
    pub fn writes(&self) -> impl Iterator<Item = &Write> {
        self.rows.iter().flat_map(|r| match &r.outcome {
            Outcome::Send(writes) => writes.as_slice(),
            _ => &[],
        })
    }
}

/// Checks every row of `input` against `org` and says what to send. Err
/// only for file-level problems, e.g. no `email` column.
pub fn plan(kind: PushKind, input: &InputTable, org: &OrgSnapshot) -> Result<Plan, InputError> {
    let rows = match kind {
        PushKind::Invitations => invitations::plan(input, org)?,
        PushKind::FieldValues => field_values::plan(input, org)?,
        PushKind::Fields => fields::plan(input, org)?,
    };
    Ok(Plan { kind, rows })
}

#[cfg(test)]
mod fixture;

#[cfg(test)]
mod tests {
    use super::fixture::{org, table};
    use super::*;

    #[test]
    fn a_plan_counts_rows_by_outcome_and_describes_them() {
        let input = table(
            &["email", "Age"],
            &[
                &["new@example.org", "3"],
                &["bob@example.org", ""],
                &["x", "old"],
                &["new@example.org", ""],
            ],
        );
        let plan = plan(PushKind::Invitations, &input, &org()).unwrap();
        let counts = plan.counts();
        assert_eq!(
            counts,
            Counts {
                send: 1,
                writes: 1,
                skip: 2,
                invalid: 1
            }
        );
        assert_eq!(
            counts.to_string(),
            "1 to send (1 request), 2 skipped, 1 invalid"
        );
        assert!(plan.has_invalid());
        assert_eq!(plan.writes().count(), 1);
        let described: Vec<String> = plan.rows.iter().map(|r| r.outcome.describe()).collect();
        assert_eq!(
            described,
            [
                "invite new@example.org with Age",
                "skip: already a member (member m-bob)",
                "invalid: email: `x` is not an email address (name@example.org); \
                 Age: `old` is not a number (`Age` is a NUMBER field)",
                "skip: repeats line 2, which is planned instead",
            ]
        );
    }

    #[test]
    fn a_csv_file_is_planned_with_its_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("values.csv");
        let text = "\u{feff}email,Nickname,Graduation\r\n\
                    ann@example.org,\"Annie\",2024-06-01\r\n\
                    bob@example.org,\"Bob\r\nthe second\",1736899200\r\n\
                    nobody@example.org,N,\r\n";
        std::fs::write(&path, text).unwrap();
        let input = read_input(&path, &ReadOptions::default()).unwrap();
        let plan = plan(PushKind::FieldValues, &input, &org()).unwrap();
        let lines: Vec<(usize, &str)> =
            plan.rows.iter().map(|r| (r.line, r.key.as_str())).collect();
        assert_eq!(
            lines,
            [
                (2, "member:m-ann"),
                (3, "member:m-bob"),
                (5, "member:nobody@example.org")
            ]
        );
        assert_eq!(plan.rows[0].outcome, Outcome::Skip(SkipReason::Unchanged));
        let bodies: Vec<&serde_json::Value> = plan.writes().map(|w| &w.body).collect();
        assert_eq!(
            bodies,
            [
                &serde_json::json!({"value": "Bob\r\nthe second"}),
                &serde_json::json!({"value": 1736899200})
            ]
        );
        assert_eq!(
            plan.counts(),
            Counts {
                send: 1,
                writes: 2,
                skip: 1,
                invalid: 1
            }
        );
    }

    #[test]
    fn every_skip_reason_reads_as_a_sentence() {
        let described = [
            SkipReason::AlreadyInvited {
                invitation_id: "i-1".into(),
            },
            SkipReason::Unchanged,
            SkipReason::FieldExists {
                field_id: "f-1".into(),
            },
            SkipReason::FieldDiffers {
                field_id: "f-1".into(),
                detail: "is TEXT in Huntr, not DATE".into(),
            },
        ]
        .map(|r| r.describe());
        assert_eq!(
            described,
            [
                "already invited (invitation i-1)",
                "unchanged: every value is already set",
                "the field exists already (field f-1)",
                "a field of this name exists (field f-1) but is TEXT in Huntr, not DATE; \
                 the API cannot change a field: change it in Huntr or rename this one",
            ]
        );
    }
}
