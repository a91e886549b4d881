//! Documents: members' resumes and cover letters, uploaded, renamed and
//! deleted in simulated days, each with its DOCUMENT_* action (the only
//! place the API shows them). They draw from the stream they share with
//! goals and the employer portal (`side.rs`).

use huntr_protocol::ActionType;
use rand::Rng;

use crate::days::Changes;
use crate::org::{Ix, Oid, Org};
use crate::side::{Carried, Clock};

#[derive(Debug, Clone)]
pub struct Document {
    pub id: Oid,
    pub title: String,
    pub name: String,
    pub extension: &'static str,
    pub category: &'static str,
    pub owner: Ix,
    pub jobs: Vec<Ix>,
    pub deleted: bool,
}

impl Org {
    /// A document uploaded, one renamed and (among enough) one deleted.
    pub(crate) fn document_day(&mut self, clock: &mut Clock, members: &[Ix], n: &mut Changes) {
        let m = members[self.side.rng.random_range(0..members.len())];
        let live: Vec<Ix> = self.jobs_ix.values().copied().collect();
        let mut jobs = Vec::new();
        for _ in 0..self.side.rng.random_range(0..3usize).min(live.len()) {
            let j = live[self.side.rng.random_range(0..live.len())];
            if !jobs.contains(&j) {
                jobs.push(j);
            }
        }
        let (ext, category) =
            [("pdf", "Resume"), ("docx", "Cover Letter")][self.side.rng.random_range(0..2usize)];
        let id = self.side.oid(clock.ts + 1);
        let d = self.side.documents.len();
        self.side.documents.push(Document {
            id,
            title: category.to_owned(),
            name: format!("{}-{d}.{ext}", category.replace(' ', "")),
            extension: ext,
            category,
            owner: m,
            jobs,
            deleted: false,
        });
        self.side_action(clock, ActionType::DocumentCreated, m, Carried::Document(d));
        *n.entry("documents").or_default() += 1;
        let live: Vec<usize> = (0..self.side.documents.len())
            .filter(|d| !self.side.documents[*d].deleted)
            .collect();
        let u = live[self.side.rng.random_range(0..live.len())];
        self.side.documents[u].title = format!("{} (v{})", self.side.documents[u].category, u + 2);
        let owner = self.side.documents[u].owner;
        self.side_action(
            clock,
            ActionType::DocumentUpdated,
            owner,
            Carried::Document(u),
        );
        if live.len() > 3 {
            let x = live[self.side.rng.random_range(0..live.len())];
            if x != u {
                self.side.documents[x].deleted = true;
                let owner = self.side.documents[x].owner;
                let kind = ActionType::DocumentDeleted;
                self.side_action(clock, kind, owner, Carried::Document(x));
            }
        }
    }
}
