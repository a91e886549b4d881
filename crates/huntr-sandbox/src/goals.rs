//! Goals, documents and the employer portal (#17): the organization's
//! goals (listed by `/goals`), and the objects only actions carry (goal
//! enrollments and progresses, documents, employer requests and
//! partnerships), with the history and simulated days that produce their
//! GOAL_*, DOCUMENT_* and ORGANIZATION_EMPLOYER_* actions.
//!
//! Everything here draws from its own random stream and numbers its ids
//! apart (counter bit 62), so the rest of the organization, its ids and
//! its random draws stay exactly as they were before these existed.
//! JSON and truth are in `goals_json.rs`.

use std::collections::HashMap;

use huntr_protocol::ActionType;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::days::Changes;
use crate::org::{Ix, Oid, Org, DAY, START};

/// The counter bit of every id made here.
const SIDE: u64 = 1 << 62;
/// Mixed into the seed of this module's random stream.
const STREAM: u64 = 0x60a1_d0c5_e3b1_0017;

#[cfg(test)]
thread_local! {
    /// Turns this module off, for the test that it changes nothing else.
    static OFF: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn off() -> bool {
    #[cfg(test)]
    return OFF.with(|o| o.get());
    #[cfg(not(test))]
    false
}

/// Whether an id was made here (a write's id has bit 63 set instead).
pub(crate) fn is_side(id: &Oid) -> bool {
    id.1 & SIDE != 0 && id.1 & (1 << 63) == 0
}

#[derive(Debug, Clone)]
pub struct Goal {
    pub id: Oid,
    pub name: String,
    pub instructions: String,
    pub active: bool,
    pub recurring: bool,
    /// "Activity", "Job" or "Contact".
    pub entity: &'static str,
    pub target: i64,
    pub owner: Ix,
    /// The first interval of a recurring goal, and its start.
    pub interval: Oid,
    pub start: i64,
}

#[derive(Debug, Clone)]
pub struct Enrollment {
    pub id: Oid,
    pub goal: usize,
    pub member: Ix,
    pub active: bool,
}

#[derive(Debug, Clone)]
pub struct Progress {
    pub id: Oid,
    pub enrollment: usize,
    pub status: &'static str,
    /// Ids of the goal's entity counting towards it.
    pub objectives: Vec<Oid>,
    pub start: i64,
    pub end: i64,
}

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

/// What an action of this module carries.
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

const GOALS: [(&str, &str, i64, bool); 5] = [
    ("Weekly Application Goal", "Activity", 5, true),
    ("Save 10 jobs", "Job", 10, false),
    ("Interview Goal", "Activity", 1, true),
    ("Grow your network", "Contact", 3, false),
    ("Last year's onboarding", "Job", 2, false),
];

/// The state of one simulated day of this module: its clock.
pub(crate) struct Clock {
    pub(crate) ts: i64,
    pub(crate) end: i64,
}

impl Org {
    /// The goals, and (`with_actions`) a week of goal, document and portal
    /// history before the sandbox clock.
    pub(crate) fn side_history(&mut self, with_actions: bool) {
        if off() {
            return;
        }
        let t0 = START - 60 * DAY;
        for (i, (name, entity, target, recurring)) in GOALS.into_iter().enumerate() {
            let id = self.side.oid(t0 + i as i64 * DAY);
            let interval = self.side.oid(t0 + i as i64 * DAY);
            let owner = self.advisors[i % self.advisors.len()];
            self.side.goals.push(Goal {
                id,
                name: name.to_owned(),
                instructions: format!("<p>{name}: keep going!</p>"),
                // The last one is inactive: only `includeInactive` lists it.
                active: i + 1 < GOALS.len(),
                recurring,
                entity,
                target,
                owner,
                interval,
                start: t0 + i as i64 * DAY,
            });
        }
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
        if off() {
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
        let scale = (members.len() / 10).clamp(2, 12);
        self.goal_changes(&mut clock, n);
        for _ in 0..scale {
            let m = members[self.side.rng.random_range(0..members.len())];
            self.enroll(&mut clock, m, n);
        }
        self.progress_day(&mut clock, scale, n);
        self.document_day(&mut clock, &members, n);
        self.employer_portal_day(&mut clock, n);
    }

    /// Now and then a goal's instructions change, or a new goal appears.
    fn goal_changes(&mut self, clock: &mut Clock, n: &mut Changes) {
        if self.side.rng.random_bool(0.3) {
            let g = self.side.rng.random_range(0..self.side.goals.len());
            let day = (clock.ts - START).div_euclid(DAY);
            self.side.goals[g].instructions = format!("<p>Updated on day {day}</p>");
            let owner = self.side.goals[g].owner;
            self.side_action(clock, ActionType::GoalUpdated, owner, Carried::Goal(g));
            *n.entry("updated_goals").or_default() += 1;
        }
        // A new goal every fifth day.
        if (clock.ts - START).div_euclid(DAY).rem_euclid(5) == 0 {
            let id = self.side.oid(clock.ts + 1);
            let interval = self.side.oid(clock.ts + 1);
            let owner = self.advisors[0];
            let k = self.side.goals.len();
            self.side.goals.push(Goal {
                id,
                name: format!("Goal {k}"),
                instructions: "<p>New goal</p>".into(),
                active: true,
                recurring: k.is_multiple_of(2),
                entity: "Activity",
                target: 3,
                owner,
                interval,
                start: clock.ts,
            });
            self.side_action(clock, ActionType::GoalCreated, owner, Carried::Goal(k));
            *n.entry("new_goals").or_default() += 1;
        }
    }

    /// Enrolls member `m` in an active goal, its first progress starting.
    fn enroll(&mut self, clock: &mut Clock, m: Ix, n: &mut Changes) {
        let active: Vec<usize> = (0..self.side.goals.len())
            .filter(|g| self.side.goals[*g].active)
            .collect();
        // Each active goal in turn.
        let goal = active[self.side.enrollments.len() % active.len()];
        let id = self.side.oid(clock.ts + 1);
        let e = self.side.enrollments.len();
        self.side.enrollments.push(Enrollment {
            id,
            goal,
            member: m,
            active: true,
        });
        self.side_action(
            clock,
            ActionType::GoalEnrollmentCreated,
            m,
            Carried::Enrollment(e),
        );
        let span = if self.side.goals[goal].recurring {
            7
        } else {
            3
        };
        let pid = self.side.oid(clock.ts + 1);
        self.side.progresses.push(Progress {
            id: pid,
            enrollment: e,
            status: "IN_PROGRESS",
            objectives: Vec::new(),
            start: clock.ts,
            end: clock.ts + span * DAY,
        });
        let p = self.side.progresses.len() - 1;
        self.side_action(
            clock,
            ActionType::GoalProgressInProgress,
            m,
            Carried::Progress(p),
        );
        *n.entry("goal_enrollments").or_default() += 1;
    }

    /// Progress towards goals; progresses that end unmet; an enrollment
    /// concluded (its progresses unenrolled).
    fn progress_day(&mut self, clock: &mut Clock, scale: usize, n: &mut Changes) {
        let open: Vec<usize> = (0..self.side.progresses.len())
            .filter(|p| self.side.progresses[*p].status == "IN_PROGRESS")
            .collect();
        let mut progressed = 0;
        for &p in &open {
            let (e, end) = (
                self.side.progresses[p].enrollment,
                self.side.progresses[p].end,
            );
            let (g, m) = (
                self.side.enrollments[e].goal,
                self.side.enrollments[e].member,
            );
            if end < clock.ts {
                self.side.progresses[p].status = "INCOMPLETE";
                let kind = ActionType::GoalProgressIncomplete;
                self.side_action(clock, kind, m, Carried::Progress(p));
                continue;
            }
            // Two in three open progresses move, up to a cap.
            if self.side.rng.random_range(0..3) == 0 || progressed >= scale * 2 {
                continue;
            }
            let entity = self.side.goals[g].entity;
            let Some(obj) = self.objective_of(entity) else {
                continue;
            };
            let prog = &mut self.side.progresses[p];
            prog.objectives.push(obj);
            let done = prog.objectives.len() as i64 >= self.side.goals[g].target;
            let kind = if done {
                prog.status = "COMPLETE";
                ActionType::GoalProgressCompleted
            } else {
                ActionType::GoalProgressUpdated
            };
            self.side_action(clock, kind, m, Carried::Progress(p));
            progressed += 1;
            *n.entry("goal_progress").or_default() += 1;
        }
        let active: Vec<usize> = (0..self.side.enrollments.len())
            .filter(|e| self.side.enrollments[*e].active)
            .collect();
        if active.len() > 2 && self.side.rng.random_bool(0.5) {
            let e = active[self.side.rng.random_range(0..active.len())];
            self.side.enrollments[e].active = false;
            let m = self.side.enrollments[e].member;
            let kind = ActionType::GoalEnrollmentConcluded;
            self.side_action(clock, kind, m, Carried::Enrollment(e));
            for p in 0..self.side.progresses.len() {
                let prog = &mut self.side.progresses[p];
                if prog.enrollment == e && prog.status == "IN_PROGRESS" {
                    prog.status = "UNENROLLED";
                    let kind = ActionType::GoalProgressUnenrolled;
                    self.side_action(clock, kind, m, Carried::Progress(p));
                }
            }
            *n.entry("concluded_enrollments").or_default() += 1;
        }
    }

    /// The id of an activity, job or contact, at random.
    fn objective_of(&mut self, entity: &str) -> Option<Oid> {
        let len = match entity {
            "Activity" => self.activities.len(),
            "Job" => self.jobs.len(),
            _ => self.contacts.len(),
        };
        if len == 0 {
            return None;
        }
        let i = self.side.rng.random_range(0..len);
        Some(match entity {
            "Activity" => self.activities[i].id,
            "Job" => self.jobs[i].id,
            _ => self.contacts[i].id,
        })
    }
}

#[cfg(test)]
#[path = "goals_tests.rs"]
mod tests;
