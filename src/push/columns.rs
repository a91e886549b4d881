//! Maps an input file's columns onto what they mean for one kind of push:
//! the kind's own columns (`email`, `board_name`, ...) by name as people
//! type it (`E-mail`, `Board Template`), and every other column onto the
//! member field of that name (exactly, or ignoring case when that names
//! one field), with the closest name suggested once for a column that
//! matches none.

use serde_json::Value;

use super::dates::DateFormat;
use super::values::{closest, convert_with};
use super::{FieldDef, InputError, InputTable, Problem};

/// The field a column names, or why it names none.
type FieldMatch<'a> = Result<&'a FieldDef, String>;

/// A column that is not one of the kind's own.
pub(super) struct OtherColumn<'a> {
    pub index: usize,
    pub name: &'a str,
    pub field: FieldMatch<'a>,
}

/// Where a kind's columns are in one file.
pub(super) struct Layout<'a> {
    own: Vec<(&'static str, usize)>,
    pub others: Vec<OtherColumn<'a>>,
    dates: Option<&'a DateFormat>,
}

impl<'a> Layout<'a> {
    /// `own`: the kind's columns; every other column names a member field
    /// of `fields` (None: the kind takes no other column). Err: two
    /// columns naming one column or field, or a column that could be two
    /// fields.
    pub fn new(
        input: &'a InputTable,
        own: &[&'static str],
        fields: Option<&'a [FieldDef]>,
    ) -> Result<Layout<'a>, InputError> {
        let mut layout = Layout {
            own: Vec::new(),
            others: Vec::new(),
            dates: input.date_format.as_ref(),
        };
        for (index, name) in input.columns.iter().enumerate() {
            if let Some(own) = reserved(name, own) {
                if let Some((_, first)) = layout.own.iter().find(|(o, _)| *o == own) {
                    return Err(twice(&input.columns[*first], name, own));
                }
                layout.own.push((own, index));
                continue;
            }
            let field = match fields {
                Some(fields) => member_field(name, fields, own)?,
                None => Err(unknown_column(name, own)),
            };
            if let Ok(field) = field {
                let same = layout
                    .others
                    .iter()
                    .find(|o| matches!(o.field, Ok(f) if std::ptr::eq(f, field)));
                if let Some(first) = same {
                    return Err(twice(first.name, name, &field.name));
                }
            }
            layout.others.push(OtherColumn { index, name, field });
        }
        Ok(layout)
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
            match convert_with(field, cell, self.dates) {
                Ok(Some(value)) => values.push((*field, value)),
                Ok(None) => {}
                Err(message) => problems.push(Problem::new(column.name, cell, message)),
            }
        }
        values
    }
}

/// The kind's own column a header names: its case, surrounding spaces
/// and the spaces, hyphens and underscores inside it aside.
pub(super) fn reserved(header: &str, own: &[&'static str]) -> Option<&'static str> {
    let key = squash(header);
    own.iter().copied().find(|o| squash(o) == key)
}

fn squash(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace() && *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

fn twice(first: &str, second: &str, name: &str) -> InputError {
    InputError::SameColumnTwice {
        first: first.to_string(),
        second: second.to_string(),
        name: name.to_string(),
    }
}

/// The field named exactly `name`, else the one field named so ignoring
/// case, or a message naming the closest one; Err when two fields match.
fn member_field<'a>(
    name: &str,
    fields: &'a [FieldDef],
    own: &[&'static str],
) -> Result<FieldMatch<'a>, InputError> {
    if let Some(field) = fields.iter().find(|f| f.name == name) {
        return Ok(Ok(field));
    }
    let lower = name.to_lowercase();
    let mut folded = fields.iter().filter(|f| f.name.to_lowercase() == lower);
    match (folded.next(), folded.next()) {
        (Some(one), None) => return Ok(Ok(one)),
        (Some(one), Some(other)) => {
            return Err(InputError::AmbiguousColumn {
                column: name.to_string(),
                one: one.name.clone(),
                other: other.name.clone(),
            })
        }
        _ => {}
    }
    let names = fields
        .iter()
        .map(|f| f.name.as_str())
        .chain(own.iter().copied());
    Ok(Err(match closest(name, names) {
        Some(near) => format!("no member field named `{name}`; the closest is `{near}`"),
        None => format!("no member field named `{name}`; the organization has none"),
    }))
}

fn unknown_column(name: &str, own: &[&'static str]) -> String {
    let near = closest(name, own.iter().copied()).unwrap_or_default();
    format!(
        "unknown column `{name}`; the closest is `{near}` (the columns are {})",
        own.join(", ")
    )
}

/// The file-level error for a missing column, listing the columns the
/// file has.
pub(super) fn missing(input: &InputTable, column: &str, needed_for: &str) -> InputError {
    let has = match input.columns.as_slice() {
        [] => "it has none".to_string(),
        columns => {
            let each: Vec<String> = columns.iter().map(|c| format!("`{c}`")).collect();
            format!("it has {}", each.join(", "))
        }
    };
    InputError::MissingColumn {
        column: column.to_string(),
        fix: format!("{needed_for}: add a column named `{column}` ({has})"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{org, table};
    use super::*;

    const OWN: [&str; 3] = ["email", "board_template", "advisor_email"];

    #[test]
    fn own_columns_match_as_people_type_them() {
        for header in ["Email", " E-mail ", "EMAIL", "e_mail"] {
            assert_eq!(reserved(header, &OWN), Some("email"), "{header}");
        }
        assert_eq!(reserved("Board Template", &OWN), Some("board_template"));
        assert_eq!(reserved("Advisor-Email", &OWN), Some("advisor_email"));
        assert_eq!(reserved("Emails", &OWN), None);
        let fields = org().fields;
        let input = table(&["E-Mail", "Board Template", "location"], &[]);
        let layout = Layout::new(&input, &OWN, Some(&fields)).unwrap();
        assert!(layout.has("email") && layout.has("board_template"));
        assert_eq!(layout.others[0].field.as_ref().unwrap().name, "Location");
    }

    #[test]
    fn a_column_naming_two_things_or_one_thing_twice_is_refused() {
        let mut fields = org().fields;
        let mut twin = fields[0].clone();
        twin.name = twin.name.to_uppercase();
        twin.id = "f-twin".into();
        let (one, other) = (fields[0].name.clone(), twin.name.clone());
        fields.push(twin);
        let header = one.to_lowercase();
        let input = table(&["email", &header], &[]);
        let err = Layout::new(&input, &OWN, Some(&fields))
            .err()
            .unwrap()
            .to_string();
        assert_eq!(
            err,
            format!("the column `{header}` could be the member field `{one}` or `{other}`; name the column exactly as one of them is spelt")
        );
        // The exact name still names one field.
        let input = table(&["email", &one], &[]);
        assert!(Layout::new(&input, &OWN, Some(&fields)).is_ok());
        let input = table(&["email", "E-mail"], &[]);
        let err = Layout::new(&input, &OWN, Some(&fields))
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.starts_with("the columns `email` and `E-mail` both name `email`"),
            "{err}"
        );
        let input = table(&["email", "Location", "LOCATION"], &[]);
        let err = Layout::new(&input, &OWN, Some(&org().fields))
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.starts_with("the columns `Location` and `LOCATION` both name `Location`"),
            "{err}"
        );
    }
}
