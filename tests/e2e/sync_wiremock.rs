//! Whole syncs against a wiremock organization, for behaviours the sandbox
//! does not produce on its own: a gone `/events` endpoint, a listing that
//! fails half-way.

use crate::common;

use huntr_sync::sync::{sync_sqlite, SyncOptions};
use serde_json::json;
use wiremock::matchers::{method, path, path_regex, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const DATE: &str = "Mon, 01 Jun 2026 00:00:00 GMT";

fn ok(body: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("date", DATE)
        .set_body_json(body)
}

/// Every endpoint answers an empty list unless a test mounted more.
async fn empty_org(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path_regex("^/org/[a-z-]+$"))
        .respond_with(ok(json!({"data": [], "next": null})))
        .with_priority(10)
        .mount(server)
        .await;
}

fn member(id: &str) -> serde_json::Value {
    json!({"id": id, "givenName": "A", "familyName": "B", "email": format!("{id}@x.org"), "createdAt": 1_700_000_000, "isActive": true, "memberFieldValues": []})
}

#[tokio::test]
async fn a_gone_events_endpoint_is_a_warning_not_a_failure() {
    let server = MockServer::start().await;
    for status in [404, 410] {
        server.reset().await;
        Mock::given(method("GET"))
            .and(path("/org/events"))
            .respond_with(ResponseTemplate::new(status).set_body_json(
                json!({"message": "Gone", "error": {"message": "Gone", "status": status}}),
            ))
            .expect(1)
            .mount(&server)
            .await;
        empty_org(&server).await;
        let dir = tempfile::tempdir().unwrap();
        let client = common::fast_client(&format!("{}/org", server.uri()), "t");
        let report = sync_sqlite(&client, &dir.path().join("o.db"), &SyncOptions::default())
            .await
            .unwrap();
        assert!(report.complete(), "{status}: {:?}", report.incomplete);
        server.verify().await;
    }
}

#[tokio::test]
async fn an_incomplete_listing_removes_nothing_and_the_next_run_finishes() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/org/members"))
        .respond_with(ok(
            json!({"data": [member("m2"), member("m1")], "next": null}),
        ))
        .mount(&server)
        .await;
    empty_org(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("o.db");
    let client = common::fast_client(&format!("{}/org", server.uri()), "t");
    let opts = SyncOptions {
        limit: 1,
        ..Default::default()
    };
    assert!(sync_sqlite(&client, &db, &opts).await.unwrap().complete());

    // Page one, then a failure that retries cannot fix.
    server.reset().await;
    Mock::given(method("GET"))
        .and(path("/org/members"))
        .and(query_param_is_missing("next"))
        .respond_with(ok(json!({"data": [member("m2")], "next": "m2"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/org/members"))
        .and(query_param("next", "m2"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"message": "boom"})))
        .mount(&server)
        .await;
    empty_org(&server).await;
    let report = sync_sqlite(&client, &db, &opts).await.unwrap();
    assert_eq!(report.status, "partial");
    assert!(
        report.incomplete.contains_key("members"),
        "{:?}",
        report.incomplete
    );
    assert_eq!(
        common::count(&db, "SELECT COUNT(*) FROM members WHERE removed_at IS NULL"),
        2,
        "nothing marked"
    );
    assert_eq!(
        common::count(
            &db,
            "SELECT COUNT(*) FROM sync_runs WHERE status = 'partial'"
        ),
        1
    );

    // m1 really is gone: the next complete listing marks it.
    server.reset().await;
    Mock::given(method("GET"))
        .and(path("/org/members"))
        .respond_with(ok(json!({"data": [member("m2")], "next": null})))
        .mount(&server)
        .await;
    empty_org(&server).await;
    assert!(sync_sqlite(&client, &db, &opts).await.unwrap().complete());
    assert_eq!(
        common::count(
            &db,
            "SELECT COUNT(*) FROM members WHERE removed_at IS NOT NULL AND id = 'm1'"
        ),
        1
    );
}
