//! The merge rules of SCHEMA.md, applied by the store.

use rusqlite::types::Value as SqlValue;

use super::*;
use crate::rows::{Mode, Row, Val};

fn dest() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let d = Store::open(&dir.path().join("t.db")).unwrap();
    (dir, d)
}

/// A row of `table` whose named columns hold `cells` (the others NULL).
fn upsert<const N: usize>(table: &str, cells: [(&str, Val); N], mode: Mode, as_of: i64) -> Op {
    let id = SCHEMA.id(table);
    let columns = SCHEMA.table(id);
    let mut row = Row::new(id, mode, as_of);
    for (name, v) in cells {
        row.vals[columns.col(name)] = v;
    }
    Op::Upsert(row)
}

fn t(s: &str) -> Val {
    Val::Text(s.into())
}

/// The first column of the first row, as text whatever its type.
fn one(d: &Store, sql: &str) -> Option<String> {
    let v: SqlValue = d.conn.query_row(sql, [], |r| r.get(0)).unwrap();
    match v {
        SqlValue::Null => None,
        SqlValue::Integer(i) => Some(i.to_string()),
        SqlValue::Real(f) => Some(f.to_string()),
        SqlValue::Text(s) => Some(s),
        SqlValue::Blob(_) => Some("<blob>".into()),
    }
}

#[test]
fn partial_snapshots_fill_but_never_overwrite_or_blank() {
    let (_t, mut d) = dest();
    let partial = upsert(
        "employers",
        [
            ("id", t("e1")),
            ("name", t("Old name")),
            ("domain", t("old.com")),
        ],
        Mode::Partial,
        0,
    );
    d.apply(&[partial], 1, None).unwrap();
    assert_eq!(
        one(&d, "SELECT name FROM employers"),
        Some("Old name".into())
    );
    // A newer snapshot wins over an older snapshot...
    let partial2 = upsert(
        "employers",
        [("id", t("e1")), ("name", t("Snap name"))],
        Mode::Partial,
        0,
    );
    d.apply(&[partial2], 1, None).unwrap();
    assert_eq!(
        one(&d, "SELECT name FROM employers"),
        Some("Snap name".into())
    );
    assert_eq!(
        one(&d, "SELECT domain FROM employers"),
        Some("old.com".into()),
        "never blanked"
    );
    // ...the own endpoint overwrites every column...
    let full = upsert(
        "employers",
        [
            ("id", t("e1")),
            ("name", t("Real")),
            ("job_count", Val::Int(4)),
        ],
        Mode::Full,
        10,
    );
    d.apply(&[full], 1, None).unwrap();
    assert_eq!(
        one(&d, "SELECT name || '/' || job_count FROM employers"),
        Some("Real/4".into())
    );
    assert_eq!(
        one(&d, "SELECT domain FROM employers"),
        None,
        "a field the record omits is NULL"
    );
    // ...and a later snapshot only fills what is still NULL.
    let late = upsert(
        "employers",
        [
            ("id", t("e1")),
            ("name", t("No Name")),
            ("domain", t("real.com")),
        ],
        Mode::Partial,
        0,
    );
    d.apply(&[late], 1, None).unwrap();
    assert_eq!(
        one(&d, "SELECT name || '/' || domain FROM employers"),
        Some("Real/real.com".into())
    );
}

#[test]
fn dated_updates_win_over_older_data_only() {
    let (_t, mut d) = dest();
    let listed = upsert(
        "activities",
        [
            ("id", t("a1")),
            ("title", t("Apply")),
            ("completed", Val::Bool(false)),
        ],
        Mode::Full,
        100,
    );
    d.apply(&[listed], 1, None).unwrap();
    let older = upsert(
        "activities",
        [("id", t("a1")), ("completed", Val::Bool(true))],
        Mode::Update,
        50,
    );
    d.apply(&[older], 1, None).unwrap();
    assert_eq!(
        one(&d, "SELECT completed FROM activities"),
        Some("0".into()),
        "listing read after the change wins"
    );
    let newer = upsert(
        "activities",
        [
            ("id", t("a1")),
            ("completed", Val::Bool(true)),
            ("completed_at", Val::Ts(150)),
        ],
        Mode::Update,
        150,
    );
    d.apply(&[newer], 1, None).unwrap();
    assert_eq!(
        one(
            &d,
            "SELECT completed || ' ' || completed_at || ' ' || title FROM activities"
        ),
        Some("1 1970-01-01T00:02:30Z Apply".into())
    );
    // A full listing older than the stored data is ignored.
    let stale = upsert(
        "activities",
        [("id", t("a1")), ("title", t("Old"))],
        Mode::Full,
        120,
    );
    d.apply(&[stale], 1, None).unwrap();
    assert_eq!(
        one(&d, "SELECT title FROM activities"),
        Some("Apply".into())
    );
}

#[test]
fn a_whole_update_clears_the_fields_it_lacks_when_newer_only() {
    let (_t, mut d) = dest();
    let listed = upsert(
        "activities",
        [
            ("id", t("a1")),
            ("title", t("Apply")),
            ("note", t("Sent")),
            ("completed", Val::Bool(true)),
            ("completed_at", Val::Ts(90)),
            ("job_id", t("j1")),
        ],
        Mode::Full,
        100,
    );
    d.apply(&[listed], 1, None).unwrap();
    let shown = |d: &Store| {
        one(
            d,
            "SELECT completed || ' ' || COALESCE(completed_at, '-') || ' ' || \
             COALESCE(note, '-') || ' ' || title || ' ' || job_id FROM activities",
        )
    };
    // Reopened, its note emptied: the action carries neither field.
    let reopened = |at| {
        upsert(
            "activities",
            [
                ("id", t("a1")),
                ("title", t("Apply")),
                ("completed", Val::Bool(false)),
            ],
            Mode::Whole,
            at,
        )
    };
    d.apply(&[reopened(50)], 1, None).unwrap();
    assert_eq!(
        shown(&d),
        Some("1 1970-01-01T00:01:30Z Sent Apply j1".into()),
        "an older update clears nothing"
    );
    d.apply(&[reopened(150)], 1, None).unwrap();
    assert_eq!(
        shown(&d),
        Some("0 - - Apply j1".into()),
        "a newer one clears what it lacks; the job (a nested object) stays"
    );
    // A plain update (a member's, say) never clears.
    let partial_fields = upsert(
        "activities",
        [("id", t("a1")), ("note", t("Again"))],
        Mode::Update,
        160,
    );
    d.apply(&[partial_fields], 1, None).unwrap();
    assert_eq!(shown(&d), Some("0 - Again Apply j1".into()));
}

#[test]
fn deletions_keep_the_row_and_survive_relisting() {
    let (_t, mut d) = dest();
    let jobs = SCHEMA.id("jobs");
    let job = upsert(
        "jobs",
        [("id", t("j1")), ("title", t("Dev"))],
        Mode::Full,
        10,
    );
    d.apply(
        &[
            job.clone(),
            Op::Delete {
                table: jobs,
                id: "j1".into(),
                at: 20,
            },
        ],
        1,
        None,
    )
    .unwrap();
    d.apply(&[job], 1, None).unwrap();
    assert_eq!(
        one(&d, "SELECT title || ' ' || deleted_at FROM jobs"),
        Some("Dev 1970-01-01T00:00:20Z".into())
    );
    // A deletion of a row never loaded leaves a tombstone.
    d.apply(
        &[Op::Delete {
            table: jobs,
            id: "j2".into(),
            at: 30,
        }],
        1,
        None,
    )
    .unwrap();
    assert_eq!(
        one(&d, "SELECT deleted_at FROM jobs WHERE id = 'j2'"),
        Some("1970-01-01T00:00:30Z".into())
    );
}

#[test]
fn mirror_marks_unlisted_rows_and_relisting_clears_them() {
    let (_t, mut d) = dest();
    let inv = |id: &str, run: i64, d: &mut Store| {
        d.apply(
            &[upsert(
                "organization_invitations",
                [("id", t(id))],
                Mode::Full,
                run,
            )],
            run,
            None,
        )
        .unwrap();
    };
    inv("i1", 1, &mut d);
    inv("i2", 1, &mut d);
    d.mirror(
        &[crate::resources::Resource::OrganizationInvitations],
        1,
        100,
    )
    .unwrap();
    assert_eq!(
        one(
            &d,
            "SELECT COUNT(*) FROM organization_invitations WHERE removed_at IS NULL"
        ),
        Some("2".into())
    );
    inv("i2", 2, &mut d);
    // A snapshot-only row (accepted before any listing saw it) is not pending.
    d.apply(
        &[upsert(
            "organization_invitations",
            [("id", t("i3"))],
            Mode::Partial,
            0,
        )],
        2,
        None,
    )
    .unwrap();
    d.mirror(
        &[crate::resources::Resource::OrganizationInvitations],
        2,
        200,
    )
    .unwrap();
    let pending: Vec<String> = d
        .conn
        .prepare("SELECT id FROM organization_invitations WHERE removed_at IS NULL")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(pending, vec!["i2".to_string()]);
    inv("i1", 3, &mut d);
    assert_eq!(
        one(
            &d,
            "SELECT removed_at FROM organization_invitations WHERE id = 'i1'"
        ),
        None
    );
}

#[test]
fn watermark_commits_with_its_batch() {
    let (_t, mut d) = dest();
    let r = crate::resources::Resource::Jobs;
    let state = StateUpdate::Watermark {
        resource: r,
        value: 500,
    };
    d.apply(
        &[upsert("jobs", [("id", t("j1"))], Mode::Full, 500)],
        1,
        Some(&state),
    )
    .unwrap();
    assert_eq!(d.watermark(r).unwrap(), Some(500));
    // A batch that fails leaves neither rows nor watermark.
    let bad_state = StateUpdate::Watermark {
        resource: r,
        value: 900,
    };
    d.conn.execute_batch("CREATE TRIGGER boom BEFORE INSERT ON jobs WHEN NEW.id = 'j2' BEGIN SELECT RAISE(ABORT, 'boom'); END").unwrap();
    let err = d.apply(
        &[upsert("jobs", [("id", t("j2"))], Mode::Full, 900)],
        1,
        Some(&bad_state),
    );
    assert!(err.is_err());
    assert_eq!(d.watermark(r).unwrap(), Some(500));
}

#[test]
fn pending_jobs_skip_those_read_after_the_change() {
    let (_t, mut d) = dest();
    let ops = vec![
        upsert("jobs", [("id", t("fresh"))], Mode::Full, 100),
        upsert("jobs", [("id", t("stale"))], Mode::Full, 40),
        Op::RefreshJob {
            job_id: "fresh".into(),
            date: 50,
        },
        Op::RefreshJob {
            job_id: "stale".into(),
            date: 50,
        },
        Op::RefreshJob {
            job_id: "unknown".into(),
            date: 50,
        },
    ];
    d.apply(&ops, 1, None).unwrap();
    assert_eq!(
        d.pending_jobs(0).unwrap(),
        vec!["stale".to_string(), "unknown".to_string()]
    );
    d.apply(
        &[upsert("jobs", [("id", t("stale"))], Mode::Full, 100)],
        1,
        None,
    )
    .unwrap();
    assert_eq!(d.pending_jobs(0).unwrap(), vec!["unknown".to_string()]);
}

#[test]
fn pending_jobs_are_sorted_out_across_many_chunks() {
    let (_t, mut d) = dest();
    let mut ops = Vec::new();
    for i in 0..4500 {
        let id = format!("j{i:05}");
        // Every third job was read after its change.
        let read_at = if i % 3 == 0 { 100 } else { 40 };
        ops.push(upsert("jobs", [("id", t(&id))], Mode::Full, read_at));
        ops.push(Op::RefreshJob {
            job_id: id,
            date: 50,
        });
    }
    d.apply(&ops, 1, None).unwrap();
    let pending = d.pending_jobs(0).unwrap();
    assert_eq!(pending.len(), 3000);
    assert!(pending.windows(2).all(|w| w[0] < w[1]));
    assert!(pending
        .iter()
        .all(|id| id[1..].parse::<u32>().unwrap() % 3 != 0));
    assert_eq!(
        one(&d, "SELECT COUNT(*) FROM sync_pending_jobs"),
        Some("3000".into())
    );
}

#[test]
fn a_snapshot_that_changes_nothing_leaves_the_row_untouched() {
    let (_t, mut d) = dest();
    let full = upsert(
        "employers",
        [
            ("id", t("e1")),
            ("name", t("Acme")),
            ("domain", t("acme.com")),
        ],
        Mode::Full,
        100,
    );
    d.apply(&[full], 1, None).unwrap();
    let before = d.conn.total_changes();
    // Different from anything cached, equal to what is stored: SQLite must
    // not rewrite the row (nor dirty its page).
    let same = upsert(
        "employers",
        [("id", t("e1")), ("name", t("Acme"))],
        Mode::Partial,
        0,
    );
    d.apply(&[same], 2, None).unwrap();
    assert_eq!(d.conn.total_changes(), before, "no row rewritten");
    let fills = upsert(
        "employers",
        [
            ("id", t("e1")),
            ("name", t("Acme")),
            ("founded_year", Val::Int(1999)),
        ],
        Mode::Partial,
        0,
    );
    d.apply(&[fills], 3, None).unwrap();
    assert_eq!(d.conn.total_changes(), before + 1, "a NULL was filled");
    assert_eq!(one(&d, "SELECT _upd_run FROM employers"), Some("3".into()));
}

#[test]
fn checkpoints_are_spaced_for_bulk_loads() {
    let (dir, d) = dest();
    assert_eq!(one(&d, "PRAGMA wal_autocheckpoint"), Some("2560".into()));
    assert_eq!(one(&d, "PRAGMA page_size"), Some("16384".into()));
    // A file made with 4 KiB pages keeps them, and its checkpoints come
    // after as many bytes of WAL.
    let old = dir.path().join("old.db");
    rusqlite::Connection::open(&old)
        .unwrap()
        .execute_batch("PRAGMA page_size = 4096; CREATE TABLE x (a);")
        .unwrap();
    let d = Store::open(&old).unwrap();
    assert_eq!(one(&d, "PRAGMA page_size"), Some("4096".into()));
    assert_eq!(one(&d, "PRAGMA wal_autocheckpoint"), Some("10240".into()));
}

#[test]
fn changed_tables_are_recorded_with_the_change_and_only_they_are_counted() {
    let (_t, mut d) = dest();
    let last = |d: &Store, t: &str| {
        one(
            d,
            &format!("SELECT COALESCE(MAX(run_id), 0) FROM sync_table_changes WHERE name = '{t}'"),
        )
    };
    let employer = |name: &str, as_of| {
        upsert(
            "employers",
            [("id", t("e1")), ("name", t(name))],
            Mode::Full,
            as_of,
        )
    };
    let run = d.begin_run(0, "employers").unwrap();
    d.apply(&[employer("Acme", 10)], run, None).unwrap();
    assert_eq!(last(&d, "employers"), Some(run.to_string()));
    assert_eq!(last(&d, "jobs"), Some("0".into()));
    let end = RunEnd {
        finished: 0,
        window_end: None,
        status: RunStatus::Complete,
        requests: 0,
        retries: 0,
        throttled: 0,
        error: None,
    };
    d.finish_run(run, &end).unwrap();
    assert_eq!(d.counts["employers"].inserted, 1);

    // The same data again, newer: stamps move, nothing changes.
    let run2 = d.begin_run(0, "employers").unwrap();
    d.apply(&[employer("Acme", 20)], run2, None).unwrap();
    assert_eq!(last(&d, "employers"), Some(run.to_string()));
    d.finish_run(run2, &end).unwrap();
    assert!(!d.counts.contains_key("employers"), "{:?}", d.counts);

    let run3 = d.begin_run(0, "employers").unwrap();
    d.apply(&[employer("Acme Inc", 30)], run3, None).unwrap();
    assert_eq!(last(&d, "employers"), Some(run3.to_string()));
    d.finish_run(run3, &end).unwrap();
    assert_eq!(d.counts["employers"].updated, 1);

    // A dated update (an action's snapshot) read again by a later run, as
    // the lookback does every night: its order key moves, the table did
    // not change and is not published again.
    let update = |name: &str| {
        upsert(
            "employers",
            [("id", t("e1")), ("name", t(name))],
            Mode::Update,
            40,
        )
    };
    let run4 = d.begin_run(0, "employers").unwrap();
    d.apply(&[update("Acme Corp")], run4, None).unwrap();
    assert_eq!(last(&d, "employers"), Some(run4.to_string()));
    let run5 = d.begin_run(0, "employers").unwrap();
    d.apply(&[update("Acme Corp")], run5, None).unwrap();
    assert_eq!(last(&d, "employers"), Some(run4.to_string()), "unchanged");
}

#[test]
fn live_jobs_count_the_jobs_not_marked_deleted() {
    let (_t, mut d) = dest();
    assert_eq!(d.live_jobs().unwrap(), 0);
    let ops = vec![
        upsert("jobs", [("id", t("a"))], Mode::Full, 100),
        upsert("jobs", [("id", t("b"))], Mode::Full, 100),
        upsert("jobs", [("id", t("c"))], Mode::Partial, 100),
        Op::Delete {
            table: crate::schema::tables::jobs::TABLE,
            id: "b".into(),
            at: 120,
        },
    ];
    d.apply(&ops, 1, None).unwrap();
    assert_eq!(d.live_jobs().unwrap(), 2);
}

#[test]
fn a_full_disk_is_said_once_with_what_to_do_and_the_run_is_recorded() {
    let (_dir, mut d) = dest();
    let run = d.begin_run(1, "members").unwrap();
    // No page beyond the current ones: the next insert needs one.
    let pages: i64 = d
        .conn
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .unwrap();
    d.conn.pragma_update(None, "max_page_count", pages).unwrap();
    let ops: Vec<Op> = (0..500)
        .map(|i| {
            let id = format!("m{i}");
            let name = "x".repeat(500);
            upsert(
                "members",
                [
                    ("id", t(&id)),
                    ("given_name", t(&name)),
                    ("email", t("a@b.c")),
                    ("created_at", Val::Ts(1_767_225_600)),
                ],
                Mode::Full,
                1,
            )
        })
        .collect();
    let err = d.apply(&ops, run, None).unwrap_err();
    assert!(matches!(err, StoreError::NoSpace { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "no space left for {} (the disk is full): nothing was lost (what was committed stays, the failed write was undone); make room and run again, the next run continues from there",
            d.path().display()
        )
    );
    assert_eq!(
        one(&d, "SELECT COUNT(*) FROM members").as_deref(),
        Some("0")
    );
    // The disk is still full: the run's row is updated in place.
    let end = RunEnd {
        finished: 2,
        window_end: None,
        status: RunStatus::Failed,
        requests: 1,
        retries: 0,
        throttled: 0,
        error: Some(err.to_string()),
    };
    d.finish_run(run, &end).unwrap();
    assert_eq!(
        one(&d, "SELECT status FROM sync_runs").as_deref(),
        Some("failed")
    );
}

#[test]
fn an_older_listing_still_shows_a_listed_row_is_there() {
    let (_t, mut d) = dest();
    let member = |name: &str, as_of| {
        upsert(
            "members",
            [("id", t("m1")), ("given_name", t(name))],
            Mode::Full,
            as_of,
        )
    };
    // Written from a newer source (a push's answer), then listed by a
    // run whose listing is older: the newer data stays, and the mirror
    // does not take the row for gone.
    d.apply(&[member("New", 20)], 1, None).unwrap();
    d.apply(&[member("Old", 15)], 2, None).unwrap();
    d.mirror(&[crate::resources::Resource::Members], 2, 30)
        .unwrap();
    assert_eq!(
        one(
            &d,
            "SELECT given_name || ' ' || COALESCE(removed_at, '-') || ' ' || _upd_run FROM members"
        ),
        Some("New - 1".into())
    );
    // A row marked removed and listed again (even by an older copy) is back.
    d.mirror(&[crate::resources::Resource::Members], 3, 40)
        .unwrap();
    assert!(one(&d, "SELECT removed_at FROM members").is_some());
    d.apply(&[member("Old", 18)], 4, None).unwrap();
    assert_eq!(
        one(
            &d,
            "SELECT given_name || ' ' || COALESCE(removed_at, '-') || ' ' || _upd_run FROM members"
        ),
        Some("New - 4".into())
    );
}

#[test]
fn announced_changes_count_once_and_a_listing_clears_only_what_it_covers() {
    let (_t, mut d) = dest();
    let r = Resource::JobPosts;
    let action = |id: &str| {
        let a = [
            ("id", t(id)),
            ("action_type", t("JOB_POST_UPDATED")),
            ("date", Val::Ts(50)),
            ("created_at", Val::Ts(50)),
        ];
        upsert("actions", a, Mode::Full, 100)
    };
    let announce = |id: &str| vec![action(id), Op::Announce(r)];
    assert_eq!(d.listing(r).unwrap(), (None, 0));
    d.apply(&announce("a1"), 1, None).unwrap();
    // The same action read again by a later run (the lookback): no news.
    d.apply(&announce("a1"), 2, None).unwrap();
    assert_eq!(d.listing(r).unwrap().1, 1);
    // A listing that began before a second announcement keeps it due.
    d.apply(&announce("a2"), 2, None).unwrap();
    let listed = |due| StateUpdate::Listed { resource: r, due };
    d.apply(&[], 2, Some(&listed(1))).unwrap();
    let (at, due) = d.listing(r).unwrap();
    assert!(at.is_some());
    assert_eq!(due, 2, "nothing is taken off before the mirror");
    d.mirror(&[r], 2, 100).unwrap();
    assert_eq!(d.listing(r).unwrap().1, 1);
    // A run killed between its listing and its mirror leaves it due.
    d.apply(&[], 3, Some(&listed(1))).unwrap();
    assert_eq!(d.listing(r).unwrap().1, 1);
    d.apply(&[], 4, Some(&listed(1))).unwrap();
    d.mirror(&[r], 4, 200).unwrap();
    assert_eq!(d.listing(r).unwrap().1, 0);
}

#[test]
fn a_childs_changed_rows_follow_the_parents_changed_by_each_publication() {
    let (_t, d) = dest();
    d.conn
        .execute_batch(
            "INSERT INTO actions (id, _upd_run) VALUES ('a1', 2), ('a2', 1), ('a3', 1);
             INSERT INTO action_jobs (action_id, position, job_id, _upd_run)
               VALUES ('a1', 0, 'j1', 2), ('a2', 0, 'j2', 1), ('a3', 0, 'j3', 1);",
        )
        .unwrap();
    let tables = d.tables();
    let child = SCHEMA.get("action_jobs").unwrap();
    let scanned = |tables: &Tables<'_>| {
        let mut jobs = Vec::new();
        tables
            .scan(child, Rows::ChangedSince(1), |cells| {
                if let Cell::Text(j) = cells[2] {
                    jobs.push(String::from_utf8_lossy(j).into_owned());
                }
                Ok::<_, StoreError>(())
            })
            .unwrap();
        jobs
    };
    tables.prepare_for_scans().unwrap();
    assert_eq!(scanned(&tables), ["j1"]);
    // A run changes a3 before the next publication, which sees it.
    d.conn
        .execute_batch("UPDATE actions SET _upd_run = 3 WHERE id = 'a3'")
        .unwrap();
    tables.prepare_for_scans().unwrap();
    assert_eq!(scanned(&tables), ["j1", "j3"]);
    assert_eq!(scanned(&tables), ["j1", "j3"], "kept within a publication");
}

#[test]
fn a_parents_changed_rows_are_read_through_the_key_table_its_children_share() {
    let (_t, d) = dest();
    d.conn
        .execute_batch("INSERT INTO actions (id, _upd_run) VALUES ('a3', 1), ('a1', 2), ('a2', 1);")
        .unwrap();
    let tables = d.tables();
    let actions = SCHEMA.get("actions").unwrap();
    let scanned = |tables: &Tables<'_>| {
        let mut ids = Vec::new();
        tables
            .scan(actions, Rows::ChangedSince(1), |cells| {
                if let Cell::Text(id) = cells[0] {
                    ids.push(String::from_utf8_lossy(id).into_owned());
                }
                Ok::<_, StoreError>(())
            })
            .unwrap();
        ids
    };
    tables.prepare_for_scans().unwrap();
    assert_eq!(scanned(&tables), ["a1"]);
    d.conn
        .execute_batch("UPDATE actions SET _upd_run = 3 WHERE id = 'a3'")
        .unwrap();
    tables.prepare_for_scans().unwrap();
    assert_eq!(scanned(&tables), ["a1", "a3"], "in key order");
    assert_eq!(tables.count(actions, Rows::ChangedSince(1)).unwrap(), 2);
}

#[test]
fn marks_move_with_every_change_of_a_table_and_only_then() {
    let (_t, mut d) = dest();
    let employers = SCHEMA.id("employers");
    let members = SCHEMA.id("members");
    let row = |name: &str| {
        upsert(
            "employers",
            [("id", t("e1")), ("name", t(name))],
            Mode::Full,
            0,
        )
    };
    let start = d.marks();
    d.apply(&[row("Acme")], 1, None).unwrap();
    let first = d.marks();
    assert!(first.moved_since(&start, employers));
    assert!(!first.moved_since(&start, members), "another table");
    d.apply(&[row("Acme")], 2, None).unwrap();
    assert!(
        !d.marks().moved_since(&first, employers),
        "the same row again"
    );
    d.apply(&[row("Acme Corp")], 3, None).unwrap();
    assert!(d.marks().moved_since(&first, employers), "a changed value");
}
