//! Tests of write faults over real HTTP: every kind happens and does what
//! it says (a write applied although its answer was lost stays applied),
//! write faults leave reads alone and read faults leave writes alone, and
//! writes still meet auth and the token bucket.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::test_client::sandbox;
use crate::{RunningSandbox, SandboxOptions};

async fn invite(
    sb: &RunningSandbox,
    http: &reqwest::Client,
    email: &str,
) -> reqwest::Result<(u16, Option<String>, Value)> {
    let url = format!("{}/organization-invitations", sb.base_url);
    let resp = http
        .post(url)
        .bearer_auth(&sb.token)
        .json(&json!({"email": email}))
        .send()
        .await?;
    let status = resp.status().as_u16();
    let retry = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let body: Value = serde_json::from_slice(&resp.bytes().await?).unwrap_or(Value::Null);
    Ok((status, retry, body))
}

fn pending(sb: &RunningSandbox, email: &str) -> bool {
    let org = sb.shared.org();
    org.invitations_ix
        .values()
        .any(|i| org.invitations[*i as usize].to_email == email)
}

/// The one write fault kind counted since `before`.
fn new_kind(before: &BTreeMap<&'static str, u64>, sb: &RunningSandbox) -> Option<&'static str> {
    let now = sb.writes().write_faults;
    let changed: Vec<&'static str> = now
        .iter()
        .filter(|(k, n)| before.get(*k) != Some(n))
        .map(|(k, _)| *k)
        .collect();
    assert!(changed.len() <= 1, "{changed:?}");
    changed.first().copied()
}

#[tokio::test]
async fn every_write_fault_kind_does_what_it_says() {
    let (sb, http) = sandbox(SandboxOptions {
        write_faults: 1.0,
        ..SandboxOptions::default()
    })
    .await;
    let mut seen: BTreeMap<&str, u32> = BTreeMap::new();
    for i in 0..400 {
        if seen.len() == crate::server::WRITE_FAULT_KINDS.len() {
            break;
        }
        let email = format!("fault{i}@example.com");
        let before = sb.writes().write_faults;
        let got = invite(&sb, &http, &email).await;
        let kind = new_kind(&before, &sb).expect("p = 1: every write meets a fault");
        *seen.entry(kind).or_default() += 1;
        let applied = pending(&sb, &email);
        match (kind, &got) {
            ("status_500", Ok((500, _, _))) => assert!(!applied),
            ("status_503", Ok((503, Some(r), _))) => assert!(!applied && r == "0"),
            ("status_429", Ok((429, Some(r), _))) => assert!(!applied && r == "1"),
            ("reset", Err(_)) => assert!(!applied),
            ("applied_then_dropped", Err(_)) => assert!(applied, "the effect stays"),
            ("applied_then_500", Ok((500, _, _))) => assert!(applied),
            other => panic!("{kind}: {other:?}"),
        }
        // Applied writes are counted as writes; the others are not.
        let counted = sb.writes().invitations_by_email.get(&email).copied();
        assert_eq!(counted, applied.then_some(1), "{kind}");
    }
    assert_eq!(seen.len(), 6, "{seen:?}");
    let url = format!("http://{}/_sandbox/writes", sb.addr);
    let log: Value = http.get(url).send().await.unwrap().json().await.unwrap();
    let total: u64 = log["write_faults"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(total, u64::from(seen.values().sum::<u32>()));
}

#[tokio::test]
async fn write_faults_leave_reads_alone_and_read_faults_leave_writes_alone() {
    let (sb, http) = sandbox(SandboxOptions::default()).await;
    let set = |what: &str, p: f64| format!("http://{}/_sandbox/{what}?p={p}", sb.addr);
    let v: Value = http
        .post(set("write_faults", 1.0))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v, json!({"write_faults": 1.0}));
    for _ in 0..30 {
        let url = format!("{}/members?limit=5", sb.base_url);
        let resp = http.get(url).bearer_auth(&sb.token).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["data"].as_array().unwrap().len(), 5);
    }
    assert_eq!(
        sb.shared.faulted.load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    http.post(set("write_faults", 0.0)).send().await.unwrap();
    http.post(set("faults", 1.0)).send().await.unwrap();
    for i in 0..30 {
        let email = format!("calm{i}@example.com");
        let (status, _, body) = invite(&sb, &http, &email).await.unwrap();
        assert_eq!(
            (status, body["toEmail"].as_str()),
            (200, Some(email.as_str()))
        );
    }
    assert_eq!(sb.writes().invitations_by_email.len(), 30);
    assert!(sb.writes().write_faults.is_empty());
    let by = sb.requests_by_endpoint();
    assert_eq!(by.get("POST organization-invitations"), Some(&30));
}

#[tokio::test]
async fn writes_meet_auth_and_the_token_bucket() {
    let (sb, http) = sandbox(SandboxOptions {
        rps: Some(1.0),
        ..SandboxOptions::default()
    })
    .await;
    let url = format!("{}/organization-invitations", sb.base_url);
    let resp = http
        .post(&url)
        .json(&json!({"email": "anon@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    // The bucket holds one request a second: quick writes are throttled,
    // and a throttled write is not applied.
    let mut statuses = Vec::new();
    for i in 0..4 {
        let email = format!("quick{i}@example.com");
        let (status, retry, _) = invite(&sb, &http, &email).await.unwrap();
        assert_eq!(status == 429, retry.is_some(), "{status}");
        assert_eq!(pending(&sb, &email), status == 200, "{status}");
        statuses.push(status);
    }
    assert_eq!(statuses[0], 200);
    assert!(statuses.contains(&429), "{statuses:?}");
    assert!(sb.throttled() >= 1);
    assert!(!pending(&sb, "anon@example.com"));
}

#[tokio::test]
async fn a_field_value_put_whose_answer_was_dropped_stays_set() {
    let (sb, http) = sandbox(SandboxOptions {
        write_faults: 1.0,
        ..SandboxOptions::default()
    })
    .await;
    let (m, age) = {
        let org = sb.shared.org();
        let m = *org.members_ix.values().next().unwrap();
        (
            m,
            org.fields.iter().position(|f| f.name == "Age").unwrap() as u32,
        )
    };
    let (mid, fid) = {
        let org = sb.shared.org();
        (
            org.people[m as usize].id.hex(),
            org.fields[age as usize].id.hex(),
        )
    };
    let url = format!("{}/members/{mid}/member-fields/{fid}", sb.base_url);
    let value = |org: &crate::Org| {
        org.people[m as usize]
            .fields
            .iter()
            .find(|f| f.0 == age)
            .map(|f| f.1.clone())
    };
    // Applied writes are counted, whatever the client saw.
    let mut applied = 0;
    for n in 100..400 {
        let before = sb.writes().write_faults;
        let old = value(&sb.shared.org());
        let got = http
            .put(&url)
            .bearer_auth(&sb.token)
            .json(&json!({"value": n}))
            .send()
            .await;
        match new_kind(&before, &sb).unwrap() {
            "applied_then_dropped" => {
                // No answer at all, yet the value is set.
                assert!(got.is_err());
                assert_eq!(value(&sb.shared.org()), Some(json!(n)));
                assert_eq!(sb.writes().field_value_puts, applied + 1);
                return;
            }
            "applied_then_500" => {
                assert_eq!(value(&sb.shared.org()), Some(json!(n)));
                applied += 1;
            }
            _ => assert_eq!(value(&sb.shared.org()), old),
        }
    }
    panic!("no applied_then_dropped in 300 faulty writes");
}
