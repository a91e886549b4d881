//! `members_wide`: one row per member with a column per member field, so
//! a BI tool sees a member's fields as columns instead of rows of another
//! table. Its columns follow the organization's fields, so it is written
//! from the fields the database holds, at every run.
//!
//! A field's column is its name made a safe identifier (lowercase ASCII
//! letters, digits and `_`); when two fields (or a field and a member
//! column) come out the same, the later field by id gets `_<field id>`
//! appended, so names that differ only in case or punctuation still get
//! columns of their own.

use std::collections::HashSet;

use super::views::counted_members;
use super::{ident, lit, Sql};
use crate::schema::SCHEMA;

/// A member field the organization has (not removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberField {
    pub id: String,
    pub name: String,
    pub field_type: String,
}

/// The longest column name PostgreSQL keeps whole, less room for an id.
const MAX_NAME: usize = 63 - 25;

/// A name as a safe identifier: `Grad. Year` -> `grad_year`.
fn safe(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let mut out = out.trim_matches('_').to_owned();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out = format!("field_{out}").trim_end_matches('_').to_owned();
    }
    out.truncate(MAX_NAME);
    out
}

/// The member's own columns `members_wide` shows, before the fields.
fn own_columns() -> Vec<String> {
    let t = SCHEMA.get("members").expect("members");
    let mut cols: Vec<String> = t
        .columns
        .iter()
        .filter(|c| !c.is_lifecycle() && !c.name.starts_with('_'))
        .map(|c| c.name.clone())
        .collect();
    cols.extend(["advisor_name", "advisor_email", "member_groups"].map(String::from));
    cols
}

/// Each field with its column name in `members_wide`, in field id order.
pub fn field_columns(fields: &[MemberField]) -> Vec<(MemberField, String)> {
    let mut taken: HashSet<String> = own_columns().into_iter().collect();
    let mut sorted = fields.to_vec();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    sorted
        .into_iter()
        .map(|f| {
            let mut col = safe(&f.name);
            if !taken.insert(col.clone()) {
                let id: String =
                    f.id.chars()
                        .map(|c| match c.is_ascii_alphanumeric() {
                            true => c.to_ascii_lowercase(),
                            false => '_',
                        })
                        .collect();
                col = format!("{col}_{id}");
                taken.insert(col.clone());
            }
            (f, col)
        })
        .collect()
}

/// The `SELECT` of `members_wide`.
pub fn members_wide(sql: &Sql, fields: &[MemberField]) -> String {
    let own: Vec<String> = own_columns()
        .iter()
        .take_while(|c| c.as_str() != "advisor_name")
        .map(|c| format!("m.{}", ident(c)))
        .collect();
    let mfv = sql.place.table("member_field_values");
    let mut cols = own;
    cols.push("ad.full_name AS advisor_name".into());
    cols.push("ad.email AS advisor_email".into());
    cols.push("CAST(NULL AS TEXT) AS member_groups".into());
    for (f, col) in field_columns(fields) {
        let value = match f.field_type.as_str() {
            "MULTIPLE_CHOICE" | "MULTIPLE_SELECT" => sql.joined("v.value"),
            "NUMBER" => sql.number("v.value"),
            "DATE" => sql.date("v.value"),
            _ => "v.value".to_owned(),
        };
        cols.push(format!(
            "(SELECT {value} FROM {mfv} v WHERE v.member_id = m.id AND v.field_id = {}) AS {}",
            lit(&f.id),
            ident(&col)
        ));
    }
    format!(
        "SELECT {}\nFROM ({}) m\nLEFT JOIN {} ad ON ad.id = m.advisor_id AND ad.removed_at IS NULL",
        cols.join(",\n  "),
        counted_members(sql),
        sql.place.table("advisors")
    )
}
