//! The Org API's write side, so that tools which send invitations, create
//! member fields or set field values can be tested against the sandbox:
//! `POST /organization-invitations`, `POST /member-fields` and
//! `PUT /members/{memberId}/member-fields/{fieldId}`. Each validates its
//! JSON body as the reference documents (errors in its format, location
//! "body"), then changes the organization under one lock, so two
//! concurrent invitations of one email cannot both pass the duplicate
//! rule. What was written is counted in a [`WriteLog`] for tests.

#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use super::write_faults::KINDS;
use super::{api_error, Shared, St};
use crate::org::{Ix, Oid, Org, FIELD_TYPES};
use crate::people::NewInvitation;

/// What the API's writes did since start, for tests: how often each email
/// was invited and each field name created, how many field values were
/// set, and the write faults met, by kind.
#[derive(Debug, Clone, Default)]
pub struct WriteLog {
    pub invitations_by_email: BTreeMap<String, u64>,
    pub fields_by_name: BTreeMap<String, u64>,
    pub field_value_puts: u64,
    pub write_faults: BTreeMap<&'static str, u64>,
}

impl WriteLog {
    /// The log as `GET /_sandbox/writes` answers it; every fault kind is
    /// there, zero when it never happened.
    pub fn to_json(&self) -> Value {
        let faults: BTreeMap<&str, u64> = KINDS
            .iter()
            .map(|k| (*k, self.write_faults.get(k).copied().unwrap_or(0)))
            .collect();
        json!({
            "invitations_by_email": self.invitations_by_email,
            "fields_by_name": self.fields_by_name,
            "field_value_puts": self.field_value_puts,
            "write_faults": faults,
        })
    }
}

impl Shared {
    pub(crate) fn log_write(&self, change: impl FnOnce(&mut WriteLog)) {
        change(&mut self.writes.lock().unwrap_or_else(|e| e.into_inner()));
    }
}

/// A 400 about body parameter `param`.
fn bad(message: &str, param: &str, value: &str) -> Response {
    api_error(
        StatusCode::BAD_REQUEST,
        message,
        Some((param, value, "body")),
    )
}

/// A value as an error shows it: a string as it is, anything else as
/// JSON, nothing as "".
fn shown(v: Option<&Value>) -> String {
    match v {
        None => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn body_object(body: &[u8]) -> Result<Map<String, Value>, Response> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(api_error(
            StatusCode::BAD_REQUEST,
            "The body must be a JSON object",
            None,
        )),
    }
}

/// An optional string parameter: missing or null is None.
fn opt_str<'a>(body: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, Response> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        other => Err(bad("Invalid value", key, &shown(other))),
    }
}

/// Good enough for a sandbox: one `@`, something before it, a dotted
/// domain after it, no spaces.
fn is_email(e: &str) -> bool {
    let Some((local, domain)) = e.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !e.chars().any(char::is_whitespace)
}

/// `POST /organization-invitations`.
pub(super) async fn create_invitation(State(s): St, body: Bytes) -> Response {
    let body = match body_object(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut org = s.org.write().unwrap_or_else(|e| e.into_inner());
    let new = match invitation_from(&org, &body) {
        Ok(n) => n,
        Err(r) => return r,
    };
    let email = new.email.clone();
    let ix = org.write_invitation(new);
    let answer = org.invitation_json(ix);
    drop(org);
    s.log_write(|w| *w.invitations_by_email.entry(email).or_default() += 1);
    Json(answer).into_response()
}

/// The invitation `body` asks for, or the 400 it deserves.
fn invitation_from(org: &Org, body: &Map<String, Value>) -> Result<NewInvitation, Response> {
    let email = match body.get("email") {
        Some(Value::String(e)) if is_email(e.trim()) => e.trim().to_owned(),
        other => return Err(bad("email must be a valid email", "email", &shown(other))),
    };
    if org.has_pending_invitation(&email) {
        return Err(bad(
            "a pending invitation already exists for this email",
            "email",
            &email,
        ));
    }
    let board_name = opt_str(body, "boardName")?.unwrap_or_default().to_owned();
    let template = match opt_str(body, "boardTemplateId")? {
        None => org.templates.iter().position(|t| t.is_default),
        Some(id) => match Oid::parse(id).and_then(|o| org.templates.iter().position(|t| t.id == o))
        {
            Some(t) => Some(t),
            None => return Err(bad("Board template not found", "boardTemplateId", id)),
        },
    };
    let advisor = match opt_str(body, "advisorEmail")? {
        None => None,
        Some(e) => match org.advisors.iter().find(|a| {
            org.people[**a as usize]
                .email
                .eq_ignore_ascii_case(e.trim())
        }) {
            Some(a) => Some(*a),
            None => {
                return Err(bad(
                    "advisorEmail is not an advisor of the organization",
                    "advisorEmail",
                    e,
                ))
            }
        },
    };
    Ok(NewInvitation {
        email,
        board_name,
        template: template.map(|t| t as Ix),
        advisor,
        fields: field_values_from(org, body.get("memberFieldValues"))?,
    })
}

/// The field of id `id`, if there is one.
fn field_by_id(org: &Org, id: &str) -> Option<Ix> {
    let id = Oid::parse(id)?;
    org.fields.iter().position(|f| f.id == id).map(|f| f as Ix)
}

/// `memberFieldValues`: each `{fieldId, value}` names an existing field
/// and has a value its type takes; a field given twice keeps its last
/// value.
fn field_values_from(org: &Org, values: Option<&Value>) -> Result<Vec<(Ix, Value)>, Response> {
    let items = match values {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        other => return Err(bad("Invalid value", "memberFieldValues", &shown(other))),
    };
    let mut out: Vec<(Ix, Value)> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let param = format!("memberFieldValues[{i}].fieldId");
        let id = item.get("fieldId");
        let Some(f) = id
            .and_then(Value::as_str)
            .and_then(|id| field_by_id(org, id))
        else {
            return Err(bad("Member field not found", &param, &shown(id)));
        };
        let value = item.get("value").cloned().unwrap_or(Value::Null);
        if !org.fields[f as usize].accepts(&value) {
            let param = format!("memberFieldValues[{i}].value");
            return Err(bad(&refused(org, f), &param, &shown(Some(&value))));
        }
        out.retain(|(x, _)| *x != f);
        out.push((f, value));
    }
    Ok(out)
}

/// The message for a value field `f` does not take.
fn refused(org: &Org, f: Ix) -> String {
    let field = &org.fields[f as usize];
    let wanted = match field.field_type {
        "MULTIPLE_CHOICE" => "one of its choices, or an array of them",
        "NUMBER" => "a number",
        "DATE" => "a Unix timestamp in seconds",
        _ => "a string",
    };
    format!(
        "Invalid value for {} field \"{}\": expected {wanted}",
        field.field_type, field.name
    )
}

/// `POST /member-fields`.
pub(super) async fn create_field(State(s): St, body: Bytes) -> Response {
    let body = match body_object(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut org = s.org.write().unwrap_or_else(|e| e.into_inner());
    let (name, field_type, choices) = match field_from(&org, &body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let f = org.write_field(name.clone(), field_type, choices);
    let answer = org.field_json(f);
    drop(org);
    s.log_write(|w| *w.fields_by_name.entry(name).or_default() += 1);
    Json(answer).into_response()
}

/// The field `body` asks for (trimmed name, type, choices), or the 400
/// it deserves.
fn field_from(
    org: &Org,
    body: &Map<String, Value>,
) -> Result<(String, &'static str, Vec<String>), Response> {
    let name = match body.get("name") {
        Some(Value::String(n)) if !n.trim().is_empty() => n.trim().to_owned(),
        other => return Err(bad("name is required", "name", &shown(other))),
    };
    if org.fields.iter().any(|f| f.name.trim() == name) {
        return Err(bad(
            "A member field with this name already exists",
            "name",
            &name,
        ));
    }
    let given = body.get("fieldType");
    let Some(field_type) = given
        .and_then(Value::as_str)
        .and_then(|t| FIELD_TYPES.into_iter().find(|x| *x == t))
    else {
        let message = format!("fieldType must be one of {}", FIELD_TYPES.join(", "));
        return Err(bad(&message, "fieldType", &shown(given)));
    };
    if field_type != "MULTIPLE_CHOICE" {
        return Ok((name, field_type, Vec::new()));
    }
    let choices: Option<Vec<String>> = match body.get("choices") {
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|c| c.as_str().map(str::to_owned))
            .collect(),
        _ => None,
    };
    match choices {
        Some(c) => Ok((name, field_type, c)),
        None => Err(bad(
            "choices must be a non-empty array of strings for a MULTIPLE_CHOICE field",
            "choices",
            &shown(body.get("choices")),
        )),
    }
}

/// `PUT /members/{memberId}/member-fields/{fieldId}`.
pub(super) async fn put_field_value(
    State(s): St,
    Path((member, field)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let mut org = s.org.write().unwrap_or_else(|e| e.into_inner());
    let Some(m) = Oid::parse(&member).and_then(|o| org.members_ix.get(&o).copied()) else {
        let param = Some(("memberId", member.as_str(), "params"));
        return api_error(StatusCode::NOT_FOUND, "Member not found", param);
    };
    let Some(f) = field_by_id(&org, &field) else {
        let param = Some(("fieldId", field.as_str(), "params"));
        return api_error(StatusCode::NOT_FOUND, "Member field not found", param);
    };
    let body = match body_object(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let value = body.get("value").cloned().unwrap_or(Value::Null);
    if !org.fields[f as usize].accepts(&value) {
        return bad(&refused(&org, f), "value", &shown(body.get("value")));
    }
    org.write_field_value(m, f, value);
    let answer = org.member_json(m);
    drop(org);
    s.log_write(|w| w.field_value_puts += 1);
    Json(answer).into_response()
}
