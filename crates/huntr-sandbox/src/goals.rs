//! Goals: the organization's goals (listed by `/goals`), and the members'
//! enrollments in them and progress towards them, which only actions
//! carry; the goals there are before any history, and what a simulated day
//! changes, each change with its GOAL_* action. They draw from the stream
//! they share with documents and the employer portal (`side.rs`); JSON and
//! truth are in `goals_json.rs`.

use huntr_protocol::ActionType;
use rand::Rng;

use crate::days::Changes;
use crate::org::{Ix, Oid, Org, DAY, START};
use crate::side::{Carried, Clock};

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

const GOALS: [(&str, &str, i64, bool); 5] = [
    ("Weekly Application Goal", "Activity", 5, true),
    ("Save 10 jobs", "Job", 10, false),
    ("Interview Goal", "Activity", 1, true),
    ("Grow your network", "Contact", 3, false),
    ("Last year's onboarding", "Job", 2, false),
];

impl Org {
    /// The goals there are before any history (the last one inactive).
    pub(crate) fn first_goals(&mut self) {
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
    }

    /// One day of goal changes: goals edited or new, members enrolled (a
    /// few, among the active `members`), progress made or missed.
    pub(crate) fn goals_day(&mut self, clock: &mut Clock, members: &[Ix], n: &mut Changes) {
        let scale = (members.len() / 10).clamp(2, 12);
        self.goal_changes(clock, n);
        for _ in 0..scale {
            let m = members[self.side.rng.random_range(0..members.len())];
            self.enroll(clock, m, n);
        }
        self.progress_day(clock, scale, n);
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
