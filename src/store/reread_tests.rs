//! Jobs queued for a re-read by the changes actions name: what counts
//! as a read that covers a queued change, and how a claim is cleared.

use super::*;
use crate::rows::{Mode, Row, Val};
use crate::schema::tables::jobs;

fn dest() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let d = Store::open(&dir.path().join("t.db")).unwrap();
    (dir, d)
}

/// `SELECT` of one text value (NULL as None).
fn get(d: &Store, sql: &str) -> Option<String> {
    d.conn
        .query_row(sql, [], |r| {
            r.get::<_, rusqlite::types::Value>(0).map(|v| match v {
                rusqlite::types::Value::Null => None,
                rusqlite::types::Value::Integer(i) => Some(i.to_string()),
                rusqlite::types::Value::Text(s) => Some(s),
                other => Some(format!("{other:?}")),
            })
        })
        .unwrap()
}

/// Job `id` as listed at `at`.
fn job_read_at(id: &str, at: i64) -> Vec<Op> {
    let mut row = Row::new(jobs::TABLE, Mode::Full, at);
    row.set(jobs::ID, Val::Text(id.into()))
        .set(jobs::TITLE, Val::Text("Engineer".into()));
    vec![Op::Upsert(row)]
}

fn refresh(id: &str, date: i64) -> Op {
    Op::RefreshJob {
        job_id: id.into(),
        date,
    }
}

#[test]
fn a_read_covers_a_change_only_when_made_a_lookback_after_its_date() {
    let (_t, mut d) = dest();
    let lookback = 3600;
    // Both jobs were read after the change's date; only "old" a lookback
    // after it, when a late action had to be visible.
    let mut ops = job_read_at("recent", 10_000);
    ops.extend(job_read_at("old", 10_000 + lookback));
    ops.extend([refresh("recent", 9_900), refresh("old", 9_900)]);
    d.apply(&ops, 1, None).unwrap();
    assert_eq!(
        d.pending_jobs(lookback).unwrap(),
        vec!["recent".to_string()]
    );
    assert_eq!(
        d.pending_jobs(lookback).unwrap(),
        vec!["recent".to_string()]
    );
}

#[test]
fn a_reread_clears_its_claim_unless_the_job_was_queued_again_since() {
    let (_t, mut d) = dest();
    d.apply(&[refresh("j1", 100), refresh("j2", 100)], 1, None)
        .unwrap();
    let claimed = d.pending_jobs(3600).unwrap();
    assert_eq!(claimed, vec!["j1".to_string(), "j2".to_string()]);
    // While the run re-reads, a delivered action queues j2 again (even
    // with an older date): its change may postdate the re-read.
    d.apply(&[refresh("j2", 90)], 2, None).unwrap();
    let mut reread = job_read_at("j1", 200);
    reread.extend(job_read_at("j2", 200));
    d.apply(&reread, 1, None).unwrap();
    d.jobs_reread(&claimed).unwrap();
    assert_eq!(d.pending_jobs(3600).unwrap(), vec!["j2".to_string()]);
}

#[test]
fn a_sync_skips_queuing_a_job_queued_already_but_never_a_claimed_one() {
    let (_t, mut d) = dest();
    d.remember_queued_jobs();
    // The same job named by many actions: queued once, the latest date kept.
    d.apply(
        &[refresh("j1", 100), refresh("j1", 90), refresh("j1", 120)],
        1,
        None,
    )
    .unwrap();
    assert_eq!(
        get(&d, "SELECT changed FROM sync_pending_jobs"),
        Some("120".into())
    );
    let claimed = d.pending_jobs(3600).unwrap();
    assert_eq!(claimed, vec!["j1".to_string()]);
    // Queued again after the claim, with a date the memo had seen: the
    // claim is withdrawn, so the re-read leaves the entry for the next run.
    d.apply(&[refresh("j1", 100)], 1, None).unwrap();
    d.jobs_reread(&claimed).unwrap();
    assert_eq!(d.pending_jobs(3600).unwrap(), vec!["j1".to_string()]);
    // A rolled-back batch queued nothing: the memo forgets it.
    d.jobs_reread(&["j1".to_string()]).unwrap();
    assert_eq!(
        get(&d, "SELECT COUNT(*) FROM sync_pending_jobs"),
        Some("0".into())
    );
    let bad = Op::Delete {
        table: jobs::TABLE,
        id: "j9".into(),
        at: 0,
    };
    d.conn
        .execute_batch(
            "CREATE TRIGGER boom BEFORE INSERT ON jobs BEGIN SELECT RAISE(ABORT, 'boom'); END",
        )
        .unwrap();
    assert!(d.apply(&[refresh("j2", 100), bad], 1, None).is_err());
    d.apply(&[refresh("j2", 100)], 1, None).unwrap();
    assert_eq!(d.pending_jobs(3600).unwrap(), vec!["j2".to_string()]);
}
