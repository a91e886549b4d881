//! `push field-values`: sets members' field values, one `PUT` per value
//! that differs from the member's current one, so a rerun (or a file
//! exported from the last sync) sends nothing. Two rows may not give one
//! member's field two values, since the journal knows a value by member
//! and field.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::columns::{missing, Layout};
use super::values::{email, same_value, show};
use super::{
    FieldDef, InputError, InputTable, MemberState, Method, OrgSnapshot, Outcome, PlannedRow,
    Problem, SkipReason, Write,
};

const EMAIL: &str = "email";
const MEMBER_ID: &str = "member_id";
const OWN: [&str; 2] = [EMAIL, MEMBER_ID];

/// (member id, field id) -> (line, value) of the first valid row giving it.
type Given = HashMap<(String, String), (usize, Value)>;

pub(super) fn plan(input: &InputTable, org: &OrgSnapshot) -> Result<Vec<PlannedRow>, InputError> {
    if input.column(EMAIL).is_none() && input.column(MEMBER_ID).is_none() {
        return Err(missing(
            input,
            EMAIL,
            "a field-values file names each member in an `email` or a `member_id` column",
        ));
    }
    let layout = Layout::new(input, &OWN, Some(&org.fields), "field-values");
    let mut given = Given::new();
    let rows = input
        .rows
        .iter()
        .map(|(line, cells)| row(&layout, org, *line, cells, &mut given))
        .collect();
    Ok(rows)
}

fn row(
    layout: &Layout,
    org: &OrgSnapshot,
    line: usize,
    cells: &[String],
    given: &mut Given,
) -> PlannedRow {
    let mut problems = Vec::new();
    let member = member(layout, org, cells)
        .map_err(|p| problems.push(p))
        .ok();
    let key = match member {
        Some(m) => format!("member:{}", m.id),
        None => format!("member:{}", who(layout, cells).to_lowercase()),
    };
    let values = layout.field_values(cells, &mut problems);
    let outcome = match member {
        Some(member) if problems.is_empty() => changes(member, line, values, given),
        _ => Outcome::Invalid(problems),
    };
    PlannedRow { line, key, outcome }
}

/// The cell that names the row's member: `member_id` when not empty.
fn who<'r>(layout: &Layout, cells: &'r [String]) -> &'r str {
    match layout.cell(cells, MEMBER_ID) {
        "" => layout.cell(cells, EMAIL),
        id => id,
    }
}

fn member<'o>(
    layout: &Layout,
    org: &'o OrgSnapshot,
    cells: &[String],
) -> Result<&'o MemberState, Problem> {
    let id = layout.cell(cells, MEMBER_ID);
    if !id.is_empty() {
        return org
            .members
            .iter()
            .find(|m| m.id == id)
            .ok_or_else(|| Problem::new(MEMBER_ID, id, format!("no member has the id `{id}`")));
    }
    let cell = layout.cell(cells, EMAIL);
    if cell.is_empty() && layout.has(MEMBER_ID) {
        let message = "no member: both email and member_id are empty";
        return Err(Problem::new(EMAIL, cell, message));
    }
    let lowered = email(cell).map_err(|message| Problem::new(EMAIL, cell, message))?;
    let found: Vec<&MemberState> = org
        .members
        .iter()
        .filter(|m| m.email.trim().to_lowercase() == lowered)
        .collect();
    match found.as_slice() {
        [one] => Ok(one),
        [] => Err(Problem::new(
            EMAIL,
            cell,
            format!("no member has the email `{cell}`"),
        )),
        many => {
            let ids: Vec<&str> = many.iter().map(|m| m.id.as_str()).collect();
            let message = format!(
                "{} members have the email `{cell}`; use member_id ({})",
                many.len(),
                ids.join(", ")
            );
            Err(Problem::new(EMAIL, cell, message))
        }
    }
}

/// The writes for the values that differ from the member's, once each
/// across the file.
fn changes(
    member: &MemberState,
    line: usize,
    values: Vec<(&FieldDef, Value)>,
    given: &mut Given,
) -> Outcome {
    let mut problems = Vec::new();
    let mut repeated = None;
    for (field, value) in &values {
        let pair = (member.id.clone(), field.id.clone());
        match given.get(&pair) {
            Some((first, earlier)) if earlier != value => {
                let message = format!(
                    "line {first} gives this member's `{}` another value, {}; keep one",
                    field.name,
                    show(Some(earlier))
                );
                problems.push(Problem::new(&field.name, &show(Some(value)), message));
            }
            Some((first, _)) => {
                repeated.get_or_insert(*first);
            }
            None => {}
        }
    }
    if !problems.is_empty() {
        return Outcome::Invalid(problems);
    }
    let mut writes = Vec::new();
    for (field, value) in values {
        let pair = (member.id.clone(), field.id.clone());
        if given.contains_key(&pair) {
            continue;
        }
        let current = member.values.get(&field.id);
        if !same_value(field, current, &value) {
            writes.push(write(member, field, current, &value));
        }
        given.insert(pair, (line, value));
    }
    match (writes.is_empty(), repeated) {
        (false, _) => Outcome::Send(writes),
        (true, Some(first_line)) => Outcome::Skip(SkipReason::RepeatedInFile { first_line }),
        (true, None) => Outcome::Skip(SkipReason::Unchanged),
    }
}

fn write(member: &MemberState, field: &FieldDef, current: Option<&Value>, value: &Value) -> Write {
    Write {
        key: format!("value:{}/{}", member.id, field.id),
        method: Method::Put,
        path: format!("members/{}/member-fields/{}", member.id, field.id),
        body: json!({ "value": value }),
        summary: format!(
            "set {} of {} to {} (was {})",
            field.name,
            member.email,
            show(Some(value)),
            show(current)
        ),
    }
}
