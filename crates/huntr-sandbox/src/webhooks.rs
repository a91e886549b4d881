//! Webhook delivery: the actions not delivered yet, oldest first (or newest
//! first, to test that order does not matter), each POSTed as Huntr sends
//! it, signed with the webhook secret.

use huntr_protocol::signature::{sign, SIGNATURE_HEADER};

use crate::org::Action;
use crate::server::Shared;

/// Signs and POSTs the actions not yet delivered, oldest first.
pub async fn deliver(s: &Shared, url: &str, secret: &[u8]) -> reqwest::Result<usize> {
    deliver_in(s, url, secret, false).await
}

/// [`deliver`], oldest or newest first.
pub async fn deliver_in(
    s: &Shared,
    url: &str,
    secret: &[u8],
    newest_first: bool,
) -> reqwest::Result<usize> {
    let bodies: Vec<Vec<u8>> = {
        let org = s.org();
        let mut delivered = s.delivered.lock().unwrap_or_else(|e| e.into_inner());
        let from = (*delivered).min(org.actions.len());
        let mut pending: Vec<&Action> = org.actions[from..].iter().collect();
        pending.sort_by_key(|a| a.id);
        if newest_first {
            pending.reverse();
        }
        *delivered = org.actions.len();
        pending
            .iter()
            .map(|a| serde_json::to_vec(&org.action_json(a)).expect("JSON"))
            .collect()
    };
    let http = reqwest::Client::new();
    let mut accepted = 0;
    for body in bodies {
        let sig = sign(secret, &body);
        let resp = http
            .post(url)
            .header(SIGNATURE_HEADER, sig)
            .body(body)
            .send()
            .await?;
        if resp.status().is_success() {
            accepted += 1;
        }
    }
    Ok(accepted)
}
