//! The sandbox's organization as data: a deterministic model of members,
//! advisors, employers, jobs, activities, actions and the rest, with the
//! newest-first indexes the server pages over, and the few primitives
//! every change goes through (ids, random draws, the action feed).
//!
//! Compact typed records (indices, not JSON) keep a million actions in
//! little memory; `render.rs` builds JSON from them on demand, so nested
//! snapshots always show current state, as a database join would. Building
//! the organization is `generate.rs`, living a day is `days.rs`; both are
//! made of the record changes in `people.rs` and `jobs.rs`.

use std::collections::BTreeMap;

use huntr_protocol::ActionType;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// Sandbox clock at generation: 2026-06-01T00:00:00Z.
pub const START: i64 = 1_780_272_000;
pub(crate) const DAY: i64 = 86_400;

/// A Mongo-like object id: creation second, then a counter. Ordering ids
/// orders by creation time, as the API's newest-first lists do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Oid(pub u32, pub u64);

impl Oid {
    pub fn hex(self) -> String {
        format!("{:08x}{:016x}", self.0, self.1)
    }
    pub fn parse(s: &str) -> Option<Oid> {
        if s.len() != 24 || !s.is_ascii() {
            return None;
        }
        Some(Oid(
            u32::from_str_radix(&s[..8], 16).ok()?,
            u64::from_str_radix(&s[8..], 16).ok()?,
        ))
    }
    pub fn created(self) -> i64 {
        self.0 as i64
    }
    /// The smallest id created at second `ts`: every id of that second is
    /// at or above it, every id of an earlier second below it.
    pub fn first_at(ts: i64) -> Oid {
        Oid(ts.clamp(0, u32::MAX as i64) as u32, 0)
    }
}

pub type Ix = u32;

#[derive(Debug, Clone)]
pub struct Person {
    pub id: Oid,
    pub given: String,
    pub family: String,
    pub email: String,
    pub is_active: bool,
    pub member: bool,
    /// (member field index, value)
    pub fields: Vec<(Ix, serde_json::Value)>,
}

#[derive(Debug, Clone)]
pub struct Employer {
    pub id: Oid,
    pub name: String,
    pub domain: String,
    pub founded: Option<i64>,
    pub description: String,
    pub location: String,
    pub is_partner: bool,
    pub jobs: i64,
    pub applications: i64,
    pub interviews: i64,
    pub offers: i64,
}

#[derive(Debug, Clone)]
pub struct Job {
    pub id: Oid,
    pub title: String,
    pub salary: Option<String>,
    pub url: Option<String>,
    pub html: Option<String>,
    pub deadline: Option<i64>,
    pub owner: Ix,
    pub creator: Ix,
    pub employer: Ix,
    pub list: String,
    /// (address, name, lat, lng); None renders `location: {}`.
    pub location: Option<(String, String, f64, f64)>,
    pub activities: Vec<Ix>,
    pub deleted: bool,
}

#[derive(Debug, Clone)]
pub struct Activity {
    pub id: Oid,
    pub title: String,
    pub note: Option<String>,
    pub completed: bool,
    pub completed_at: Option<i64>,
    pub start_at: Option<i64>,
    pub end_at: Option<i64>,
    pub workflow: bool,
    pub category: Ix,
    pub job: Option<Ix>,
    pub owner: Ix,
    pub creator: Ix,
    pub deleted: bool,
}

#[derive(Debug, Clone)]
pub struct Note {
    pub id: Oid,
    pub text: String,
    pub deleted: bool,
}

#[derive(Debug, Clone)]
pub struct Contact {
    pub id: Oid,
    pub first: String,
    pub last: String,
    pub email: String,
    pub title: String,
    pub location: String,
    pub profiles: Vec<(&'static str, String)>,
    pub jobs: Vec<Ix>,
    pub deleted: bool,
}

#[derive(Debug, Clone)]
pub struct Invitation {
    pub id: Oid,
    pub to_email: String,
    pub board_name: String,
    pub to: Option<Ix>,
    pub template: Option<Ix>,
    pub fields: Vec<(Ix, serde_json::Value)>,
    pub pending: bool,
    /// The advisor assigned to the member (`advisorEmail`); only written
    /// invitations have one, and the listing does not show it.
    pub advisor: Option<Ix>,
}

#[derive(Debug, Clone)]
pub struct Action {
    pub id: Oid,
    pub kind: ActionType,
    pub workflow: bool,
    pub owner: Ix,
    pub creator: Ix,
    pub job: Option<Ix>,
    pub activity: Option<Ix>,
    pub note: Option<Ix>,
    pub contact: Option<Ix>,
    pub member: Option<Ix>,
    pub invitation: Option<Ix>,
    pub from_list: Option<&'static str>,
    pub to_list: Option<&'static str>,
    pub update: Option<serde_json::Value>,
    /// The activity as this action left it, for an action that must not
    /// show the activity's current state (each half of a same-second
    /// pair); None renders the current state, as a database join would.
    pub snapshot: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Debug, Clone)]
pub struct Event {
    pub id: Oid,
    pub kind: &'static str,
    pub date: Option<i64>,
    pub member: Ix,
    pub job: Ix,
    pub from_list: Option<&'static str>,
    pub to_list: Option<&'static str>,
}

#[derive(Debug, Clone)]
pub struct MemberField {
    pub id: Oid,
    pub name: String,
    /// One of [`FIELD_TYPES`].
    pub field_type: &'static str,
    pub choices: Vec<String>,
}

/// The member field types a field can be created with.
pub const FIELD_TYPES: [&str; 4] = ["MULTIPLE_CHOICE", "TEXT", "NUMBER", "DATE"];

impl MemberField {
    /// Whether a value fits this field's type: MULTIPLE_CHOICE takes one
    /// of the choices or an array of them, NUMBER a JSON number, DATE
    /// integer Unix seconds, TEXT a string.
    pub fn accepts(&self, v: &serde_json::Value) -> bool {
        use serde_json::Value;
        let choice = |c: &Value| {
            c.as_str()
                .is_some_and(|c| self.choices.iter().any(|x| x == c))
        };
        match self.field_type {
            "MULTIPLE_CHOICE" | "MULTIPLE_SELECT" => match v {
                Value::Array(items) => items.iter().all(choice),
                other => choice(other),
            },
            "NUMBER" => v.is_number(),
            "DATE" => v.is_i64() || v.is_u64(),
            "TEXT" => v.is_string(),
            _ => false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct BoardTemplate {
    pub id: Oid,
    pub name: &'static str,
    pub lists: Vec<(Oid, &'static str)>,
    pub is_default: bool,
}

/// Newest-first listing order of a resource: id -> record index. Deleted
/// records leave the index (they are no longer listed).
pub type Index = BTreeMap<Oid, Ix>;

pub const STAGES: [&str; 6] = [
    "Wishlist",
    "Applied",
    "Phone Screen",
    "On Site Interview",
    "Offer",
    "Rejected",
];
pub const CATEGORIES: [&str; 23] = [
    "Email",
    "Meeting",
    "Phone Call",
    "Reach Out",
    "Get Reference",
    "Prep Cover Letter",
    "Prep Resume",
    "Apply",
    "Follow Up",
    "Send Availability",
    "Prep for Interview",
    "Phone Screen",
    "Phone Interview",
    "Assignment",
    "On Site Interview",
    "Rejected",
    "Offer Received",
    "Decline Offer",
    "Accept Offer",
    "Send Thank You",
    "Networking Event",
    "Application Withdrawn",
    "Other",
];
/// The whole organization, plus the listing indexes the server pages over.
#[derive(Debug, Clone)]
pub struct Org {
    pub(crate) rng: SmallRng,
    /// The last id's counter; some generated text shows it.
    pub(crate) counter: u64,
    /// The last written record's counter: records the Org API's writes
    /// create take their ids from here, so writes leave the generated
    /// ids, texts and random draws of later days as they were.
    pub(crate) write_counter: u64,
    /// The sandbox clock (unix seconds); the HTTP `Date` header shows it.
    pub now: i64,
    pub days: u32,
    pub people: Vec<Person>,
    pub advisors: Vec<Ix>,
    pub employers: Vec<Employer>,
    pub jobs: Vec<Job>,
    pub activities: Vec<Activity>,
    pub notes: Vec<Note>,
    pub contacts: Vec<Contact>,
    pub invitations: Vec<Invitation>,
    pub actions: Vec<Action>,
    pub events: Vec<Event>,
    pub fields: Vec<MemberField>,
    pub templates: Vec<BoardTemplate>,
    pub categories: Vec<(Oid, &'static str)>,
    pub members_ix: Index,
    pub employers_ix: Index,
    pub jobs_ix: Index,
    pub activities_ix: Index,
    pub actions_ix: Index,
    pub events_ix: Index,
    pub invitations_ix: Index,
    /// Fault injection for drift tests: extra fields and changed types.
    pub drift: bool,
    /// Quirks a test turns on (all off by default): see `quirks.rs`.
    pub quirks: Quirks,
    /// Goals, documents and the employer portal: `side.rs`.
    pub side: crate::side::Side,
    /// The job and talent portals: see `portal.rs`.
    pub portal: crate::portal::Portal,
    /// Member groups, notes, advisors, tags...: `roster.rs`, drawn from
    /// its own random stream.
    pub roster: crate::roster::Roster,
}

/// Behaviour of a less tidy API, off by default (the generated
/// organization and its days do not change unless one is set).
#[derive(Debug, Clone, Default)]
pub struct Quirks {
    /// A day's last this-many job changes arrive late: dated in the last
    /// five minutes of the day, they (the job's change and its action)
    /// become visible only when the next day begins.
    pub late_changes: u32,
    /// This many activities a day are completed and reopened in the same
    /// second: two ACTIVITY_UPDATED actions with consecutive ids, each
    /// carrying the activity as it left it.
    pub same_second_pairs: u32,
    /// This many completed activities a day are reopened: no `completedAt`
    /// any more, and every other one's note emptied.
    pub reopened_activities: u32,
    /// Late changes waiting for the next day: (date, job, an edit rather
    /// than a move).
    pub(crate) held: Vec<(i64, Ix, bool)>,
}

impl Org {
    /// An organization with nothing in it yet, its random draws seeded.
    pub(crate) fn empty(seed: u64) -> Org {
        Org {
            rng: SmallRng::seed_from_u64(seed),
            counter: 0,
            write_counter: 0,
            now: START,
            days: 0,
            people: Vec::new(),
            advisors: Vec::new(),
            employers: Vec::new(),
            jobs: Vec::new(),
            activities: Vec::new(),
            notes: Vec::new(),
            contacts: Vec::new(),
            invitations: Vec::new(),
            actions: Vec::new(),
            events: Vec::new(),
            fields: Vec::new(),
            templates: Vec::new(),
            categories: Vec::new(),
            members_ix: Index::new(),
            employers_ix: Index::new(),
            jobs_ix: Index::new(),
            activities_ix: Index::new(),
            actions_ix: Index::new(),
            events_ix: Index::new(),
            invitations_ix: Index::new(),
            drift: false,
            quirks: Quirks::default(),
            side: crate::side::Side::new(seed),
            portal: crate::portal::Portal::new(seed),
            roster: crate::roster::Roster::new(seed),
        }
    }

    /// The next id, created at `ts`.
    pub(crate) fn oid(&mut self, ts: i64) -> Oid {
        self.counter += 1;
        Oid(ts as u32, self.counter)
    }

    /// The next id of a record a write creates, at the sandbox clock: its
    /// counter has the top bit set, apart from every generated id.
    pub(crate) fn write_oid(&mut self) -> Oid {
        self.write_counter += 1;
        Oid(
            self.now.clamp(0, u32::MAX as i64) as u32,
            (1 << 63) | self.write_counter,
        )
    }

    /// One of `items`, at random.
    pub(crate) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.rng.random_range(0..items.len())]
    }

    /// A random second in `lo..hi` (`lo` when that is empty).
    pub(crate) fn ts_between(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            lo
        } else {
            self.rng.random_range(lo..hi)
        }
    }

    /// Records a new action and returns it to be filled in.
    pub(crate) fn action(
        &mut self,
        ts: i64,
        kind: ActionType,
        owner: Ix,
        creator: Ix,
    ) -> &mut Action {
        let id = self.oid(ts);
        self.action_at(id, kind, owner, creator)
    }

    /// Records a new action with id `id` and returns it to be filled in.
    pub(crate) fn action_at(
        &mut self,
        id: Oid,
        kind: ActionType,
        owner: Ix,
        creator: Ix,
    ) -> &mut Action {
        self.actions.push(Action {
            id,
            kind,
            workflow: false,
            owner,
            creator,
            job: None,
            activity: None,
            note: None,
            contact: None,
            member: None,
            invitation: None,
            from_list: None,
            to_list: None,
            update: None,
            snapshot: None,
        });
        let ix = (self.actions.len() - 1) as Ix;
        self.actions_ix.insert(id, ix);
        self.actions.last_mut().expect("just pushed")
    }

    /// A category's index by name (the last, "Other", for any other name).
    pub(crate) fn category(name: &str) -> Ix {
        CATEGORIES
            .iter()
            .position(|c| *c == name)
            .unwrap_or(CATEGORIES.len() - 1) as Ix
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_order_by_creation() {
        let o = Oid(1_700_000_000, 5);
        assert_eq!(Oid::parse(&o.hex()), Some(o));
        assert!(Oid::first_at(1_700_000_001) > o);
        assert!(Oid::parse("zz").is_none());
    }

    #[test]
    fn the_first_id_of_a_second_is_below_every_other_id_of_it() {
        let first = Oid::first_at(1_700_000_000);
        assert_eq!(first, Oid(1_700_000_000, 0));
        assert!(first < Oid(1_700_000_000, 1));
        assert!(first > Oid(1_699_999_999, u64::MAX));
        assert_eq!(Oid::first_at(-5), Oid(0, 0));
    }

    #[test]
    fn a_field_takes_only_values_of_its_type() {
        let field = |field_type| MemberField {
            id: Oid(0, 0),
            name: "f".into(),
            field_type,
            choices: vec!["a".into(), "b".into()],
        };
        use serde_json::json;
        let choice = field("MULTIPLE_CHOICE");
        assert!(choice.accepts(&json!("a")) && choice.accepts(&json!(["a", "b"])));
        assert!(!choice.accepts(&json!("c")) && !choice.accepts(&json!(["a", 1])));
        assert!(field("NUMBER").accepts(&json!(2.5)) && !field("NUMBER").accepts(&json!("2")));
        assert!(field("DATE").accepts(&json!(1_780_000_000)));
        assert!(
            !field("DATE").accepts(&json!(1.5)) && !field("DATE").accepts(&json!("2026-12-15"))
        );
        assert!(field("TEXT").accepts(&json!("x")) && !field("TEXT").accepts(&json!(null)));
    }
}
