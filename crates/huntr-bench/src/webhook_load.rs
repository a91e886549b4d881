//! `webhook-load`: a load generator for a webhook receiver. It POSTs signed
//! actions, each with an id of its own so every one is stored, and counts
//! the answers: 200 accepted, 503 busy (the receiver's queue is full),
//! anything else or no answer failed. `scripts/webhook_bench.sh` runs it
//! against `huntr-sync webhook serve`.

use futures_util::stream::{self, StreamExt};
use huntr_protocol::signature::{sign, SIGNATURE_HEADER};
use huntr_protocol::ActionType;
use serde::Serialize;
use serde_json::json;

/// What the load generator measured.
#[derive(Debug, Serialize)]
pub struct LoadReport {
    pub sent: usize,
    pub accepted: usize,
    pub busy: usize,
    pub failed: usize,
    pub seconds: f64,
    pub accepted_per_second: f64,
}

/// The `i`th action sent: a NOTE_CREATED with its own action and note ids.
fn action(i: usize) -> Vec<u8> {
    let person =
        json!({"id": "m1", "givenName": "Load", "familyName": "Test", "email": "load@example.org"});
    serde_json::to_vec(&json!({
        "id": format!("{:024x}", 0x6000_0000_0000_0000_0000u128 + i as u128),
        "actionType": ActionType::NoteCreated.as_str(),
        "date": 1_780_000_000 + i as i64,
        "createdAt": 1_780_000_000 + i as i64,
        "createdByWorkflow": false,
        "ownerMember": person,
        "creatorMember": person,
        "jobId": "j1",
        "note": {"id": format!("n{i}"), "text": "load test"},
        "noteId": format!("n{i}"),
    }))
    .expect("a JSON value serializes")
}

/// POSTs `count` signed actions (distinct ids) with `concurrency` in flight.
pub async fn load(
    url: &str,
    secret: &[u8],
    count: usize,
    concurrency: usize,
) -> anyhow::Result<LoadReport> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    let started = std::time::Instant::now();
    let results: Vec<u16> = stream::iter(0..count)
        .map(|i| {
            let body = action(i);
            let sig = sign(secret, &body);
            let http = http.clone();
            async move {
                let sent = http.post(url).header(SIGNATURE_HEADER, sig).body(body);
                match sent.send().await {
                    Ok(r) => r.status().as_u16(),
                    Err(_) => 0,
                }
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let seconds = started.elapsed().as_secs_f64();
    let accepted = results.iter().filter(|s| **s == 200).count();
    let busy = results.iter().filter(|s| **s == 503).count();
    Ok(LoadReport {
        sent: count,
        accepted,
        busy,
        failed: count - accepted - busy,
        seconds,
        accepted_per_second: accepted as f64 / seconds,
    })
}

#[cfg(test)]
mod tests {
    use huntr_protocol::signature::verify;

    /// Every action is one a receiver stores: its own id, an action type,
    /// and a signature the receiver accepts.
    #[test]
    fn actions_are_distinct_and_signed_as_huntr_signs() {
        let (a, b) = (super::action(0), super::action(1));
        let (va, vb): (serde_json::Value, serde_json::Value) = (
            serde_json::from_slice(&a).unwrap(),
            serde_json::from_slice(&b).unwrap(),
        );
        assert_ne!(va["id"], vb["id"]);
        assert_eq!(va["id"].as_str().unwrap().len(), 24);
        assert_eq!(va["actionType"], "NOTE_CREATED");
        assert!(verify(b"s", &a, &super::sign(b"s", &a)));
    }
}
