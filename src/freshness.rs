//! Whether a pipeline's data is fresh, for `huntr-sync status`: its last
//! run (failed or not; one that failed before it began a run is known
//! from `crate::outcome`), its last success (older than the allowed age or
//! not), and each resource's watermark and last complete listing. Read
//! with [`Store::open_read`]: nothing is migrated or written and no lock
//! is taken, so it answers while a sync runs.

use std::path::Path;

use serde::Serialize;

use crate::outcome::LastRun;
use crate::store::{ResourceState, RunRecord, Store, StoreError};

/// A pipeline's state, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The last run failed.
    Failed,
    /// No complete run ended within the allowed age.
    Stale,
    /// No sync has run yet.
    Never,
    Fresh,
}

impl Verdict {
    pub fn is_fresh(self) -> bool {
        self == Verdict::Fresh
    }

    /// What the verdict means, for a person.
    pub fn describe(self) -> &'static str {
        match self {
            Verdict::Failed => "the last run failed",
            Verdict::Stale => "no complete run within --max-age",
            Verdict::Never => "no sync has run yet",
            Verdict::Fresh => "fresh",
        }
    }
}

/// One resource with its ages, in seconds.
#[derive(Debug, Clone, Serialize)]
pub struct ResourceAge {
    #[serde(flatten)]
    pub state: ResourceState,
    pub watermark_age: Option<i64>,
    pub listing_age: Option<i64>,
}

/// A pipeline's freshness.
#[derive(Debug, Clone, Serialize)]
pub struct Freshness {
    pub pipeline: String,
    pub verdict: Verdict,
    pub last_run: Option<RunRecord>,
    /// The last sync or push, when it failed after `last_run` began
    /// (perhaps before it began a run of its own: see `crate::outcome`).
    pub last_attempt: Option<LastRun>,
    pub last_success: Option<RunRecord>,
    /// Seconds since the last success ended.
    pub success_age: Option<i64>,
    pub resources: Vec<ResourceAge>,
}

/// Reads the state database `db` (when there is one) and judges it at
/// `now`, allowing a last success `max_age` seconds old.
pub fn assess(pipeline: &str, db: &Path, now: i64, max_age: i64) -> Result<Freshness, StoreError> {
    let (last_run, last_success, states) = if db.exists() {
        let store = Store::open_read(db)?;
        let last = store.ended_runs(1)?.into_iter().next();
        (last, store.last_success()?, store.resource_states()?)
    } else {
        (None, None, Vec::new())
    };
    let last_attempt = crate::outcome::read(db).filter(|a| {
        a.status == "failed"
            && last_run
                .as_ref()
                .is_none_or(|r| Some(a.finished) > r.started)
    });
    let success_age = last_success
        .as_ref()
        .and_then(|r| r.finished)
        .map(|f| now - f);
    let failed = last_attempt.is_some() || last_run.as_ref().is_some_and(|r| r.status == "failed");
    let verdict = match (&last_run, success_age) {
        _ if failed => Verdict::Failed,
        (None, _) => Verdict::Never,
        (_, Some(age)) if age <= max_age => Verdict::Fresh,
        _ => Verdict::Stale,
    };
    let resources = states
        .into_iter()
        .map(|state| ResourceAge {
            watermark_age: state.watermark.map(|w| now - w),
            listing_age: state.listed_at.map(|l| now - l),
            state,
        })
        .collect();
    Ok(Freshness {
        pipeline: pipeline.to_owned(),
        verdict,
        last_run,
        last_attempt,
        last_success,
        success_age,
        resources,
    })
}

/// Parses an age: a number followed by `s`, `m`, `h` or `d` (`26h`,
/// `90m`, `2d`), or seconds alone; returns seconds.
pub fn parse_age(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let (digits, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: i64 = digits
        .parse()
        .map_err(|_| format!("`{s}` is not an age such as 26h, 90m, 2d or 3600"))?;
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        other => {
            return Err(format!(
                "`{other}` in `{s}` is not a unit: use s, m, h or d"
            ))
        }
    };
    n.checked_mul(unit)
        .filter(|&v| v > 0)
        .ok_or_else(|| format!("`{s}` is out of range: give a positive age such as 26h"))
}

/// How an age's units are written: compact for a terminal's columns
/// (`3d 4h`, `5h 12m`, `40s`), spelled out with spaces for the status page
/// (`3 d 4 h`, `2 h 10 min`, `3 min 5 s`).
#[derive(Clone, Copy)]
pub enum AgeStyle {
    Compact,
    Spaced,
}

/// An age for a person, in its two largest units, in either style.
pub fn age_in(secs: i64, style: AgeStyle) -> String {
    let s = secs.max(0);
    let (gap, min) = match style {
        AgeStyle::Compact => ("", "m"),
        AgeStyle::Spaced => (" ", "min"),
    };
    match s {
        0..=59 => format!("{s}{gap}s"),
        60..=3599 => format!("{}{gap}{min} {}{gap}s", s / 60, s % 60),
        3600..=86_399 => format!("{}{gap}h {}{gap}{min}", s / 3600, s % 3600 / 60),
        _ => format!("{}{gap}d {}{gap}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// An age for the terminal: `3d 4h`, `5h 12m`, `40s`.
pub fn show_age(secs: i64) -> String {
    age_in(secs, AgeStyle::Compact)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{RunEnd, RunStatus};

    #[test]
    fn ages_parse_with_their_units() {
        assert_eq!(parse_age("26h"), Ok(26 * 3600));
        assert_eq!(parse_age("90m"), Ok(5400));
        assert_eq!(parse_age("2d"), Ok(172_800));
        assert_eq!(parse_age("3600"), Ok(3600));
        for bad in ["", "h", "26x", "-3h", "0", "1.5h"] {
            assert!(parse_age(bad).is_err(), "{bad}");
        }
        assert_eq!(show_age(93_600), "1d 2h");
        assert_eq!(show_age(59), "59s");
        assert_eq!(show_age(185), "3m 5s");
        assert_eq!(show_age(7_800), "2h 10m");
    }

    #[test]
    fn fresh_failed_stale_and_never() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("s.db");
        assert_eq!(assess("p", &db, 0, 10).unwrap().verdict, Verdict::Never);
        let mut store = Store::open(&db).unwrap();
        let end = |finished, status| RunEnd {
            finished,
            window_end: None,
            status,
            requests: 1,
            retries: 0,
            throttled: 0,
            error: None,
        };
        let a = store.begin_run(1000, "members").unwrap();
        store
            .finish_run(a, &end(1010, RunStatus::Complete))
            .unwrap();
        let fresh = assess("p", &db, 1100, 100).unwrap();
        assert_eq!(
            (fresh.verdict, fresh.success_age),
            (Verdict::Fresh, Some(90))
        );
        assert_eq!(assess("p", &db, 1200, 100).unwrap().verdict, Verdict::Stale);
        let b = store.begin_run(1100, "members").unwrap();
        store.finish_run(b, &end(1110, RunStatus::Failed)).unwrap();
        assert_eq!(
            assess("p", &db, 1120, 100).unwrap().verdict,
            Verdict::Failed
        );
        let c = store.begin_run(1200, "members").unwrap();
        store
            .finish_run(c, &end(1210, RunStatus::Complete))
            .unwrap();
        assert_eq!(assess("p", &db, 1220, 100).unwrap().verdict, Verdict::Fresh);
        // A run that failed before it began one.
        let mut last = crate::outcome::LastRun {
            command: "sync".into(),
            status: "failed".into(),
            finished: 1300,
            exit_code: 1,
            error: Some("unreachable".into()),
        };
        crate::outcome::write(&db, &last);
        let f = assess("p", &db, 1310, 100).unwrap();
        assert_eq!(f.verdict, Verdict::Failed);
        assert_eq!(
            f.last_attempt.unwrap().error.as_deref(),
            Some("unreachable")
        );
        // An attempt older than the last run recorded is not the last.
        last.finished = 1150;
        crate::outcome::write(&db, &last);
        assert_eq!(assess("p", &db, 1220, 100).unwrap().verdict, Verdict::Fresh);
    }
}
