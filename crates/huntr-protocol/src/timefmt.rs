//! Time helpers: unix seconds (the API's form) to the ISO-8601 UTC text
//! the tables store, and back.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// `2020-05-04T23:24:35Z` for unix seconds (out-of-range values clamp).
pub fn iso(ts: i64) -> String {
    OffsetDateTime::from_unix_timestamp(ts)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// Parses the ISO text back to unix seconds.
pub fn parse_iso(s: &str) -> Option<i64> {
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

pub fn now_unix() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

#[cfg(test)]
mod tests {
    #[test]
    fn iso_round_trips() {
        assert_eq!(super::iso(1588634675), "2020-05-04T23:24:35Z");
        assert_eq!(super::parse_iso("2020-05-04T23:24:35Z"), Some(1588634675));
    }
}
