//! Sending a plan's writes exactly once.
//!
//! Each write is journalled as `sending` (committed, `synchronous=FULL`)
//! before its request leaves and as `sent`, `unknown` or `failed` once it
//! is answered. A `PUT` is idempotent and retried by the client like a
//! read. A `POST` is not: when its answer is lost (timeout, dropped
//! connection, 5xx) or the API says the invitation or field already
//! exists, the listings are read again and the write counts as done only
//! if its record is there; otherwise it is sent again, at most `rounds`
//! times. Every answer (and every record found so) is written to the
//! destination at once, so it shows what was written without a sync.

use std::collections::HashMap;

use futures_util::stream::{FuturesUnordered, StreamExt};
use serde_json::Value;

use super::{orgview, Method, PushKind, Write};
use crate::api::{ApiError, Client};
use crate::flatten;
use crate::resources::Resource;
use crate::store::{Journal, RunId, Store, StoreError, WriteState};
use crate::timefmt::now_unix;

/// One write of a planned row, as the sender carries it.
#[derive(Debug, Clone)]
pub struct Item {
    pub line: usize,
    pub write: Write,
}

/// How one write ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Ended {
    /// Applied; the id the API gave (or the listing showed).
    Sent(Option<String>),
    Failed(String),
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a push's sending needs; owns the destination for its duration.
pub struct Sender<'a> {
    pub client: &'a Client,
    pub store: Store,
    pub journal: Journal,
    /// The destination run the answers are written under.
    pub run_id: RunId,
    pub kind: PushKind,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Times a write whose fate was in doubt and that was not found
    /// applied is sent again.
    pub rounds: usize,
    pub bar: indicatif::ProgressBar,
}

/// The resource a write's answer is a record of.
fn answer_resource(kind: PushKind) -> Resource {
    match kind {
        PushKind::Invitations => Resource::OrganizationInvitations,
        PushKind::Fields => Resource::MemberFields,
        PushKind::FieldValues => Resource::Members,
    }
}

fn id_of(v: &Value) -> Option<String> {
    v.get("id").and_then(Value::as_str).map(str::to_owned)
}

/// The API refused a POST as a duplicate ("a pending invitation already
/// exists", "a field with this name exists"): applied by an earlier
/// attempt, perhaps, which only the listing can tell.
fn says_duplicate(e: &ApiError) -> bool {
    let e = match e {
        ApiError::Exhausted { last, .. } => last,
        other => other,
    };
    match e {
        ApiError::Status {
            status: 400 | 409,
            message,
            ..
        } => message
            .as_deref()
            .is_some_and(|m| m.to_lowercase().contains("exist")),
        _ => false,
    }
}

impl Sender<'_> {
    /// Sends every item; returns how each write ended, by journal key.
    pub async fn send(&mut self, items: Vec<Item>) -> Result<HashMap<String, Ended>, SendError> {
        self.store.set_durable()?;
        let mut ended = HashMap::new();
        let mut batch = items;
        for round in 0.. {
            let doubt = self.send_batch(batch, &mut ended).await?;
            if doubt.is_empty() {
                break;
            }
            let absent = match self.look_for(&doubt, &mut ended).await {
                Ok(absent) => absent,
                Err(e @ ApiError::Unauthorized { .. }) => return Err(e.into()),
                Err(e) => {
                    let why = format!("no answer, and the listings could not be read to check ({e}); the next push checks again");
                    for item in doubt {
                        ended.insert(item.write.key.clone(), Ended::Failed(why.clone()));
                    }
                    break;
                }
            };
            if absent.is_empty() {
                break;
            }
            if round + 1 >= self.rounds {
                for item in absent {
                    let why = "no answer after every attempt, and not found in the listings: not applied; run the push again".to_owned();
                    self.end(&item, WriteState::Failed, None, Some(&why))?;
                    ended.insert(item.write.key.clone(), Ended::Failed(why));
                }
                break;
            }
            batch = absent;
        }
        Ok(ended)
    }

    /// Sends a batch, `concurrency` groups at a time; returns the writes
    /// whose fate is in doubt. The writes to one member go in sequence, one
    /// group: answered at the same second, two concurrent answers could not
    /// be told apart, and the older could be applied last.
    async fn send_batch(
        &mut self,
        items: Vec<Item>,
        ended: &mut HashMap<String, Ended>,
    ) -> Result<Vec<Item>, SendError> {
        let client = self.client;
        let mut queue = groups(items).into_iter();
        let mut inflight = FuturesUnordered::new();
        let mut doubt = Vec::new();
        loop {
            while inflight.len() < self.concurrency.max(1) {
                let Some(group) = queue.next() else { break };
                for item in &group {
                    self.store
                        .journal_sending(&self.journal, &item.write.key, item.line)?;
                }
                inflight.push(async move {
                    let mut answered = Vec::with_capacity(group.len());
                    for item in group {
                        let method = match item.write.method {
                            Method::Post => crate::api::client::Method::POST,
                            Method::Put => crate::api::client::Method::PUT,
                        };
                        let res = client
                            .write(method, &item.write.path, &item.write.body)
                            .await;
                        answered.push((item, res));
                    }
                    answered
                });
            }
            let Some(answered) = inflight.next().await else {
                break;
            };
            for (item, res) in answered {
                if let Some(item) = self.answered(item, res, ended)? {
                    doubt.push(item);
                }
            }
        }
        Ok(doubt)
    }

    /// Records one answer; returns the write if its fate is in doubt.
    fn answered(
        &mut self,
        item: Item,
        res: Result<crate::api::Response, ApiError>,
        ended: &mut HashMap<String, Ended>,
    ) -> Result<Option<Item>, SendError> {
        match res {
            Ok(resp) => {
                let id = id_of(&resp.body);
                self.end(&item, WriteState::Sent, id.as_deref(), None)?;
                let as_of = resp.date.unwrap_or_else(now_unix);
                self.apply(answer_resource(self.kind), &resp.body, as_of)?;
                ended.insert(item.write.key.clone(), Ended::Sent(id));
                self.bar.inc(1);
            }
            Err(e @ ApiError::Unauthorized { .. }) => return Err(e.into()),
            Err(e)
                if item.write.method == Method::Post
                    && (e.maybe_applied() || says_duplicate(&e)) =>
            {
                tracing::info!("{}: in doubt, will look for it: {e}", item.write.key);
                self.end(&item, WriteState::Unknown, None, Some(&e.to_string()))?;
                return Ok(Some(item));
            }
            Err(e) => {
                let why = e.to_string();
                self.end(&item, WriteState::Failed, None, Some(&why))?;
                ended.insert(item.write.key.clone(), Ended::Failed(why));
                self.bar.inc(1);
            }
        }
        Ok(None)
    }

    /// Reads the listings again: a write in doubt whose record is there is
    /// done; returns the others (not applied: safe to send again).
    async fn look_for(
        &mut self,
        doubt: &[Item],
        ended: &mut HashMap<String, Ended>,
    ) -> Result<Vec<Item>, ApiError> {
        let found = orgview::applied(self.client, self.kind, true).await?;
        let mut absent = Vec::new();
        for item in doubt {
            match found.get(&item.write.key) {
                Some((resource, record, as_of)) => {
                    let id = id_of(record);
                    let note = "confirmed in the listing after a lost answer";
                    let landed = self
                        .end(item, WriteState::Sent, id.as_deref(), Some(note))
                        .and_then(|_| self.apply(*resource, record, *as_of));
                    if let Err(e) = landed {
                        tracing::warn!("recording {}: {e}", item.write.key);
                    }
                    ended.insert(item.write.key.clone(), Ended::Sent(id));
                    self.bar.inc(1);
                }
                None => absent.push(item.clone()),
            }
        }
        Ok(absent)
    }

    fn end(
        &self,
        item: &Item,
        state: WriteState,
        id: Option<&str>,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let j = &self.journal;
        self.store
            .journal_end(j.run, &j.kind, &item.write.key, state, id, error)
    }

    /// Writes a record the API answered (or listed) to the destination,
    /// as of the server's clock when it did (as a sync would).
    fn apply(&mut self, resource: Resource, record: &Value, as_of: i64) -> Result<(), StoreError> {
        let mut ops = Vec::new();
        flatten::flatten(resource, record, as_of, &mut ops);
        self.store.apply(&ops, self.run_id, None)
    }
}

/// The writes in groups sent one after another: a member's writes
/// (`members/<id>/...`) together, in file order; anything else alone.
fn groups(items: Vec<Item>) -> Vec<Vec<Item>> {
    let mut out: Vec<Vec<Item>> = Vec::new();
    let mut of_member: HashMap<String, usize> = HashMap::new();
    for item in items {
        let member = item
            .write
            .path
            .strip_prefix("members/")
            .and_then(|rest| rest.split('/').next())
            .map(str::to_owned);
        match member {
            Some(m) => match of_member.get(&m) {
                Some(&g) => out[g].push(item),
                None => {
                    of_member.insert(m, out.len());
                    out.push(vec![item]);
                }
            },
            None => out.push(vec![item]),
        }
    }
    out
}

/// Settles the writes of earlier pushes that were left in doubt (killed
/// before the answer, or the answer lost), using `org` as read at the start
/// of this push: a record that is there was applied; one that is not was
/// not, and this push's plan sends it again if it is still wanted. A value
/// (`PUT`) is simply compared again by the plan. Returns how many were
/// found applied.
pub fn settle_earlier(
    store: &Store,
    kind: PushKind,
    org: &super::OrgSnapshot,
) -> Result<usize, StoreError> {
    let name = kind.name();
    let mut there: HashMap<String, String> = HashMap::new();
    for m in &org.members {
        there.insert(super::invitation_key(&m.email), m.id.clone());
    }
    for p in &org.pending {
        there.insert(super::invitation_key(&p.email), p.id.clone());
    }
    for f in &org.fields {
        there.insert(super::field_key(&f.name), f.id.clone());
    }
    let mut found = 0;
    for (run, key) in store.journal_in_doubt(name)? {
        let (state, id, note) = match there.get(&key) {
            Some(id) if kind != PushKind::FieldValues => {
                found += 1;
                (
                    WriteState::Sent,
                    Some(id.as_str()),
                    "found applied by a later push",
                )
            }
            _ => (
                WriteState::Failed,
                None,
                "not applied: not found by a later push, which decides again",
            ),
        };
        store.journal_end(run, name, &key, state, id, Some(note))?;
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(path: &str) -> Item {
        Item {
            line: 2,
            write: Write {
                key: path.to_owned(),
                method: Method::Put,
                path: path.to_owned(),
                body: serde_json::json!({}),
                summary: String::new(),
            },
        }
    }

    #[test]
    fn a_members_writes_go_in_one_group_in_order() {
        let paths = [
            "members/m1/member-fields/f1",
            "members/m2/member-fields/f1",
            "members/m1/member-fields/f2",
            "organization-invitations",
        ];
        let got: Vec<Vec<String>> = groups(paths.iter().map(|p| item(p)).collect())
            .into_iter()
            .map(|g| g.into_iter().map(|i| i.write.path).collect())
            .collect();
        assert_eq!(
            got,
            vec![
                vec![paths[0].to_owned(), paths[2].to_owned()],
                vec![paths[1].to_owned()],
                vec![paths[3].to_owned()],
            ]
        );
    }

    #[test]
    fn duplicates_are_told_by_the_api_message() {
        let dup = ApiError::Status {
            endpoint: "POST /organization-invitations".into(),
            host: "api.huntr.co".into(),
            status: 400,
            message: Some("A pending invitation already exists for this email".into()),
            param: Some("email".into()),
            retry_after: None,
        };
        assert!(says_duplicate(&dup) && !dup.maybe_applied());
        let other = ApiError::Status {
            endpoint: "POST /organization-invitations".into(),
            host: "api.huntr.co".into(),
            status: 400,
            message: Some("email is not valid".into()),
            param: Some("email".into()),
            retry_after: None,
        };
        assert!(!says_duplicate(&other));
    }
}
