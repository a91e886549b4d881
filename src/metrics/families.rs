//! What the metrics say: the families built from one run's facts (a sync
//! or a push, from its report or its `sync_runs` row) and from what the
//! state database shows (the last success, rows per table, each
//! resource's watermark and listing). Every sample is labelled by
//! pipeline; the names are documented in README "Monitoring".

use std::collections::BTreeMap;

use super::encode::Family;
use crate::store::{ResourceState, RunRecord, Store, StoreError, TableCounts};

/// The statuses `huntr_sync_last_run_status` has a sample for.
pub const STATUSES: [&str; 3] = ["complete", "partial", "failed"];

/// A push's rows by outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushCounts {
    /// What was pushed (`invitations`, `field-values`, `fields`).
    pub kind: String,
    pub sent: u64,
    pub skipped: u64,
    pub invalid: u64,
    pub failed: u64,
}

/// One run, as the metrics describe it.
#[derive(Debug, Clone, Default)]
pub struct RunFacts {
    /// `sync` or `push`.
    pub command: String,
    /// `complete`, `partial` or `failed`.
    pub status: String,
    /// Unix seconds.
    pub started: i64,
    pub finished: i64,
    pub seconds: f64,
    pub requests: u64,
    pub retries: u64,
    /// Answers 429 (none when not known: a run read back from the store).
    pub throttled: Option<u64>,
    /// Rows the run changed, per table.
    pub tables: BTreeMap<String, TableCounts>,
    pub push: Option<PushCounts>,
}

impl RunFacts {
    /// A run as its `sync_runs` row recorded it.
    pub fn from_record(r: &RunRecord) -> RunFacts {
        let command = if r.resources.starts_with("push") {
            "push"
        } else {
            "sync"
        };
        RunFacts {
            command: command.into(),
            status: r.status.clone(),
            started: r.started.unwrap_or(0),
            finished: r.finished.or(r.started).unwrap_or(0),
            seconds: r.seconds().unwrap_or(0) as f64,
            requests: r.requests.unwrap_or(0),
            retries: r.retries.unwrap_or(0),
            throttled: r.throttled,
            tables: r.tables.clone(),
            push: None,
        }
    }
}

/// What the state database shows.
#[derive(Debug, Clone, Default)]
pub struct StoreFacts {
    /// When the newest complete run ended (unix seconds).
    pub last_success: Option<i64>,
    /// Rows per table now.
    pub rows: Vec<(String, i64)>,
    pub resources: Vec<ResourceState>,
}

impl StoreFacts {
    pub fn read(store: &Store) -> Result<StoreFacts, StoreError> {
        Ok(StoreFacts {
            last_success: store.last_success()?.and_then(|r| r.finished),
            rows: store.row_counts()?,
            resources: store.resource_states()?,
        })
    }
}

/// Every family for `pipeline` at `now`: the run's (when there is one)
/// and the store's.
pub fn families(
    pipeline: &str,
    now: i64,
    run: Option<&RunFacts>,
    store: &StoreFacts,
) -> Vec<Family> {
    let mut out = run.map(|r| run_families(pipeline, r)).unwrap_or_default();
    out.extend(store_families(pipeline, now, store));
    out
}

fn run_families(pipeline: &str, r: &RunFacts) -> Vec<Family> {
    let p = ("pipeline", pipeline);
    let at = [p, ("command", r.command.as_str())];
    let g = |name, help, v: f64| Family::gauge(name, help).with(&at, v);
    let mut status = Family::gauge(
        "huntr_sync_last_run_status",
        "How the last run ended: 1 for its status, 0 for the others.",
    );
    for s in STATUSES {
        let labels = [at[0], at[1], ("status", s)];
        status.add(&labels, f64::from(u8::from(r.status == s)));
    }
    let mut out = vec![
        g(
            "huntr_sync_last_run_timestamp_seconds",
            "When the last run ended, in unix seconds.",
            r.finished as f64,
        ),
        g(
            "huntr_sync_last_run_start_timestamp_seconds",
            "When the last run began, in unix seconds.",
            r.started as f64,
        ),
        g(
            "huntr_sync_last_run_duration_seconds",
            "How long the last run took.",
            r.seconds,
        ),
        status,
        g(
            "huntr_sync_last_run_requests",
            "Requests the last run sent to the API.",
            r.requests as f64,
        ),
        g(
            "huntr_sync_last_run_retries",
            "Requests the last run sent again after a failed attempt.",
            r.retries as f64,
        ),
    ];
    if let Some(t) = r.throttled {
        out.push(g(
            "huntr_sync_last_run_throttled",
            "Answers 429 (rate limited) the last run received.",
            t as f64,
        ));
    }
    out.push(changes(pipeline, &r.tables));
    if let Some(push) = &r.push {
        out.push(push_rows(pipeline, push));
    }
    out
}

/// Rows the run changed, by table and kind of change.
fn changes(pipeline: &str, tables: &BTreeMap<String, TableCounts>) -> Family {
    let mut f = Family::gauge(
        "huntr_sync_last_run_rows",
        "Rows the last run inserted, updated, marked deleted or marked removed, by table.",
    );
    for (table, c) in tables {
        for (change, n) in [
            ("inserted", c.inserted),
            ("updated", c.updated),
            ("deleted", c.deleted),
            ("removed", c.removed),
        ] {
            let labels = [("pipeline", pipeline), ("table", table), ("change", change)];
            f.add(&labels, n as f64);
        }
    }
    f
}

fn push_rows(pipeline: &str, c: &PushCounts) -> Family {
    let mut f = Family::gauge(
        "huntr_sync_last_push_rows",
        "Rows of the last push's input, by outcome.",
    );
    for (outcome, n) in [
        ("sent", c.sent),
        ("skipped", c.skipped),
        ("invalid", c.invalid),
        ("failed", c.failed),
    ] {
        let labels = [
            ("pipeline", pipeline),
            ("kind", &c.kind),
            ("outcome", outcome),
        ];
        f.add(&labels, n as f64);
    }
    f
}

fn store_families(pipeline: &str, now: i64, s: &StoreFacts) -> Vec<Family> {
    let p = ("pipeline", pipeline);
    let mut success = Family::gauge(
        "huntr_sync_last_success_timestamp_seconds",
        "When the last complete run ended, in unix seconds.",
    );
    if let Some(at) = s.last_success {
        success.add(&[p], at as f64);
    }
    let mut rows = Family::gauge("huntr_sync_table_rows", "Rows each table holds now.");
    for (table, n) in &s.rows {
        rows.add(&[p, ("table", table)], *n as f64);
    }
    let mut watermark = Family::gauge(
        "huntr_sync_watermark_age_seconds",
        "Seconds since each windowed resource's watermark: everything created before it is loaded.",
    );
    let mut listing = Family::gauge(
        "huntr_sync_listing_age_seconds",
        "Seconds since each listed resource was last listed completely.",
    );
    for r in &s.resources {
        let labels = [p, ("resource", r.resource.as_str())];
        if let Some(w) = r.watermark {
            watermark.add(&labels, (now - w) as f64);
        }
        if let Some(at) = r.listed_at {
            listing.add(&labels, (now - at) as f64);
        }
    }
    vec![success, rows, watermark, listing]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::encode::render;

    #[test]
    fn a_run_and_its_store_make_every_family() {
        let mut tables = BTreeMap::new();
        tables.insert(
            "jobs".to_owned(),
            TableCounts {
                inserted: 4,
                updated: 2,
                deleted: 1,
                removed: 0,
            },
        );
        let run = RunFacts {
            command: "push".into(),
            status: "partial".into(),
            started: 100,
            finished: 160,
            seconds: 60.5,
            requests: 9,
            retries: 2,
            throttled: Some(1),
            tables,
            push: Some(PushCounts {
                kind: "invitations".into(),
                sent: 3,
                skipped: 1,
                invalid: 0,
                failed: 2,
            }),
        };
        let store = StoreFacts {
            last_success: Some(50),
            rows: vec![("jobs".into(), 12)],
            resources: vec![ResourceState {
                resource: "actions".into(),
                watermark: Some(900),
                listed_at: None,
            }],
        };
        let text = render(&families("night", 1000, Some(&run), &store));
        for line in [
            "huntr_sync_last_run_timestamp_seconds{pipeline=\"night\",command=\"push\"} 160",
            "huntr_sync_last_run_duration_seconds{pipeline=\"night\",command=\"push\"} 60.5",
            "huntr_sync_last_run_status{pipeline=\"night\",command=\"push\",status=\"partial\"} 1",
            "huntr_sync_last_run_status{pipeline=\"night\",command=\"push\",status=\"failed\"} 0",
            "huntr_sync_last_run_throttled{pipeline=\"night\",command=\"push\"} 1",
            "huntr_sync_last_run_rows{pipeline=\"night\",table=\"jobs\",change=\"deleted\"} 1",
            "huntr_sync_last_push_rows{pipeline=\"night\",kind=\"invitations\",outcome=\"failed\"} 2",
            "huntr_sync_last_success_timestamp_seconds{pipeline=\"night\"} 50",
            "huntr_sync_table_rows{pipeline=\"night\",table=\"jobs\"} 12",
            "huntr_sync_watermark_age_seconds{pipeline=\"night\",resource=\"actions\"} 100",
        ] {
            assert!(text.contains(&format!("{line}\n")), "{line}\n{text}");
        }
        assert_eq!(text.matches("# TYPE huntr_sync_last_run_rows ").count(), 1);
        // No listing was ever complete: the family is left out.
        assert!(!text.contains("listing_age"));
    }
}
