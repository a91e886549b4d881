//! Documents and the employer portal (#17) in simulated days: uploads,
//! renames and deletions of documents, and employers asking to join the
//! talent portal, verified, decided, and made partners. Split from
//! `goals.rs`, whose random stream and ids they share.

use huntr_protocol::ActionType;
use rand::Rng;

use crate::days::Changes;
use crate::goals::{Carried, Clock, Document, Partnership, Request, Side};
use crate::org::{Ix, Org};

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

    /// An employer asks to join the talent portal; a pending request is
    /// verified; a verified one is decided (an approval makes a partner).
    pub(crate) fn employer_portal_day(&mut self, clock: &mut Clock, n: &mut Changes) {
        let employers: Vec<Ix> = self.employers_ix.values().copied().collect();
        if employers.is_empty() {
            return;
        }
        let owner = self.advisors[0];
        let id = self.side.oid(clock.ts + 1);
        let r = self.side.requests.len();
        let utm = self.side.rng.random_bool(0.5);
        self.side.requests.push(Request {
            id,
            email: format!("talent{r}@employer.example"),
            status: "PENDING",
            decided: None,
            employer: None,
            utm,
        });
        use ActionType::*;
        self.side_action(
            clock,
            OrganizationEmployerRequestCreated,
            owner,
            Carried::Request(r),
        );
        *n.entry("employer_requests").or_default() += 1;
        let pending = |s: &Side, verified: bool| {
            (0..s.requests.len()).find(|r| {
                s.requests[*r].status == "PENDING" && s.requests[*r].employer.is_some() == verified
            })
        };
        if let Some(v) = pending(&self.side, true) {
            // Two requests in three are approved.
            let approve = v % 3 != 1;
            let req = &mut self.side.requests[v];
            req.status = if approve { "APPROVED" } else { "REJECTED" };
            req.decided = Some(clock.ts + 1);
            let kind = if approve {
                OrganizationEmployerRequestApproved
            } else {
                OrganizationEmployerRequestDeclined
            };
            self.side_action(clock, kind, owner, Carried::Request(v));
            if approve {
                let employer = req_employer(&self.side, v);
                let pid = self.side.oid(clock.ts + 1);
                let p = self.side.partnerships.len();
                let browse = self.side.rng.random_bool(0.5);
                self.side.partnerships.push(Partnership {
                    id: pid,
                    employer,
                    post_jobs: true,
                    browse,
                });
                let kind = OrganizationEmployerPartnershipCreated;
                self.side_action(clock, kind, owner, Carried::Partnership(p));
            }
        }
        if let Some(v) = pending(&self.side, false) {
            let e = employers[self.side.rng.random_range(0..employers.len())];
            self.side.requests[v].employer = Some(e);
            let kind = OrganizationEmployerRequestVerified;
            self.side_action(clock, kind, owner, Carried::Request(v));
        }
    }
}

fn req_employer(s: &Side, r: usize) -> Ix {
    s.requests[r]
        .employer
        .expect("a verified request has an employer")
}
