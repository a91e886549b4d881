//! Flattened JSON applied by the store: the rules that only show with both
//! layers, the transformer's rows and the loader's merge. A member's field
//! values are replaced with it unless its listing is older (`_children`);
//! dated activity updates from ACTIVITY_UPDATED actions apply in `(date,
//! action id)` order whatever order they arrive in; an action read again
//! queues nothing; a candidate is read one by one when new or viewed.

use serde_json::{json, Value};

use huntr_sync::flatten::{candidate_profile, flatten};
use huntr_sync::resources::Resource;
use huntr_sync::rows::Op;
use huntr_sync::store::Store;

fn dest() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let d = Store::open(&dir.path().join("t.db")).unwrap();
    (dir, d)
}

/// `SELECT` of one value as text (NULL as None), on a connection of its
/// own to the store's file.
fn get(d: &Store, sql: &str) -> Option<String> {
    use rusqlite::types::Value as V;
    let conn = rusqlite::Connection::open(d.path()).unwrap();
    conn.query_row(sql, [], |r| {
        r.get::<_, V>(0).map(|v| match v {
            V::Null => None,
            V::Integer(i) => Some(i.to_string()),
            V::Text(s) => Some(s),
            other => Some(format!("{other:?}")),
        })
    })
    .unwrap()
}

/// `v` as read from `resource`'s own endpoint at `as_of`.
fn flat(resource: Resource, v: &Value, as_of: i64) -> Vec<Op> {
    let mut ops = Vec::new();
    flatten(resource, v, as_of, &mut ops);
    ops
}

#[test]
fn children_are_replaced_with_their_parent_unless_it_is_stale() {
    let (_t, mut d) = dest();
    let member = |values: Value, as_of| {
        flat(
            Resource::Members,
            &json!({"id": "m1", "memberFieldValues": values}),
            as_of,
        )
    };
    let values = json!([{"fieldId": "f1", "value": "a"}, {"fieldId": "f2", "value": "b"}]);
    d.apply(&member(values, 10), 1, None).unwrap();
    let values = json!([{"fieldId": "f2", "value": "c"}]);
    d.apply(&member(values, 20), 1, None).unwrap();
    let field_values = "SELECT group_concat(field_id || '=' || value) FROM member_field_values";
    assert_eq!(get(&d, field_values), Some("f2=c".into()));
    d.apply(&member(json!([]), 15), 1, None).unwrap();
    assert_eq!(
        get(&d, field_values),
        Some("f2=c".into()),
        "older listing ignored"
    );
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
    flat(Resource::Actions, v, 5_000)
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
        let v = json!({"id": "a1", "title": "Apply", "completed": completed});
        flat(Resource::Activities, &v, at)
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
    rusqlite::Connection::open(d.path())
        .unwrap()
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

#[test]
fn an_action_read_again_by_a_later_run_queues_nothing() {
    let (_t, mut d) = dest();
    let moved = json!({"id": "000003e80000000000000009", "actionType": "JOB_MOVED",
        "date": 1000, "createdAt": 1000, "jobId": "j1"});
    d.apply(&action_ops(&moved), 1, None).unwrap();
    assert_eq!(d.pending_jobs(3600).unwrap(), vec!["j1".to_string()]);
    let read = flat(
        Resource::Jobs,
        &json!({"id": "j1", "title": "Engineer"}),
        1200,
    );
    d.apply(&read, 1, None).unwrap();
    d.jobs_reread(&["j1".to_string()]).unwrap();
    // The next run's window overlaps: the same action is read again.
    d.apply(&action_ops(&moved), 2, None).unwrap();
    assert!(d.pending_jobs(3600).unwrap().is_empty());
}

fn ops(f: impl FnOnce(&mut Vec<Op>)) -> Vec<Op> {
    let mut out = Vec::new();
    f(&mut out);
    out
}

#[test]
fn new_and_viewed_candidates_are_read_the_others_not() {
    let (_t, mut d) = dest();
    let listed = ops(|o| {
        for id in ["c1", "c2"] {
            flatten(Resource::Candidates, &json!({"id": id}), 100, o);
        }
    });
    d.apply(&listed, 1, None).unwrap();
    assert_eq!(d.candidates_to_read(false).unwrap(), ["c1", "c2"]);
    let read = ops(|o| {
        for id in ["c1", "c2"] {
            candidate_profile(&json!({"id": id, "headline": "h"}), 100, o);
        }
    });
    d.apply(&read, 1, None).unwrap();
    assert!(d.candidates_to_read(false).unwrap().is_empty());
    assert_eq!(d.candidates_to_read(true).unwrap(), ["c1", "c2"]);
    // A view dated after the read (and one before it, of c1).
    let views = ops(|o| {
        for (id, c, date) in [("a1", "c2", 150), ("a2", "c1", 50)] {
            let a = json!({"id": id, "actionType": "CANDIDATE_PROFILE_VIEWED",
                           "date": date, "candidate": {"id": c}});
            flatten(Resource::Actions, &a, 200, o);
        }
    });
    d.apply(&views, 2, None).unwrap();
    assert_eq!(d.candidates_to_read(false).unwrap(), ["c2"]);
    let reread = ops(|o| candidate_profile(&json!({"id": "c2"}), 200, o));
    d.apply(&reread, 2, None).unwrap();
    assert!(d.candidates_to_read(false).unwrap().is_empty());
}
