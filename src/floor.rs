//! The benchmark's floor: a plain sequential download of every page a full
//! sync reads, with no parsing beyond finding `next`, no flattening and no
//! loading. A sync cannot be faster than the API lets this be; the
//! benchmark reports the ratio (`scripts/bench.sh`).

use std::time::Instant;

use serde::Serialize;

use crate::resources::Resource;

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

pub async fn download_all(
    base_url: &str,
    token: &str,
    limit: u32,
) -> Result<FloorReport, reqwest::Error> {
    let http = reqwest::Client::new();
    let base = base_url.trim_end_matches('/');
    let started = Instant::now();
    let (mut requests, mut bytes) = (0u64, 0u64);
    let mut before: Option<i64> = None;
    for r in Resource::ALL {
        let mut next: Option<String> = None;
        loop {
            let mut query: Vec<(&str, String)> = r.query();
            if r.paged() {
                query.push(("limit", limit.to_string()));
            }
            if let (crate::resources::Kind::Windowed, Some(b)) = (r.kind(), before) {
                query.push(("created_before", b.to_string()));
            }
            if let Some(n) = &next {
                query.push(("next", n.clone()));
            }
            let resp = loop {
                let resp = http
                    .get(format!("{base}/{}", r.path()))
                    .query(&query)
                    .bearer_auth(token)
                    .send()
                    .await?;
                requests += 1;
                if resp.status() != reqwest::StatusCode::TOO_MANY_REQUESTS {
                    break resp.error_for_status()?;
                }
                // A rate-limited API: wait as told, like any client must.
                let wait = resp
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(1);
                tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
            };
            before = before.or_else(|| {
                resp.headers()
                    .get(reqwest::header::DATE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| httpdate::parse_http_date(v).ok())
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map(|d| d.as_secs() as i64)
            });
            let body = resp.bytes().await?;
            bytes += body.len() as u64;
            next = if r.paged() { next_cursor(&body) } else { None };
            if next.is_none() || body.len() < 30 {
                break;
            }
        }
    }
    Ok(FloorReport {
        requests,
        bytes,
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
