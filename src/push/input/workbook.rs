//! Reads a workbook (`.xlsx`, `.xlsm`, `.xlsb`, `.xls`, `.ods`) with
//! calamine, no office suite needed: the first sheet or the one named, its
//! first used row as the header, every row numbered as the sheet numbers
//! it. A date cell becomes `YYYY-MM-DD` (or Unix seconds when it has a
//! time), a number its shortest text, a formula its saved result.

use std::path::Path;

use calamine::{open_workbook_auto, Data, ExcelDateTime, Range, Reader};

use super::{InputError, Rows};

/// The header, the rows (with the sheet's row numbers) and the sheet's
/// name.
pub(super) fn read_workbook(
    path: &Path,
    sheet: Option<&str>,
) -> Result<(Vec<String>, Rows, String), InputError> {
    let fail = |message: String| InputError::Workbook {
        path: path.to_path_buf(),
        message,
    };
    let mut book = open_workbook_auto(path).map_err(|e| {
        fail(format!(
            "cannot read it as a workbook ({e}); check that it is an Excel or OpenDocument file, or export CSV UTF-8"
        ))
    })?;
    let names = book.sheet_names();
    let name = match sheet {
        None => names
            .first()
            .cloned()
            .ok_or_else(|| fail("the workbook has no sheet".into()))?,
        Some(wanted) => names
            .iter()
            .find(|n| n.as_str() == wanted)
            .or_else(|| names.iter().find(|n| n.eq_ignore_ascii_case(wanted)))
            .cloned()
            .ok_or_else(|| {
                fail(format!(
                    "the workbook has no sheet named `{wanted}`; its sheets are {}",
                    quoted(&names)
                ))
            })?,
    };
    let range = book
        .worksheet_range(&name)
        .map_err(|e| fail(format!("cannot read the sheet `{name}` ({e})")))?;
    // Formulas only to tell a formula without a saved result from an empty
    // cell; a format that cannot list them has results saved anyway.
    if let Ok(formulas) = book.worksheet_formula(&name) {
        unsaved_formula(&range, &formulas).map_err(|cell| {
            fail(format!(
                "sheet `{name}`, cell {cell} holds a formula without a saved result (the program that wrote the file does not compute formulas); open the file in Excel or LibreOffice and save it, or paste the values"
            ))
        })?;
    }
    let (header, rows) = sheet_rows(&range).map_err(|(cell, error)| {
        fail(format!(
            "sheet `{name}`, cell {cell} holds the error {error}; fix its formula or clear the cell"
        ))
    })?;
    let header = header.ok_or_else(|| InputError::NoHeader {
        path: path.to_path_buf(),
    })?;
    Ok((header, rows, name))
}

fn quoted(names: &[String]) -> String {
    let each: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    each.join(", ")
}

/// A cell holding an error value: its reference (`C7`) and the error.
type CellError = (String, String);

/// The first row as the header, then the others with their sheet row
/// numbers; Err: the first cell holding an error value.
fn sheet_rows(range: &Range<Data>) -> Result<(Option<Vec<String>>, Rows), CellError> {
    let Some((top, left)) = range.start() else {
        return Ok((None, Vec::new()));
    };
    let mut header = None;
    let mut rows = Vec::new();
    for (i, row) in range.rows().enumerate() {
        let number = top as usize + i + 1;
        let mut cells = Vec::with_capacity(row.len());
        for (j, cell) in row.iter().enumerate() {
            match text(cell) {
                Ok(text) => cells.push(text),
                Err(error) => return Err((reference(number, left as usize + j), error)),
            }
        }
        match header {
            None => header = Some(cells),
            Some(_) => rows.push((number, cells)),
        }
    }
    Ok((header, rows))
}

/// The first cell (as `C7`) with a formula but no saved result.
fn unsaved_formula(values: &Range<Data>, formulas: &Range<String>) -> Result<(), String> {
    let Some((top, left)) = formulas.start() else {
        return Ok(());
    };
    for (row, column, formula) in formulas.used_cells() {
        let at = (top + row as u32, left + column as u32);
        let value = values.get_value(at);
        if !formula.is_empty() && matches!(value, None | Some(Data::Empty)) {
            return Err(reference(at.0 as usize + 1, at.1 as usize));
        }
    }
    Ok(())
}

/// `C7` for row 7 (counted from 1), column index 2 (from 0).
fn reference(row: usize, column: usize) -> String {
    let mut letters = Vec::new();
    let mut n = column + 1;
    while n > 0 {
        letters.push(b'A' + ((n - 1) % 26) as u8);
        n = (n - 1) / 26;
    }
    letters.reverse();
    format!("{}{row}", String::from_utf8_lossy(&letters))
}

/// A cell as the text a CSV export would hold; Err: the cell's error.
fn text(cell: &Data) -> Result<String, String> {
    Ok(match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        // Display writes a whole f64 without `.0`.
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => date_time(d),
        Data::DateTimeIso(s) => iso_day(s),
        Data::DurationIso(s) => s.clone(),
        Data::Error(e) => return Err(e.to_string()),
    })
}

/// A date cell: `YYYY-MM-DD` at midnight, else Unix seconds (the sheet's
/// time taken as UTC); a duration as its number of days.
fn date_time(d: &ExcelDateTime) -> String {
    if d.is_duration() {
        return d.as_f64().to_string();
    }
    let (year, month, day, hour, minute, second, milli) = d.to_ymd_hms_milli();
    if (hour, minute, second, milli) == (0, 0, 0, 0) {
        return format!("{year:04}-{month:02}-{day:02}");
    }
    let moment = time::Month::try_from(month)
        .ok()
        .and_then(|m| time::Date::from_calendar_date(year.into(), m, day).ok())
        .and_then(|date| date.with_hms(hour, minute, second).ok());
    match moment {
        Some(moment) => moment.assume_utc().unix_timestamp().to_string(),
        None => d.as_f64().to_string(),
    }
}

/// An OpenDocument date (`2027-05-31` or `2027-05-31T00:00:00`): the day
/// when it has no time of day.
fn iso_day(s: &str) -> String {
    match s.split_once('T') {
        Some((day, time)) if time.trim_start_matches(['0', ':', '.']).is_empty() => day.to_string(),
        _ => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use calamine::ExcelDateTimeType;

    use super::*;

    #[test]
    fn cells_read_as_a_csv_export_would_hold_them() {
        let day = ExcelDateTime::new(46538.0, ExcelDateTimeType::DateTime, false);
        assert_eq!(text(&Data::DateTime(day)).unwrap(), "2027-05-31");
        let noon = ExcelDateTime::new(46538.5, ExcelDateTimeType::DateTime, false);
        assert_eq!(text(&Data::DateTime(noon)).unwrap(), "1811764800");
        assert_eq!(text(&Data::Float(23.0)).unwrap(), "23");
        assert_eq!(text(&Data::Float(2.5)).unwrap(), "2.5");
        assert_eq!(text(&Data::Int(7)).unwrap(), "7");
        assert_eq!(
            text(&Data::DateTimeIso("2027-05-31T00:00:00".into())).unwrap(),
            "2027-05-31"
        );
        assert_eq!(
            text(&Data::DateTimeIso("2027-05-31".into())).unwrap(),
            "2027-05-31"
        );
        assert!(text(&Data::Error(calamine::CellErrorType::Div0)).is_err());
    }

    #[test]
    fn rows_are_numbered_as_the_sheet_numbers_them() {
        use rust_xlsxwriter::{Formula, Workbook};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("book.xlsx");
        let mut book = Workbook::new();
        book.add_worksheet().set_name("Notes").unwrap();
        let sheet = book.add_worksheet().set_name("Cohort").unwrap();
        sheet.write_string(2, 1, "email").unwrap();
        sheet.write_string(2, 2, "Age").unwrap();
        sheet.write_string(3, 1, "a@x.org").unwrap();
        sheet
            .write_formula(3, 2, Formula::new("=1+2").set_result("3"))
            .unwrap();
        sheet.write_string(5, 1, "b@x.org").unwrap();
        sheet.write_number(5, 2, 4.5).unwrap();
        book.save(&path).unwrap();
        let (header, rows, name) = read_workbook(&path, Some("cohort")).unwrap();
        assert_eq!(
            (header, name),
            (vec!["email".into(), "Age".into()], "Cohort".into())
        );
        let want: Rows = vec![
            (4, vec!["a@x.org".into(), "3".into()]),
            (5, vec![String::new(), String::new()]),
            (6, vec!["b@x.org".into(), "4.5".into()]),
        ];
        assert_eq!(rows, want);
        let err = read_workbook(&path, Some("Spring"))
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with(
                "the workbook has no sheet named `Spring`; its sheets are `Notes`, `Cohort`"
            ),
            "{err}"
        );
        assert!(matches!(
            read_workbook(&path, None),
            Err(InputError::NoHeader { .. })
        ));
    }

    #[test]
    fn references_are_spreadsheet_style() {
        assert_eq!(reference(7, 2), "C7");
        assert_eq!(reference(1, 25), "Z1");
        assert_eq!(reference(3, 26), "AA3");
        assert_eq!(reference(3, 27), "AB3");
    }
}
