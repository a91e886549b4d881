//! Maps an input file's columns onto what they mean for one kind of push:
//! the kind's own columns (`email`, `board_name`, ...) by exact name, and
//! every other column onto the member field of that exact name, with the
//! closest name suggested once for a column that matches none.

use serde_json::Value;

use super::values::{closest, convert};
use super::{FieldDef, InputError, InputTable, Problem};

/// A column that is not one of the kind's own.
pub(super) struct OtherColumn<'a> {
    pub index: usize,
    pub name: &'a str,
    /// The field it names, or why it names none.
    pub field: Result<&'a FieldDef, String>,
}

/// Where a kind's columns are in one file.
pub(super) struct Layout<'a> {
    own: Vec<(&'static str, usize)>,
    pub others: Vec<OtherColumn<'a>>,
}

impl<'a> Layout<'a> {
    /// `own`: the kind's columns; every other column names a member field
    /// of `fields` (None: the kind takes no other column).
    pub fn new(
        input: &'a InputTable,
        own: &[&'static str],
        fields: Option<&'a [FieldDef]>,
    ) -> Layout<'a> {
        let mut layout = Layout {
            own: Vec::new(),
            others: Vec::new(),
        };
        for (index, name) in input.columns.iter().enumerate() {
            if let Some(own) = own.iter().find(|o| **o == name.as_str()) {
                layout.own.push((own, index));
                continue;
            }
            let field = match fields {
                Some(fields) => member_field(name, fields, own),
                None => Err(unknown_column(name, own)),
            };
            layout.others.push(OtherColumn { index, name, field });
        }
        layout
    }

    /// Whether the file has the column `name` (one of the kind's own).
    pub fn has(&self, name: &str) -> bool {
        self.own.iter().any(|(n, _)| *n == name)
    }

    /// The trimmed cell of the kind's column `name`; empty if the file has
    /// no such column.
    pub fn cell<'r>(&self, cells: &'r [String], name: &str) -> &'r str {
        self.own
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, i)| cells[*i].trim())
    }

    /// The values a row's field columns give, in column order; a problem
    /// for each cell that cannot be its field's value and for each value
    /// in a column that names no field (every other column, for a kind
    /// without field columns).
    pub fn field_values(
        &self,
        cells: &[String],
        problems: &mut Vec<Problem>,
    ) -> Vec<(&'a FieldDef, Value)> {
        let mut values = Vec::new();
        for column in &self.others {
            let cell = &cells[column.index];
            if cell.trim().is_empty() {
                continue;
            }
            let field = match &column.field {
                Ok(field) => field,
                Err(message) => {
                    problems.push(Problem::new(column.name, cell, message.clone()));
                    continue;
                }
            };
            match convert(field, cell) {
                Ok(Some(value)) => values.push((*field, value)),
                Ok(None) => {}
                Err(message) => problems.push(Problem::new(column.name, cell, message)),
            }
        }
        values
    }
}

/// The field named exactly `name`, or a message naming the closest one.
fn member_field<'a>(
    name: &str,
    fields: &'a [FieldDef],
    own: &[&'static str],
) -> Result<&'a FieldDef, String> {
    if let Some(field) = fields.iter().find(|f| f.name == name) {
        return Ok(field);
    }
    let names = fields
        .iter()
        .map(|f| f.name.as_str())
        .chain(own.iter().copied());
    Err(match closest(name, names) {
        Some(near) => format!("no member field named `{name}`; the closest is `{near}`"),
        None => format!("no member field named `{name}`; the organization has none"),
    })
}

fn unknown_column(name: &str, own: &[&'static str]) -> String {
    let near = closest(name, own.iter().copied()).unwrap_or_default();
    format!(
        "unknown column `{name}`; the closest is `{near}` (the columns are {})",
        own.join(", ")
    )
}

/// The file-level error for a missing column, pointing at a column whose
/// name differs only in case, if any.
pub(super) fn missing(input: &InputTable, column: &str, needed_for: &str) -> InputError {
    let near = input
        .columns
        .iter()
        .find(|c| c.eq_ignore_ascii_case(column));
    let fix = match near {
        Some(near) => format!("{needed_for}: rename the column `{near}` to `{column}`"),
        None => format!("{needed_for}: add a column named `{column}`"),
    };
    InputError::MissingColumn {
        column: column.to_string(),
        fix,
    }
}
