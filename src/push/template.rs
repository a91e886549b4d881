//! `push <kind> --template FILE`: an empty file to fill, with the columns
//! that push takes: the kind's own, then one per member field of the
//! organization. As a workbook, each choice field's column offers its
//! choices as a drop-down (listed on a second sheet, so long lists fit)
//! and date columns are formatted as dates; as CSV, the header line.

use std::path::{Path, PathBuf};

use rust_xlsxwriter::{
    DataValidation, DataValidationErrorStyle, Format, Formula, Workbook, Worksheet, XlsxError,
};

use super::values::{has_choices, DATE, FIELD_TYPES};
use super::{field_values, fields, invitations, FieldDef, PushKind};

/// The sheet the drop-downs' choices are listed on.
const CHOICES_SHEET: &str = "Choices";
/// How many rows the drop-downs and date formats cover.
const ROWS: u32 = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("{}: a template is written as .xlsx or .csv; name it so", path.display())]
    Format { path: PathBuf },
    #[error("cannot write the template {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write the template {}: {source}", path.display())]
    Xlsx { path: PathBuf, source: XlsxError },
}

/// One column of the template, and the field it fills (if any).
struct Column<'a> {
    name: &'a str,
    field: Option<&'a FieldDef>,
}

/// The kind's own columns, then one per field a push can write.
fn columns(kind: PushKind, org_fields: &[FieldDef]) -> Vec<Column<'_>> {
    let own: &[&str] = match kind {
        PushKind::Invitations => &invitations::OWN,
        PushKind::FieldValues => &field_values::OWN,
        PushKind::Fields => &fields::OWN,
    };
    let mut columns: Vec<Column> = own
        .iter()
        .map(|name| Column { name, field: None })
        .collect();
    if kind != PushKind::Fields {
        columns.extend(
            org_fields
                .iter()
                .filter(|f| FIELD_TYPES.contains(&f.field_type.as_str()))
                .map(|f| Column {
                    name: &f.name,
                    field: Some(f),
                }),
        );
    }
    columns
}

/// Writes the template for `kind` to `path` (.xlsx or .csv); the number
/// of columns.
pub fn write_template(
    kind: PushKind,
    org_fields: &[FieldDef],
    path: &Path,
) -> Result<usize, TemplateError> {
    let columns = columns(kind, org_fields);
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("xlsx") => workbook(kind, &columns)
            .and_then(|mut book| book.save(path))
            .map_err(|source| TemplateError::Xlsx {
                path: path.to_path_buf(),
                source,
            })?,
        Some("csv") => {
            let mut writer = csv::Writer::from_path(path).map_err(|e| io(path, e.into()))?;
            writer
                .write_record(columns.iter().map(|c| c.name))
                .and_then(|()| writer.flush().map_err(csv::Error::from))
                .map_err(|e| io(path, e.into()))?;
        }
        _ => {
            return Err(TemplateError::Format {
                path: path.to_path_buf(),
            })
        }
    }
    Ok(columns.len())
}

fn io(path: &Path, source: std::io::Error) -> TemplateError {
    TemplateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn workbook(kind: PushKind, columns: &[Column]) -> Result<Workbook, XlsxError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    // (column, choices) of every column with a drop-down.
    let mut lists: Vec<(u16, Vec<&str>)> = Vec::new();
    let sheet = book.add_worksheet();
    sheet.set_name(kind.name())?;
    for (i, column) in columns.iter().enumerate() {
        let col = i as u16;
        sheet.write_string_with_format(0, col, column.name, &bold)?;
        sheet.set_column_width(col, (column.name.chars().count() + 4).max(14) as f64)?;
        match column.field {
            Some(f) if f.field_type == DATE => {
                sheet.set_column_format(col, &date)?;
            }
            Some(f) if has_choices(&f.field_type) => {
                lists.push((col, f.choices.iter().map(String::as_str).collect()));
            }
            None if column.name == "field_type" => lists.push((col, FIELD_TYPES.to_vec())),
            _ => {}
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    if lists.is_empty() {
        return Ok(book);
    }
    for (n, (col, choices)) in lists.iter().enumerate() {
        let list = choices_range(n as u16, choices.len());
        let mut validation = DataValidation::new()
            .allow_list_formula(Formula::new(list))
            .ignore_blank(true);
        // Several choices may be typed, `;`-separated: warn, not refuse.
        if kind != PushKind::Fields {
            validation = validation
                .set_error_style(DataValidationErrorStyle::Warning)
                .set_error_message("Not one of the field's choices; several are separated by ;")?;
        }
        book.worksheet_from_index(0)?
            .add_data_validation(1, *col, ROWS, *col, &validation)?;
    }
    let choices = book.add_worksheet();
    choices.set_name(CHOICES_SHEET)?;
    for (n, (col, list)) in lists.iter().enumerate() {
        list_column(choices, n as u16, columns[*col as usize].name, list, &bold)?;
    }
    Ok(book)
}

/// `=Choices!$B$2:$B$7`: the `n`th list's cells on the choices sheet.
fn choices_range(n: u16, len: usize) -> String {
    let letter = rust_xlsxwriter::utility::column_number_to_name(n);
    format!("={CHOICES_SHEET}!${letter}$2:${letter}${}", len.max(1) + 1)
}

fn list_column(
    sheet: &mut Worksheet,
    col: u16,
    name: &str,
    list: &[&str],
    bold: &Format,
) -> Result<(), XlsxError> {
    sheet.write_string_with_format(0, col, name, bold)?;
    sheet.set_column_width(col, (name.chars().count() + 4).max(14) as f64)?;
    for (row, choice) in list.iter().enumerate() {
        sheet.write_string(row as u32 + 1, col, *choice)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::fixture::org;
    use super::super::input::{read_input, ReadOptions};
    use super::*;

    #[test]
    fn a_template_has_the_kinds_columns_and_the_fields() {
        let dir = tempfile::tempdir().unwrap();
        let fields = org().fields;
        let csv = dir.path().join("cohort.csv");
        assert_eq!(
            write_template(PushKind::Invitations, &fields, &csv).unwrap(),
            9
        );
        let text = std::fs::read_to_string(&csv).unwrap();
        assert_eq!(
            text,
            "email,board_name,board_template,advisor_email,Location,Program,Graduation,Nickname,Age\n"
        );
        let xlsx = dir.path().join("values.xlsx");
        write_template(PushKind::FieldValues, &fields, &xlsx).unwrap();
        let table = read_input(&xlsx, &ReadOptions::default()).unwrap();
        assert_eq!(
            table.columns,
            [
                "email",
                "member_id",
                "Location",
                "Program",
                "Graduation",
                "Nickname",
                "Age"
            ]
        );
        assert!(table.rows.is_empty());
        let choices = ReadOptions {
            sheet: Some("Choices".into()),
            ..Default::default()
        };
        let table = read_input(&xlsx, &choices).unwrap();
        assert_eq!(table.columns, ["Location", "Program"]);
        assert_eq!(
            table.rows[0],
            (2, vec!["Vancouver".into(), "Web Design".into()])
        );
        let err = write_template(PushKind::Fields, &fields, &dir.path().join("f.ods"));
        assert!(err
            .unwrap_err()
            .to_string()
            .contains("written as .xlsx or .csv"));
    }

    #[test]
    fn a_choice_list_is_a_range_of_the_choices_sheet() {
        assert_eq!(choices_range(0, 6), "=Choices!$A$2:$A$7");
        assert_eq!(choices_range(27, 0), "=Choices!$AB$2:$AB$2");
    }
}
