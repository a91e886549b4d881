//! The order rules of change capture, applied by the store: dated activity
//! updates ordered by `(date, action id)` whatever order they arrive in,
//! and what counts as a read that covers a queued job change.

use serde_json::{json, Value};

use super::*;
use crate::flatten::flatten;

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

/// An ACTIVITY_UPDATED action `id` dated `date` that leaves activity a1
/// `completed` (its snapshot as of the action), on job j1.
fn updated(id: &str, date: i64, completed: bool) -> Value {
    json!({
        "id": id,
        "actionType": "ACTIVITY_UPDATED",
        "date": date,
        "createdAt": date,
        "jobId": "j1",
        "activityId": "a1",
        "activity": {"id": "a1", "title": "Apply", "completed": completed, "completedAt": 900},
        "update": {"completed": completed},
    })
}

/// The ops of one action as the sync or the receiver would write it.
fn action_ops(v: &Value) -> Vec<Op> {
    let mut ops = Vec::new();
    flatten(Resource::Actions, v, 5_000, &mut ops);
    ops
}

const DONE: &str = "000003e80000000000000001";
const REOPENED: &str = "000003e80000000000000002";

#[test]
fn updates_of_one_second_apply_in_action_id_order_whatever_arrives_first() {
    let (done, reopened) = (updated(DONE, 1000, true), updated(REOPENED, 1000, false));
    for (order, run) in [([&done, &reopened], 1), ([&reopened, &done], 2)] {
        let (_t, mut d) = dest();
        for a in order {
            d.apply(&action_ops(a), run, None).unwrap();
        }
        assert_eq!(
            get(
                &d,
                "SELECT completed || ' ' || _as_of || ' ' || _as_of_id FROM activities"
            ),
            Some(format!("0 1000 {REOPENED}")),
            "arrival order {run}"
        );
        // A later delivery of the older update, in another session or run,
        // still loses: the key is kept with the row.
        d.apply(&action_ops(&done), run + 10, None).unwrap();
        assert_eq!(
            get(&d, "SELECT completed FROM activities"),
            Some("0".into())
        );
        // The newest again changes nothing.
        d.apply(&action_ops(&reopened), run + 20, None).unwrap();
        assert_eq!(
            get(&d, "SELECT completed FROM activities"),
            Some("0".into())
        );
    }
}

#[test]
fn a_listing_keeps_no_action_id_and_loses_only_a_tie_of_dates() {
    let (_t, mut d) = dest();
    let listed = |completed: bool, at: i64| {
        let mut ops = Vec::new();
        let v = json!({"id": "a1", "title": "Apply", "completed": completed});
        flatten(Resource::Activities, &v, at, &mut ops);
        ops
    };
    d.apply(&listed(false, 1000), 1, None).unwrap();
    // An update of an earlier second loses to the listing...
    d.apply(&action_ops(&updated(DONE, 999, true)), 1, None)
        .unwrap();
    assert_eq!(
        get(&d, "SELECT completed FROM activities"),
        Some("0".into())
    );
    // ...one of the listing's second wins, as before ids were kept...
    d.apply(&action_ops(&updated(DONE, 1000, true)), 1, None)
        .unwrap();
    assert_eq!(
        get(&d, "SELECT completed || ' ' || _as_of_id FROM activities"),
        Some(format!("1 {DONE}"))
    );
    // ...and a listing at least as new wins and clears the id.
    d.apply(&listed(false, 1000), 2, None).unwrap();
    assert_eq!(
        get(
            &d,
            "SELECT completed || ' ' || COALESCE(_as_of_id, 'none') FROM activities"
        ),
        Some("0 none".into())
    );
}

#[test]
fn a_row_from_before_the_order_key_behaves_as_a_row_without_an_id() {
    let (_t, mut d) = dest();
    d.apply(&action_ops(&updated(DONE, 1000, true)), 1, None)
        .unwrap();
    // What a file written before `_as_of_id` existed holds after upgrade.
    d.conn
        .execute_batch("UPDATE activities SET _as_of_id = NULL")
        .unwrap();
    d.apply(&action_ops(&updated(REOPENED, 999, false)), 2, None)
        .unwrap();
    assert_eq!(
        get(&d, "SELECT completed FROM activities"),
        Some("1".into())
    );
    d.apply(&action_ops(&updated(REOPENED, 1000, false)), 2, None)
        .unwrap();
    assert_eq!(
        get(&d, "SELECT completed FROM activities"),
        Some("0".into())
    );
}

fn job_read_at(id: &str, at: i64) -> Vec<Op> {
    let mut ops = Vec::new();
    flatten(
        Resource::Jobs,
        &json!({"id": id, "title": "Engineer"}),
        at,
        &mut ops,
    );
    ops
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
fn an_action_read_again_by_a_later_run_queues_nothing() {
    let (_t, mut d) = dest();
    let moved = json!({"id": "000003e80000000000000009", "actionType": "JOB_MOVED",
        "date": 1000, "createdAt": 1000, "jobId": "j1"});
    d.apply(&action_ops(&moved), 1, None).unwrap();
    assert_eq!(d.pending_jobs(3600).unwrap(), vec!["j1".to_string()]);
    d.apply(&job_read_at("j1", 1200), 1, None).unwrap();
    d.jobs_reread(&["j1".to_string()]).unwrap();
    // The next run's window overlaps: the same action is read again.
    d.apply(&action_ops(&moved), 2, None).unwrap();
    assert!(d.pending_jobs(3600).unwrap().is_empty());
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
        table: crate::schema::tables::jobs::TABLE,
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
