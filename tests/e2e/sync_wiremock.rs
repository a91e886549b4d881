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

/// Mounts `/members` as `pages` of members (ids), each page's `next` the
/// id of its last member, then an empty page.
async fn member_pages(server: &MockServer, pages: &[&[&str]]) {
    server.reset().await;
    let mut cursor: Option<&str> = None;
    for page in pages.iter().chain(std::iter::once(&(&[] as &[&str]))) {
        let next = page.last().copied();
        let data: Vec<_> = page.iter().map(|id| member(id)).collect();
        let m = Mock::given(method("GET")).and(path("/org/members"));
        let m = match cursor {
            None => m.and(query_param_is_missing("next")),
            Some(c) => m.and(query_param("next", c)),
        };
        m.respond_with(ok(json!({"data": data, "next": next})))
            .mount(server)
            .await;
        cursor = next;
    }
    empty_org(server).await;
}

async fn members_requests(server: &MockServer) -> usize {
    let all = server.received_requests().await.unwrap_or_default();
    all.iter()
        .filter(|r| r.url.path() == "/org/members")
        .count()
}

/// A short last page that still carries `next` ends a listing without the
/// empty page only when it leaves no known row unseen: a quiet night
/// saves the request, a removal is still followed to the end, and an
/// endpoint that silently serves smaller pages than asked (every page
/// "short") is read to its end on every run.
#[tokio::test]
async fn a_short_last_page_ends_a_listing_only_when_nothing_would_be_removed() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("o.db");
    let client = common::fast_client(&format!("{}/org", server.uri()), "t");
    let opts = SyncOptions::default();
    let live = "SELECT COUNT(*) FROM members WHERE removed_at IS NULL";

    // The first listing follows `next` to the end; a quiet night stops at
    // the short page.
    member_pages(&server, &[&["m2", "m1"]]).await;
    sync_sqlite(&client, &db, &opts).await.unwrap();
    assert_eq!(members_requests(&server).await, 2);
    member_pages(&server, &[&["m2", "m1"]]).await;
    sync_sqlite(&client, &db, &opts).await.unwrap();
    assert_eq!(members_requests(&server).await, 1);
    assert_eq!(common::count(&db, live), 2);

    // m1 is gone: the short page leaves it unseen, so `next` is followed
    // before the mirror marks it removed.
    member_pages(&server, &[&["m2"]]).await;
    sync_sqlite(&client, &db, &opts).await.unwrap();
    assert_eq!(members_requests(&server).await, 2);
    assert_eq!(common::count(&db, live), 1);

    // Pages silently capped at two members (500 asked for): each run reads
    // on until the page that holds the last known member (here the last
    // page: only its empty successor is saved), and no member is lost.
    let capped: &[&[&str]] = &[&["m6", "m5"], &["m4", "m3"], &["m2", "m1"]];
    for _ in 0..2 {
        member_pages(&server, capped).await;
        let report = sync_sqlite(&client, &db, &opts).await.unwrap();
        assert!(report.complete());
        assert_eq!(members_requests(&server).await, 3);
        assert_eq!(common::count(&db, live), 6);
    }
}
