//! Time helpers: unix seconds (the API's form) to the ISO-8601 UTC text
//! the tables store, and back.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// `2020-05-04T23:24:35Z` for unix seconds (out-of-range values clamp).
pub fn iso(ts: i64) -> String {
    iso_into(ts, &mut [0; 20]).to_owned()
}

/// [`iso`] written into `buf` instead of a new `String`, for the loader's
/// hot path (every timestamp cell of every row). Empty for a year that
/// RFC 3339 cannot show.
pub fn iso_into(ts: i64, buf: &mut [u8; 20]) -> &str {
    let t = OffsetDateTime::from_unix_timestamp(ts).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let mut out: &mut [u8] = &mut buf[..];
    match t.format_into(&mut out, &Rfc3339) {
        Ok(20) => std::str::from_utf8(buf).unwrap_or_default(),
        _ => "",
    }
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

    #[test]
    fn iso_into_renders_what_a_formatted_string_would() {
        use time::format_description::well_known::Rfc3339;
        use time::OffsetDateTime;
        let formatted = |ts: i64| {
            OffsetDateTime::from_unix_timestamp(ts)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH)
                .format(&Rfc3339)
                .unwrap_or_default()
        };
        let mut probes = vec![
            0,
            -1,
            951_782_400,
            4_102_444_799,
            -62_167_219_200,
            -62_167_219_201,
            253_402_300_799,
            253_402_300_800,
            i64::MIN,
            i64::MAX,
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            probes.push((x % 600_000_000_000) as i64 - 300_000_000_000);
        }
        let mut buf = [0; 20];
        for ts in probes {
            assert_eq!(super::iso_into(ts, &mut buf), formatted(ts), "{ts}");
        }
    }
}
