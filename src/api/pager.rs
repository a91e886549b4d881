//! Cursor paging over a list endpoint: `limit` and `next`.
//!
//! Stops on a null or missing `next`, or on an empty page (the API may set
//! `next` on the last page and answer the following request with nothing);
//! a cursor seen twice is an error, so a misbehaving server can never make
//! a sync loop forever.

use std::collections::HashSet;

use serde_json::Value;

use super::client::{endpoint_name, Client};
use super::error::ApiError;

#[derive(Debug)]
pub struct Page {
    pub data: Vec<Value>,
    /// The server's clock when it answered (unix seconds).
    pub date: Option<i64>,
}

pub struct Pager {
    client: Client,
    path: String,
    params: Vec<(&'static str, String)>,
    limit: Option<u32>,
    next: Option<String>,
    seen: HashSet<String>,
    done: bool,
    pub pages: u64,
}

impl Pager {
    /// `limit` None: an unpaged endpoint (no `limit` sent).
    pub fn new(
        client: &Client,
        path: &str,
        limit: Option<u32>,
        params: Vec<(&'static str, String)>,
    ) -> Result<Pager, ApiError> {
        if let Some(l) = limit {
            super::check_limit(l)?;
        }
        Ok(Pager {
            client: client.clone(),
            path: path.to_owned(),
            params,
            limit,
            next: None,
            seen: HashSet::new(),
            done: false,
            pages: 0,
        })
    }

    /// True once the listing has been read to its end.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The next non-empty page, or `None` at the end.
    pub async fn next_page(&mut self) -> Result<Option<Page>, ApiError> {
        if self.done {
            return Ok(None);
        }
        let mut query = self.params.clone();
        if let Some(l) = self.limit {
            query.push(("limit", l.to_string()));
        }
        if let Some(n) = &self.next {
            query.push(("next", n.clone()));
        }
        let resp = self.client.get(&self.path, &query).await?;
        self.pages += 1;
        let invalid = |detail: &str| ApiError::InvalidBody {
            endpoint: endpoint_name(&self.path, &query),
            detail: detail.to_owned(),
        };
        let Value::Object(mut body) = resp.body else {
            return Err(invalid("expected an object with `data`"));
        };
        let data = match body.remove("data") {
            Some(Value::Array(items)) => items,
            Some(Value::Null) | None => Vec::new(),
            Some(_) => return Err(invalid("`data` is not an array")),
        };
        let next = match body.remove("next") {
            Some(Value::String(s)) if !s.is_empty() => Some(s),
            _ => None,
        };
        match next {
            Some(n) if !data.is_empty() => {
                if !self.seen.insert(n.clone()) {
                    return Err(ApiError::RepeatedCursor {
                        endpoint: endpoint_name(&self.path, &self.params),
                        cursor: n,
                    });
                }
                self.next = Some(n);
            }
            _ => self.done = true,
        }
        if data.is_empty() {
            return Ok(None);
        }
        Ok(Some(Page {
            data,
            date: resp.date,
        }))
    }
}
