//! The sandbox against the API reference: filters, cursor forms, limit
//! errors, 401, 404, 429 with Retry-After, and the control endpoints.

use crate::common;

use std::collections::HashSet;

use huntr_sync::sandbox::{RunningSandbox, SandboxOptions};
use serde_json::Value;

async fn get(
    sb: &RunningSandbox,
    path_and_query: &str,
) -> (u16, reqwest::header::HeaderMap, Value) {
    get_as(sb, path_and_query, &sb.token).await
}

async fn get_as(
    sb: &RunningSandbox,
    path_and_query: &str,
    token: &str,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let resp = reqwest::Client::new()
        .get(format!("{}/{}", sb.base_url, path_and_query))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, headers, body)
}

fn ids(v: &Value) -> Vec<String> {
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn auth_limit_and_not_found_follow_the_documented_error_format() {
    let sb = common::sandbox(5, 1).await;
    let (status, _, body) = get_as(&sb, "members", "nope").await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["status"], 401);
    assert!(body["message"].is_string());
    for bad in ["0", "501", "abc"] {
        let (status, _, body) = get(&sb, &format!("jobs?limit={bad}")).await;
        assert_eq!(status, 400, "{bad}");
        assert_eq!(body["message"], "Limit must be an integer under 500");
        assert_eq!(body["error"]["param"], "limit");
        assert_eq!(body["error"]["value"], bad);
        assert_eq!(body["error"]["location"], "query");
        assert_eq!(body["errors"][0]["status"], 400);
    }
    let (status, _, body) = get(&sb, "jobs?next=not-an-id").await;
    assert_eq!(
        (status, &body["error"]["param"]),
        (400, &Value::from("next"))
    );
    let (status, _, body) = get(&sb, "jobs/000000000000000000000000").await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["status"], 404);
    let (status, _, _) = get(&sb, "members/000000000000000000000000").await;
    assert_eq!(status, 404);
    let (_, _, page) = get(&sb, "members?limit=1").await;
    let id = ids(&page)[0].clone();
    let (status, _, member) = get(&sb, &format!("members/{id}")).await;
    assert_eq!((status, member["id"].as_str()), (200, Some(id.as_str())));
}

#[tokio::test]
async fn cursors_page_newest_first_in_both_last_page_forms() {
    let sb = common::sandbox(20, 4).await;
    let mut forms = HashSet::new();
    for (path, limit) in [
        ("jobs", 7),
        ("actions", 50),
        ("activities", 13),
        ("employers", 3),
        ("members", 6),
        ("actions", 49),
    ] {
        let mut seen = Vec::new();
        let mut next: Option<String> = None;
        let mut created = Vec::new();
        loop {
            let q = match &next {
                Some(n) => format!("{path}?limit={limit}&next={n}"),
                None => format!("{path}?limit={limit}"),
            };
            let (status, _, body) = get(&sb, &q).await;
            assert_eq!(status, 200);
            let page = ids(&body);
            assert!(page.len() <= limit);
            created.extend(
                body["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x["createdAt"].as_i64().unwrap_or(0)),
            );
            if page.is_empty() {
                forms.insert("empty page after a set cursor");
                assert!(body["next"].is_null());
                break;
            }
            seen.extend(page);
            match body["next"].as_str() {
                Some(n) => next = Some(n.to_owned()),
                None => {
                    forms.insert("null cursor");
                    break;
                }
            }
        }
        let unique: HashSet<_> = seen.iter().collect();
        assert_eq!(
            unique.len(),
            seen.len(),
            "{path}: no duplicates across pages"
        );
        assert!(
            created.windows(2).all(|w| w[0] >= w[1]),
            "{path}: newest first"
        );
        let truth = sb.truth();
        let table = if path == "members" { "members" } else { path };
        assert_eq!(
            seen.len(),
            truth.count(table),
            "{path}: every live record listed"
        );
    }
    assert_eq!(forms.len(), 2, "both last-page forms occur: {forms:?}");
}

#[tokio::test]
async fn filters_select_what_they_say() {
    let sb = common::sandbox(20, 6).await;
    let (_, _, all) = get(&sb, "jobs?limit=500").await;
    let jobs = all["data"].as_array().unwrap();
    let t = jobs[jobs.len() / 2]["createdAt"].as_i64().unwrap();
    let (_, _, before) = get(&sb, &format!("jobs?limit=500&created_before={t}")).await;
    assert!(before["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|j| j["createdAt"].as_i64().unwrap() < t));
    let (_, _, after) = get(&sb, &format!("jobs?limit=500&created_after={t}")).await;
    assert!(after["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|j| j["createdAt"].as_i64().unwrap() > t));
    let at_t = jobs.iter().filter(|j| j["createdAt"] == t).count();
    assert_eq!(ids(&before).len() + ids(&after).len() + at_t, jobs.len());

    let owner = jobs[0]["ownerMember"]["id"].as_str().unwrap();
    let (_, _, owned) = get(&sb, &format!("jobs?limit=500&owner_member_id={owner}")).await;
    assert!(!ids(&owned).is_empty());
    assert!(owned["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|j| j["ownerMember"]["id"] == owner));

    let job = jobs[0]["id"].as_str().unwrap();
    let (_, _, acts) = get(&sb, &format!("activities?limit=500&job_id={job}")).await;
    assert!(acts["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["job"]["id"] == job));
    let (_, _, moved) = get(&sb, "actions?limit=500&action_type=JOB_MOVED").await;
    assert!(!ids(&moved).is_empty());
    assert!(moved["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["actionType"] == "JOB_MOVED" && a["fromList"]["name"].is_string()));
    let (_, _, by_job) = get(&sb, &format!("actions?limit=500&job_id={job}")).await;
    assert!(by_job["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["jobId"] == job));

    let (_, _, inactive) = get(&sb, "members?active=false&limit=500").await;
    assert!(!ids(&inactive).is_empty());
    assert!(inactive["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["isActive"] == false));
    let email = inactive["data"][0]["email"].as_str().unwrap();
    let (_, _, one) = get(&sb, &format!("members?email={}", email.replace('+', "%2B"))).await;
    assert_eq!(ids(&one).len(), 1);
}

#[tokio::test]
async fn the_token_bucket_answers_429_with_retry_after() {
    let sb = RunningSandbox::start(SandboxOptions {
        scale: 3,
        rps: Some(2.0),
        ..Default::default()
    })
    .await
    .unwrap();
    let mut throttled = None;
    for _ in 0..10 {
        let (status, headers, body) = get(&sb, "member-fields").await;
        if status == 429 {
            throttled = Some((headers, body));
            break;
        }
    }
    let (headers, body) = throttled.expect("a burst beyond 2 rps is throttled");
    let secs: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&secs), "{secs}");
    assert_eq!(body["error"]["status"], 429);
    assert!(sb.throttled() >= 1);
}

#[tokio::test]
async fn the_date_header_shows_the_sandbox_clock_and_days_pass_over_http() {
    let sb = common::sandbox(10, 8).await;
    let (_, headers, _) = get(&sb, "member-fields").await;
    let date = httpdate::parse_http_date(headers["date"].to_str().unwrap()).unwrap();
    let secs = date
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert_eq!(secs, huntr_sync::sandbox::org::START);
    let before = sb.truth().count("actions");
    let resp = reqwest::Client::new()
        .post(format!("http://{}/_sandbox/advance?days=2", sb.addr))
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["days"], 2);
    assert!(body["changes"]["moved_jobs"].as_u64().unwrap() > 0);
    assert!(sb.truth().count("actions") > before);
    let (_, headers, _) = get(&sb, "member-fields").await;
    let date = httpdate::parse_http_date(headers["date"].to_str().unwrap()).unwrap();
    let secs = date
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert_eq!(secs, huntr_sync::sandbox::org::START + 2 * 86_400);
    let stats: Value = reqwest::get(format!("http://{}/_sandbox/stats", sb.addr))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["by_endpoint"]["member-fields"], 2);
}

#[tokio::test]
async fn injected_faults_happen_at_the_asked_rate() {
    let sb = RunningSandbox::start(SandboxOptions {
        scale: 3,
        faults: 1.0,
        ..Default::default()
    })
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let mut failures = 0;
    for _ in 0..12 {
        let res = client
            .get(format!("{}/member-fields", sb.base_url))
            .bearer_auth(&sb.token)
            .send()
            .await;
        let ok = match res {
            Ok(r) if r.status() == 200 => r.json::<Value>().await.is_ok(),
            _ => false,
        };
        if !ok {
            failures += 1;
        }
    }
    // "slow" faults still answer correctly; every other kind fails.
    assert!(failures >= 6, "{failures}");
    sb.set_faults(0.0);
    let (status, _, _) = get(&sb, "member-fields").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn endpoints_starting_with_org_are_counted_and_taken_down_by_their_name() {
    let sb = RunningSandbox::start(SandboxOptions {
        scale: 3,
        ..Default::default()
    })
    .await
    .unwrap();
    let control = |path: String| async move {
        reqwest::Client::new()
            .post(path)
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    control(format!(
        "http://{}/_sandbox/outage?endpoint=organization-invitations",
        sb.addr
    ))
    .await;
    let (status, _, _) = get(&sb, "organization-invitations").await;
    assert_eq!(status, 503);
    let (status, _, _) = get(&sb, "members").await;
    assert_eq!(status, 200);
    let stats: Value = reqwest::get(format!("http://{}/_sandbox/stats", sb.addr))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["by_endpoint"]["organization-invitations"], 1);
}
