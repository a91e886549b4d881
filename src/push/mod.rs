//! STUB: replaced by the planning module at merge.
use std::collections::BTreeMap;
use std::path::Path;

pub mod orgview;
pub mod report;
pub mod send;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushKind {
    Invitations,
    FieldValues,
    Fields,
}
#[derive(Debug, Clone)]
pub struct FieldDef {
    pub id: String,
    pub name: String,
    pub field_type: String,
    pub choices: Vec<String>,
}
#[derive(Debug, Clone)]
pub struct Template {
    pub id: String,
    pub name: String,
}
#[derive(Debug, Clone)]
pub struct MemberState {
    pub id: String,
    pub email: String,
    pub is_active: bool,
    pub values: BTreeMap<String, serde_json::Value>,
}
#[derive(Debug, Clone)]
pub struct Pending {
    pub id: String,
    pub email: String,
}
#[derive(Debug, Clone)]
pub struct Advisor {
    pub id: String,
    pub email: String,
}
#[derive(Debug, Clone, Default)]
pub struct OrgSnapshot {
    pub fields: Vec<FieldDef>,
    pub templates: Vec<Template>,
    pub members: Vec<MemberState>,
    pub pending: Vec<Pending>,
    pub advisors: Option<Vec<Advisor>>,
}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Post,
    Put,
}
#[derive(Debug, Clone)]
pub struct Write {
    pub key: String,
    pub method: Method,
    pub path: String,
    pub body: serde_json::Value,
}
#[derive(Debug, Clone)]
pub enum SkipReason {
    AlreadyMember { member_id: String },
    AlreadyInvited { invitation_id: String },
    RepeatedInFile { first_line: usize },
    Unchanged,
    FieldExists { field_id: String },
    FieldDiffers { field_id: String, detail: String },
}
impl SkipReason {
    pub fn describe(&self) -> String {
        format!("{self:?}")
    }
}
#[derive(Debug, Clone)]
pub struct Problem {
    pub column: String,
    pub value: String,
    pub message: String,
}
#[derive(Debug, Clone)]
pub enum Outcome {
    Send(Vec<Write>),
    Skip(SkipReason),
    Invalid(Vec<Problem>),
}
#[derive(Debug, Clone)]
pub struct PlannedRow {
    pub line: usize,
    pub key: String,
    pub outcome: Outcome,
}
#[derive(Debug, Clone)]
pub struct Plan {
    pub kind: PushKind,
    pub rows: Vec<PlannedRow>,
}
#[derive(Debug)]
pub struct InputTable {
    pub columns: Vec<String>,
    pub rows: Vec<(usize, Vec<String>)>,
}
#[derive(Debug, thiserror::Error)]
#[error("input")]
pub struct InputError;
pub fn read_input(_path: &Path) -> Result<InputTable, InputError> {
    todo!()
}
pub fn plan(_kind: PushKind, _input: &InputTable, _org: &OrgSnapshot) -> Result<Plan, InputError> {
    todo!()
}
