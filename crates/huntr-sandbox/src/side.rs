//! Goals, documents and the employer portal share one random stream and
//! one id space, held here in [`Side`] with what each of their actions
//! carries. Their history before the sandbox clock and each simulated day
//! run the three in a fixed order: goals (`goals.rs`), documents
//! (`documents.rs`), the employer portal (`employer_portal.rs`).
//! `goals_json.rs` and `side_json.rs` render them and state their truth.
//!
//! Drawing from a stream of its own and numbering its ids apart (counter
//! bit 62) keeps the rest of the organization, its ids and its random
//! draws exactly what they are without it (`side_tests.rs`).

use std::collections::HashMap;

use huntr_protocol::ActionType;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::days::Changes;
use crate::documents::Document;
use crate::employer_portal::{Partnership, Request};
use crate::goals::{Enrollment, Goal, Progress};
use crate::org::{Ix, Oid, Org, DAY, START};

/// The counter bit of every id made here.
const SIDE: u64 = 1 << 62;
/// Mixed into the seed of this module's random stream.
const STREAM: u64 = 0x60a1_d0c5_e3b1_0017;

/// Whether an id has the counter bit of the ids made here and is not a
/// write's (bit 63). The job and talent portals and the roster number
/// their ids with the same bit: this tells the ids of every module with a
/// stream of its own from those of the rest of the model.
pub(crate) fn is_side(id: &Oid) -> bool {
    id.1 & SIDE != 0 && id.1 & (1 << 63) == 0
}

/// What an action of goals, documents or the employer portal carries.
#[derive(Debug, Clone, Copy)]
pub enum Carried {
    Goal(usize),
    Enrollment(usize),
    Progress(usize),
    Document(usize),
    Request(usize),
    Partnership(usize),
}

#[derive(Debug, Clone)]
pub struct Side {
    pub(crate) rng: SmallRng,
    counter: u64,
    /// False: nothing here happens (no goals, no actions, no draws), for
    /// the test that this module changes nothing else.
    pub(crate) enabled: bool,
    pub goals: Vec<Goal>,
    pub enrollments: Vec<Enrollment>,
    pub progresses: Vec<Progress>,
    pub documents: Vec<Document>,
    pub requests: Vec<Request>,
    pub partnerships: Vec<Partnership>,
    /// Action id -> what it carries.
    pub carried: HashMap<Oid, Carried>,
}

impl Side {
    pub(crate) fn new(seed: u64) -> Side {
        Side {
            rng: SmallRng::seed_from_u64(seed ^ STREAM),
            counter: 0,
            enabled: true,
            goals: Vec::new(),
            enrollments: Vec::new(),
            progresses: Vec::new(),
            documents: Vec::new(),
            requests: Vec::new(),
            partnerships: Vec::new(),
            carried: HashMap::new(),
        }
    }

    pub(crate) fn oid(&mut self, ts: i64) -> Oid {
        self.counter += 1;
        Oid(ts as u32, SIDE | self.counter)
    }
}

/// The state of one simulated day of this module: its clock.
pub(crate) struct Clock {
    pub(crate) ts: i64,
    pub(crate) end: i64,
}

impl Org {
    /// The goals, and (`with_actions`) a week of goal, document and portal
    /// history before the sandbox clock.
    pub(crate) fn side_history(&mut self, with_actions: bool) {
        if !self.side.enabled {
            return;
        }
        self.first_goals();
        if !with_actions {
            return;
        }
        for day in (3..10).rev() {
            let prev = START - day * DAY;
            let mut n = Changes::new();
            self.side_day(prev, prev + DAY, &mut n);
        }
    }

    /// Records an action of this module carrying `what`.
    pub(crate) fn side_action(
        &mut self,
        clock: &mut Clock,
        kind: ActionType,
        owner: Ix,
        what: Carried,
    ) {
        let step = self.side.rng.random_range(30..400);
        clock.ts = (clock.ts + step).min(clock.end - 1);
        let id = self.side.oid(clock.ts);
        let creator = self.advisors[0];
        self.action_at(id, kind, owner, creator);
        self.side.carried.insert(id, what);
    }

    /// One day of goal, document and portal changes, in `prev..end`.
    pub(crate) fn side_day(&mut self, prev: i64, end: i64, n: &mut Changes) {
        if !self.side.enabled {
            return;
        }
        let members: Vec<Ix> = self
            .members_ix
            .values()
            .copied()
            .filter(|m| self.people[*m as usize].is_active)
            .collect();
        if members.is_empty() || self.advisors.is_empty() {
            return;
        }
        let mut clock = Clock { ts: prev, end };
        self.goals_day(&mut clock, &members, n);
        self.document_day(&mut clock, &members, n);
        self.employer_portal_day(&mut clock, n);
    }
}

#[cfg(test)]
#[path = "side_tests.rs"]
mod tests;
