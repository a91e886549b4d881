//! The webhook receiver: verification, idempotence, durability answers,
//! backpressure, graceful shutdown, and a day of sandbox deliveries
//! followed by a nightly sync.

use crate::common;

use std::time::Duration;

use huntr_sync::sync::sync_sqlite;
use huntr_sync::webhook::{sign, Receiver, SIGNATURE_HEADER};
use serde_json::json;

const SECRET: &[u8] = b"whsec-test-2f9c";

async fn receiver(db: &std::path::Path, queue: usize) -> Receiver {
    common::receiver(db, SECRET, queue).await
}

fn action(id: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "id": id,
        "actionType": "NOTE_CREATED",
        "date": 1_780_000_000,
        "createdAt": 1_780_000_000,
        "createdByWorkflow": false,
        "ownerMember": {"id": "m1", "givenName": "Zoë", "familyName": "Ødegaard", "email": "z@example.org"},
        "creatorMember": {"id": "a1", "givenName": "Advisor", "familyName": "Two", "email": "a@example.org"},
        "jobId": "j1",
        "job": {"id": "j1", "title": "Engineer", "location": {}, "createdAt": 1_779_000_000},
        "note": {"id": format!("note-{id}"), "text": "Great interview"},
        "noteId": format!("note-{id}"),
    }))
    .unwrap()
}

async fn post(url: &str, body: Vec<u8>, header: Option<(&str, String)>) -> u16 {
    let mut req = reqwest::Client::new().post(url).body(body);
    if let Some((name, value)) = header {
        req = req.header(name, value);
    }
    req.send().await.unwrap().status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_correctly_signed_actions_are_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("org.db");
    let rx = receiver(&db, 64).await;
    let url = format!("http://{}/", rx.addr);
    let body = action("a1");
    let good = sign(SECRET, &body);

    assert_eq!(post(&url, body.clone(), None).await, 401, "missing header");
    assert_eq!(
        post(
            &url,
            body.clone(),
            Some((SIGNATURE_HEADER, sign(b"wrong", &body)))
        )
        .await,
        401,
        "wrong secret"
    );
    let mut altered = body.clone();
    let at = altered.len() - 5;
    altered[at] = b'X';
    assert_eq!(
        post(&url, altered, Some((SIGNATURE_HEADER, good.clone()))).await,
        401,
        "body altered after signing"
    );
    assert_eq!(
        post(
            &url,
            body.clone(),
            Some((SIGNATURE_HEADER, "bm90IGl0".into()))
        )
        .await,
        401
    );
    assert_eq!(
        common::count(&db, "SELECT COUNT(*) FROM actions")
            + common::count(&db, "SELECT COUNT(*) FROM notes"),
        0,
        "nothing written"
    );

    // Header name in any case; the same action twice is one row.
    assert_eq!(
        post(
            &url,
            body.clone(),
            Some(("X-Huntr-HMAC-SHA256", good.clone()))
        )
        .await,
        200
    );
    assert_eq!(
        post(&url, body.clone(), Some((SIGNATURE_HEADER, good))).await,
        200
    );
    assert_eq!(common::count(&db, "SELECT COUNT(*) FROM actions"), 1);
    assert_eq!(
        common::count(
            &db,
            "SELECT COUNT(*) FROM notes WHERE text = 'Great interview'"
        ),
        1
    );
    assert_eq!(
        common::count(&db, "SELECT COUNT(*) FROM people"),
        2,
        "owner and advisor"
    );
    assert_eq!(
        common::count(&db, "SELECT COUNT(*) FROM sync_pending_jobs"),
        0,
        "a note does not change the job"
    );

    // A signed body that is not an Action.
    let not_action = br#"{"hello": "world"}"#.to_vec();
    let sig = sign(SECRET, &not_action);
    assert_eq!(
        post(&url, not_action, Some((SIGNATURE_HEADER, sig))).await,
        400
    );
    let not_json = b"<html>".to_vec();
    let sig = sign(SECRET, &not_json);
    assert_eq!(
        post(&url, not_json, Some((SIGNATURE_HEADER, sig))).await,
        400
    );
    rx.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_error_answers_500_so_huntr_retries() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("org.db");
    let rx = receiver(&db, 64).await;
    let url = format!("http://{}/", rx.addr);
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("CREATE TRIGGER boom BEFORE INSERT ON actions BEGIN SELECT RAISE(ABORT, 'disk says no'); END")
        .unwrap();
    let body = action("a2");
    let sig = sign(SECRET, &body);
    assert_eq!(post(&url, body, Some((SIGNATURE_HEADER, sig))).await, 500);
    assert_eq!(
        common::count(&db, "SELECT COUNT(*) FROM notes"),
        0,
        "the whole action rolled back"
    );
    rx.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_answers_503_instead_of_growing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("org.db");
    let rx = receiver(&db, 2).await;
    let url = format!("http://{}/", rx.addr);
    // Another writer holds the database: the receiver's writer waits.
    let blocker = rusqlite::Connection::open(&db).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let sends: Vec<_> = (0..12)
        .map(|i| {
            let url = url.clone();
            tokio::spawn(async move {
                let body = action(&format!("q{i}"));
                let sig = sign(SECRET, &body);
                post(&url, body, Some((SIGNATURE_HEADER, sig))).await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    blocker.execute_batch("COMMIT").unwrap();
    let mut codes = Vec::new();
    for s in sends {
        codes.push(s.await.unwrap());
    }
    let ok = codes.iter().filter(|c| **c == 200).count() as i64;
    assert!(codes.contains(&503), "{codes:?}");
    assert!(codes.iter().all(|c| *c == 200 || *c == 503), "{codes:?}");
    assert_eq!(
        common::count(&db, "SELECT COUNT(*) FROM actions"),
        ok,
        "every 200 was stored"
    );
    rx.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_of_delivered_actions_then_a_nightly_sync_equals_the_truth() {
    let sb = common::sandbox(20, 61).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("org.db");
    let client = common::fast_client(&sb.base_url, &sb.token);
    sync_sqlite(&client, &db, &Default::default())
        .await
        .unwrap();
    let rx = receiver(&db, 256).await;
    let url = format!("http://{}/webhook", rx.addr);
    // History was synced; deliver only what the next day brings.
    sb.skip_undelivered();
    sb.advance_days(1);
    let delivered = sb.deliver(&url, SECRET).await.unwrap();
    let truth = sb.truth();
    assert!(delivered > 20, "{delivered}");
    // Before any sync, the receiver has landed the whole day's actions and
    // what they imply.
    assert_eq!(
        common::count(&db, "SELECT COUNT(*) FROM actions") as usize,
        truth.count("actions")
    );
    assert!(
        common::count(
            &db,
            "SELECT COUNT(*) FROM jobs WHERE deleted_at IS NOT NULL"
        ) > 0
    );
    assert!(
        common::count(&db, "SELECT COUNT(*) FROM sync_pending_jobs") > 0,
        "moved jobs wait for a re-read"
    );
    // The nightly sync runs while the receiver is up (SQLite's locking).
    let report = sync_sqlite(&client, &db, &Default::default())
        .await
        .unwrap();
    assert!(report.complete());
    rx.shutdown().await;
    common::assert_matches_truth(&db, &sb.truth());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_in_flight_deliveries() {
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut child = common::huntr_sync(dir.path())
        .args([
            "webhook",
            "serve",
            "--destination",
            "sqlite:org.db",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env("HUNTR_WEBHOOK_SECRET", std::str::from_utf8(SECRET).unwrap())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while reqwest::get(&url).await.is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "receiver did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Deliveries keep flowing from several senders while SIGTERM arrives.
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
    let senders: Vec<_> = (0..8)
        .map(|w| {
            let (url, accepted) = (url.clone(), accepted.clone());
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                for i in 0.. {
                    let body = action(&format!("t{w}-{i}"));
                    let sig = sign(SECRET, &body);
                    match http
                        .post(&url)
                        .header(SIGNATURE_HEADER, sig)
                        .body(body)
                        .send()
                        .await
                    {
                        Ok(r) if r.status() == 200 => {
                            accepted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                        _ => break,
                    }
                }
            })
        })
        .collect();
    while accepted.load(std::sync::atomic::Ordering::SeqCst) < 100 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let pid = child.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    for s in senders {
        s.await.unwrap();
    }
    let ok = accepted.load(std::sync::atomic::Ordering::SeqCst);
    assert!(child.wait().await.unwrap().success());
    assert_eq!(
        common::count(&dir.path().join("org.db"), "SELECT COUNT(*) FROM actions"),
        ok,
        "every 200 is stored"
    );
}
