//! The API client against wiremock: paging on every list endpoint, both
//! last-page forms, local `limit` validation, the documented error JSON,
//! refused tokens and repeating cursors.

use crate::common;

use huntr_sync::api::{ApiError, Pager};
use huntr_sync::resources::Resource;
use serde_json::{json, Value};
use wiremock::matchers::{bearer_token, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "test-token";

fn page(ids: &[&str], next: Value) -> ResponseTemplate {
    let data: Vec<Value> = ids
        .iter()
        .map(|id| json!({"id": id, "createdAt": 1588634675}))
        .collect();
    ResponseTemplate::new(200).set_body_json(json!({"data": data, "next": next}))
}

/// Mounts three pages on `/{p}`; the last either has `next: null` or a
/// cursor followed by an empty page.
async fn mount_three_pages(server: &MockServer, p: &str, empty_last: bool) {
    let route = format!("/org/{p}");
    Mock::given(method("GET"))
        .and(path(&route))
        .and(query_param_is_missing("next"))
        .and(query_param("limit", "2"))
        .and(bearer_token(TOKEN))
        .respond_with(page(&["a1", "a2"], json!("a2")))
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(&route))
        .and(query_param("next", "a2"))
        .respond_with(page(&["a3", "a4"], json!("a4")))
        .expect(1)
        .mount(server)
        .await;
    let last_next = if empty_last { json!("a5") } else { Value::Null };
    Mock::given(method("GET"))
        .and(path(&route))
        .and(query_param("next", "a4"))
        .respond_with(page(&["a5"], last_next))
        .expect(1)
        .mount(server)
        .await;
    if empty_last {
        Mock::given(method("GET"))
            .and(path(&route))
            .and(query_param("next", "a5"))
            .respond_with(page(&[], Value::Null))
            .expect(1)
            .mount(server)
            .await;
    }
}

async fn drain(pager: &mut Pager) -> Result<Vec<String>, ApiError> {
    let mut ids = Vec::new();
    while let Some(p) = pager.next_page().await? {
        ids.extend(
            p.values()
                .iter()
                .map(|v| v["id"].as_str().unwrap().to_owned()),
        );
    }
    Ok(ids)
}

#[tokio::test]
async fn every_paged_endpoint_pages_to_the_end_in_both_last_page_forms() {
    for empty_last in [false, true] {
        for r in Resource::ALL.into_iter().filter(|r| r.paged()) {
            let server = MockServer::start().await;
            mount_three_pages(&server, r.path(), empty_last).await;
            let client = common::fast_client(&format!("{}/org", server.uri()), TOKEN);
            let mut pager = Pager::new(&client, r.path(), Some(2), vec![]).unwrap();
            assert_eq!(
                drain(&mut pager).await.unwrap(),
                ["a1", "a2", "a3", "a4", "a5"],
                "{r} empty_last={empty_last}"
            );
            server.verify().await;
        }
    }
}

#[tokio::test]
async fn unpaged_endpoints_answer_in_one_request() {
    for r in Resource::ALL.into_iter().filter(|r| !r.paged()) {
        let server = MockServer::start().await;
        let body = std::fs::read_to_string(format!(
            "{}/tests/fixtures/reference/{}.json",
            env!("CARGO_MANIFEST_DIR"),
            match r {
                Resource::MemberFields => "member_fields_list",
                Resource::BoardTemplates => "board_templates_list",
                Resource::OrganizationInvitations => "invitations_list",
                _ => "activity_categories_list",
            }
        ))
        .unwrap();
        let expected = serde_json::from_str::<Value>(&body).unwrap()["data"]
            .as_array()
            .unwrap()
            .len();
        Mock::given(method("GET"))
            .and(path(format!("/org/{}", r.path())))
            .and(query_param_is_missing("limit"))
            .respond_with(ResponseTemplate::new(200).set_body_string(body))
            .expect(1)
            .mount(&server)
            .await;
        let client = common::fast_client(&format!("{}/org", server.uri()), TOKEN);
        let mut pager = Pager::new(&client, r.path(), None, vec![]).unwrap();
        assert_eq!(drain(&mut pager).await.unwrap().len(), expected, "{r}");
        server.verify().await;
    }
}

#[tokio::test]
async fn limit_out_of_range_is_refused_before_any_request() {
    let server = MockServer::start().await;
    let client = common::fast_client(&format!("{}/org", server.uri()), TOKEN);
    for bad in [0, 501, 10_000] {
        let err = Pager::new(&client, "jobs", Some(bad), vec![])
            .err()
            .unwrap();
        assert!(matches!(err, ApiError::LimitOutOfRange(n) if n == bad));
        assert!(err.to_string().contains("1 to 500"));
    }
    assert!(Pager::new(&client, "jobs", Some(500), vec![]).is_ok());
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn documented_error_json_is_parsed_and_not_retried() {
    let server = MockServer::start().await;
    let body = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/reference/error.json"
    ))
    .unwrap();
    Mock::given(method("GET"))
        .and(path("/org/jobs"))
        .respond_with(ResponseTemplate::new(400).set_body_string(body))
        .expect(1)
        .mount(&server)
        .await;
    let client = common::fast_client(&format!("{}/org", server.uri()), TOKEN);
    let err = client
        .get("jobs", &[("limit", "500".into())])
        .await
        .unwrap_err();
    match &err {
        ApiError::Status {
            status,
            message,
            param,
            ..
        } => {
            assert_eq!(*status, 400);
            assert_eq!(
                message.as_deref(),
                Some("Limit must be an integer under 500")
            );
            assert_eq!(param.as_deref(), Some("limit"));
        }
        other => panic!("unexpected {other:?}"),
    }
    let line = err.to_string();
    assert!(
        line.contains("/jobs")
            && line.contains("400")
            && line.contains("Limit must be an integer under 500"),
        "{line}"
    );
    server.verify().await;
}

#[tokio::test]
async fn unauthorized_is_a_refused_token_naming_the_variable() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/org/members"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"message": "Unauthorized", "error": {"message": "Unauthorized", "status": 401}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let client = common::fast_client(&format!("{}/org", server.uri()), "wrong-token");
    let err = client.get("members", &[]).await.unwrap_err();
    assert!(matches!(err, ApiError::Unauthorized { .. }));
    let line = err.to_string();
    assert!(
        line.contains("401") && line.contains("HUNTR_ORG_TOKEN") && line.contains("refused"),
        "{line}"
    );
    assert!(!line.contains("wrong-token"));
    server.verify().await;
}

#[tokio::test]
async fn a_repeating_cursor_stops_with_an_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/org/actions"))
        .and(query_param_is_missing("next"))
        .respond_with(page(&["x1"], json!("c1")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/org/actions"))
        .and(query_param("next", "c1"))
        .respond_with(page(&["x2"], json!("c1")))
        .mount(&server)
        .await;
    let client = common::fast_client(&format!("{}/org", server.uri()), TOKEN);
    let mut pager = Pager::new(&client, "actions", Some(1), vec![]).unwrap();
    let err = drain(&mut pager).await.unwrap_err();
    assert!(
        matches!(err, ApiError::RepeatedCursor { ref cursor, .. } if cursor == "c1"),
        "{err}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn transient_failures_are_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/org/employers"))
        .respond_with(ResponseTemplate::new(503).set_body_string("<html>down</html>"))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/org/employers"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string("{\"data\": [{\"id\": \"e\"}], \"ne"),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/org/employers"))
        .respond_with(page(&["e1"], Value::Null))
        .mount(&server)
        .await;
    let client = common::fast_client(&format!("{}/org", server.uri()), TOKEN);
    let resp = client.get("employers", &[]).await.unwrap();
    assert_eq!(resp.body["data"][0]["id"], "e1");
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
    assert_eq!(client.stats.get().1, 3);
}

#[tokio::test]
async fn giving_up_after_server_errors_names_the_host_and_the_endpoint() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/org/jobs"))
        .respond_with(ResponseTemplate::new(503).set_body_string("<html>down</html>"))
        .mount(&server)
        .await;
    let client = common::fast_client(&format!("{}/org", server.uri()), TOKEN);
    let err = client.get("jobs", &[]).await.unwrap_err();
    assert!(matches!(err, ApiError::Exhausted { .. }), "{err:?}");
    let host = server.address().to_string();
    let line = err.to_string();
    assert!(
        line.starts_with(&format!("GET /jobs on {host}: HTTP 503: ")),
        "{line}"
    );
    assert!(line.contains("gave up after 7 attempts"), "{line}");
}
