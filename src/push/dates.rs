//! Text dates in the order a spreadsheet's locale writes them
//! (`5/31/2027`, `31.05.2027`), read only when the operator says which
//! order the file uses (`--date-format`): `05/06/2027` is a day in May or
//! in June depending on who typed it, so it is never guessed.

use chrono::format::{Fixed, Item, Numeric, StrftimeItems};
use chrono::NaiveDate;

/// A strftime-like format naming a day, a month and a year
/// (`%m/%d/%Y`, `%d/%m/%Y`, `%d.%m.%Y`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateFormat(String);

impl DateFormat {
    /// The format, or why it is not one a date can be read with.
    pub fn parse(format: &str) -> Result<DateFormat, String> {
        let (mut day, mut month, mut year) = (false, false, false);
        for item in StrftimeItems::new(format) {
            match item {
                Item::Error => {
                    return Err(format!(
                        "--date-format `{format}` is not a date format; write it with %d (day), %m (month) and %Y (year), e.g. %m/%d/%Y or %d.%m.%Y"
                    ))
                }
                Item::Numeric(Numeric::Day, _) => day = true,
                Item::Numeric(Numeric::Month, _)
                | Item::Fixed(Fixed::ShortMonthName | Fixed::LongMonthName) => month = true,
                Item::Numeric(Numeric::Year | Numeric::YearMod100, _) => year = true,
                _ => {}
            }
        }
        if !(day && month && year) {
            return Err(format!(
                "--date-format `{format}` must name a day (%d), a month (%m) and a year (%Y), e.g. %m/%d/%Y or %d.%m.%Y"
            ));
        }
        Ok(DateFormat(format.to_string()))
    }

    /// The format as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The day `text` names in this format, as Unix seconds at midnight UTC.
    pub fn unix_seconds(&self, text: &str) -> Option<i64> {
        let day = NaiveDate::parse_from_str(text, &self.0).ok()?;
        Some(day.and_hms_opt(0, 0, 0)?.and_utc().timestamp())
    }
}

/// Whether `text` looks like a day written in some order other than the
/// year first (digits in three groups split by `/`, `.` or `-`), to say
/// `--date-format` when it is not read.
pub(super) fn looks_like_a_day(text: &str) -> bool {
    let groups: Vec<&str> = text.split(['/', '.', '-']).collect();
    groups.len() == 3
        && groups[0].len() <= 2
        && groups
            .iter()
            .all(|g| !g.is_empty() && g.len() <= 4 && g.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_common_orders_read_with_or_without_leading_zeros() {
        let us = DateFormat::parse("%m/%d/%Y").unwrap();
        assert_eq!(us.unix_seconds("5/31/2027"), Some(1811721600));
        assert_eq!(us.unix_seconds("05/31/2027"), Some(1811721600));
        assert_eq!(us.unix_seconds("31/05/2027"), None);
        let uk = DateFormat::parse("%d/%m/%Y").unwrap();
        assert_eq!(uk.unix_seconds("31/5/2027"), Some(1811721600));
        let de = DateFormat::parse("%d.%m.%Y").unwrap();
        assert_eq!(de.unix_seconds("31.05.2027"), Some(1811721600));
        assert_eq!(de.unix_seconds("2027-05-31"), None);
    }

    #[test]
    fn a_format_must_name_a_day_a_month_and_a_year() {
        assert!(DateFormat::parse("%d %b %Y").is_ok());
        let err = DateFormat::parse("%m/%Y").unwrap_err();
        assert!(err.contains("must name a day (%d)"), "{err}");
        let err = DateFormat::parse("%Q/%d").unwrap_err();
        assert!(err.contains("is not a date format"), "{err}");
    }

    #[test]
    fn days_in_another_order_are_recognised() {
        for day in ["05/06/2027", "5/31/2027", "31.05.2027", "31-5-27"] {
            assert!(looks_like_a_day(day), "{day}");
        }
        for other in ["June 1st", "2027", "1.5", "a/b/c", "5//2027", "2024-13-01"] {
            assert!(!looks_like_a_day(other), "{other}");
        }
    }
}
