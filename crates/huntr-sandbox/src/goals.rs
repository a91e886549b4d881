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
    rng: SmallRng,
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

    fn oid(&mut self, ts: i64) -> Oid {
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
struct Clock {
    ts: i64,
    end: i64,
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
    fn side_action(&mut self, clock: &mut Clock, kind: ActionType, owner: Ix, what: Carried) {
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
        let scale = (members.len() / 15).clamp(1, 12);
        self.goal_changes(&mut clock, n);
        for _ in 0..scale {
            let m = members[self.side.rng.random_range(0..members.len())];
            self.enroll(&mut clock, m, n);
        }
        self.progress_day(&mut clock, scale, n);
        self.document_day(&mut clock, &members, n);
        self.portal_day(&mut clock, n);
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
        if self.side.rng.random_bool(0.1) {
            let id = self.side.oid(clock.ts + 1);
            let interval = self.side.oid(clock.ts + 1);
            let owner = self.advisors[0];
            let k = self.side.goals.len();
            self.side.goals.push(Goal {
                id,
                name: format!("Goal {k}"),
                instructions: "<p>New goal</p>".into(),
                active: true,
                recurring: k % 2 == 0,
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
        for (k, &p) in open.iter().enumerate() {
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
            if k % 2 == 1 || k / 2 >= scale * 2 {
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

    /// A document uploaded, one renamed and (among enough) one deleted.
    fn document_day(&mut self, clock: &mut Clock, members: &[Ix], n: &mut Changes) {
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
    fn portal_day(&mut self, clock: &mut Clock, n: &mut Changes) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Everything the organization answered before this module existed.
    fn rest(org: &Org) -> Vec<String> {
        let mut out = Vec::new();
        for &m in org.members_ix.values() {
            out.push(org.member_json(m).to_string());
        }
        for &e in org.employers_ix.values() {
            out.push(org.employer_json(e, true).to_string());
        }
        for &j in org.jobs_ix.values() {
            out.push(org.job_json(j).to_string());
        }
        for &a in org.activities_ix.values() {
            out.push(org.activity_json(a).to_string());
        }
        for &i in org.invitations_ix.values() {
            out.push(org.invitation_json(i).to_string());
        }
        for &e in org.events_ix.values() {
            out.push(org.event_json(e).to_string());
        }
        for (id, &a) in &org.actions_ix {
            if !is_side(id) {
                out.push(org.action_json(&org.actions[a as usize]).to_string());
            }
        }
        out
    }

    #[test]
    fn goals_documents_and_the_portal_change_nothing_else() {
        let mut with = Org::generate(42, 30);
        OFF.with(|o| o.set(true));
        let mut without = Org::generate(42, 30);
        assert_eq!(rest(&with), rest(&without));
        for _ in 0..3 {
            without.advance_day();
        }
        OFF.with(|o| o.set(false));
        for _ in 0..3 {
            with.advance_day();
        }
        assert_eq!(rest(&with), rest(&without));
        assert!(without.side.goals.is_empty());
        let kinds: std::collections::BTreeSet<&str> = with
            .actions
            .iter()
            .filter(|a| is_side(&a.id))
            .map(|a| a.kind.as_str())
            .collect();
        for k in [
            "GOAL_CREATED",
            "GOAL_UPDATED",
            "GOAL_ENROLLMENT_CREATED",
            "GOAL_ENROLLMENT_CONCLUDED",
            "GOAL_PROGRESS_IN_PROGRESS",
            "GOAL_PROGRESS_UPDATED",
            "GOAL_PROGRESS_COMPLETED",
            "GOAL_PROGRESS_INCOMPLETE",
            "GOAL_PROGRESS_UNENROLLED",
            "DOCUMENT_CREATED",
            "DOCUMENT_UPDATED",
            "DOCUMENT_DELETED",
            "ORGANIZATION_EMPLOYER_REQUEST_CREATED",
            "ORGANIZATION_EMPLOYER_REQUEST_VERIFIED",
            "ORGANIZATION_EMPLOYER_REQUEST_APPROVED",
            "ORGANIZATION_EMPLOYER_REQUEST_DECLINED",
            "ORGANIZATION_EMPLOYER_PARTNERSHIP_CREATED",
        ] {
            assert!(kinds.contains(k), "{k} never happens: {kinds:?}");
        }
    }
}
