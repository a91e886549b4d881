//! `floor`: the benchmark's lower bound, a plain sequential download of
//! every page a full sync reads (every listing, and each candidate's
//! profile and action metrics), with no parsing beyond finding `next`, no
//! flattening and no loading. A sync cannot be faster than the API lets
//! this be; `scripts/bench.sh` reports the ratio. What is read comes from
//! huntr-sync's own list of resources, so the floor follows it.

use std::time::Instant;

use serde::Serialize;

use huntr_sync::resources::{Kind, Resource};

#[derive(Debug, Serialize)]
pub struct FloorReport {
    pub requests: u64,
    pub bytes: u64,
    pub seconds: f64,
}

/// The `next` cursor of a list answer, found without parsing the page.
fn next_cursor(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let at = text.rfind("\"next\":")? + 7;
    let rest = text[at..].trim_start();
    let rest = rest.strip_prefix('"')?;
    let end = rest.find('"')?;
    Some(rest[..end].to_owned()).filter(|s| !s.is_empty())
}

/// The floor's counters and its one connection pool.
struct Fetch<'a> {
    http: reqwest::Client,
    base: &'a str,
    token: &'a str,
    requests: u64,
    bytes: u64,
}

impl Fetch<'_> {
    /// One answer, waiting out 429s as told (any client must).
    async fn get(
        &mut self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<(reqwest::header::HeaderMap, Vec<u8>), reqwest::Error> {
        let resp = loop {
            let resp = self
                .http
                .get(format!("{}/{path}", self.base))
                .query(query)
                .bearer_auth(self.token)
                .send()
                .await?;
            self.requests += 1;
            if resp.status() != reqwest::StatusCode::TOO_MANY_REQUESTS {
                break resp.error_for_status()?;
            }
            let wait = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(1);
            tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
        };
        let headers = resp.headers().clone();
        let body = resp.bytes().await?.to_vec();
        self.bytes += body.len() as u64;
        Ok((headers, body))
    }
}

/// The ids of a page's items (the candidates, whose profiles and action
/// metrics a sync reads one by one).
fn item_ids(body: &[u8]) -> Vec<String> {
    let Ok(page) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Vec::new();
    };
    page["data"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

pub async fn download_all(
    base_url: &str,
    token: &str,
    limit: u32,
) -> Result<FloorReport, reqwest::Error> {
    let mut f = Fetch {
        http: reqwest::Client::new(),
        base: base_url.trim_end_matches('/'),
        token,
        requests: 0,
        bytes: 0,
    };
    let started = Instant::now();
    let mut before: Option<i64> = None;
    let mut candidates = Vec::new();
    for r in Resource::ALL {
        let mut next: Option<String> = None;
        loop {
            let mut query: Vec<(&str, String)> = r.query();
            if r.paged() {
                query.push(("limit", limit.to_string()));
            }
            if let (Kind::Windowed, Some(b)) = (r.kind(), before) {
                query.push(("created_before", b.to_string()));
            }
            if let Some(n) = &next {
                query.push(("next", n.clone()));
            }
            let (headers, body) = f.get(r.path(), &query).await?;
            before = before.or_else(|| {
                headers
                    .get(reqwest::header::DATE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| httpdate::parse_http_date(v).ok())
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map(|d| d.as_secs() as i64)
            });
            if r == Resource::Candidates {
                candidates.extend(item_ids(&body));
            }
            next = if r.paged() { next_cursor(&body) } else { None };
            if next.is_none() || body.len() < 30 {
                break;
            }
        }
    }
    // A first sync reads every candidate's profile and action metrics.
    for id in candidates {
        f.get(&format!("candidates/{id}"), &[]).await?;
        f.get(&format!("candidates/{id}/action-metrics"), &[])
            .await?;
    }
    Ok(FloorReport {
        requests: f.requests,
        bytes: f.bytes,
        seconds: started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_the_cursor_without_parsing() {
        assert_eq!(
            super::next_cursor(br#"{"data":[{"next":"x"}],"next":"abc"}"#).as_deref(),
            Some("abc")
        );
        assert_eq!(super::next_cursor(br#"{"data":[],"next":null}"#), None);
    }
}
