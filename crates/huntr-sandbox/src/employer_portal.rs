//! The employer portal: employers ask to join the talent portal, are
//! verified, and are decided on, an approval making a partnership; each
//! step with its ORGANIZATION_EMPLOYER_* action (the only place the API
//! shows requests and partnerships). They draw from the stream they share
//! with goals and documents (`side.rs`).

use huntr_protocol::ActionType;
use rand::Rng;

use crate::days::Changes;
use crate::org::{Ix, Oid, Org};
use crate::side::{Carried, Clock, Side};

#[derive(Debug, Clone)]
pub struct Request {
    pub id: Oid,
    pub email: String,
    /// PENDING, APPROVED or REJECTED.
    pub status: &'static str,
    pub decided: Option<i64>,
    pub employer: Option<Ix>,
    pub utm: bool,
}

#[derive(Debug, Clone)]
pub struct Partnership {
    pub id: Oid,
    pub employer: Ix,
    pub post_jobs: bool,
    pub browse: bool,
}

impl Org {
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
