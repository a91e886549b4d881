//! The roster: who the members are beyond their records, and how the
//! organization sorts and follows them. Member groups, internal member
//! notes, members' `lastSeenAt`, their advisor (reassigned now and then)
//! and their boards, a `MULTIPLE_SELECT` member field of specialties, the
//! MEMBER_UPDATED / MEMBER_DEACTIVATED / MEMBER_DELETED actions, and the
//! organization's tags (labels of job posts, drawn from the same stream).
//!
//! Everything here draws from its own random stream (seeded from the seed
//! with [`STREAM`]) and takes its ids from its own id space, so the rest
//! of the model (its records, ids and draws) is what it would be without
//! it, and the other endpoints answer the same but for the fields the
//! roster adds to members. The changes a day makes here do not touch what
//! the other phases pick from, except member deletions, which are off
//! unless a test asks for them (`/_sandbox/quirks?member_deletions=N`).
//! `roster_json.rs` renders it and states its truth.

use std::collections::HashMap;

use huntr_protocol::ActionType;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::org::{Action, Index, Ix, MemberField, Oid, Org, DAY, START};

/// Mixed into the seed for this module's random stream.
pub const STREAM: u64 = 0x17a0_5eed_17a0_5eed;
/// The top bits of this module's id counters: apart from generated and
/// written ids.
const ID_SPACE: u64 = 1 << 62;

const GROUPS: [&str; 5] = [
    "2026 Candidates",
    "Bootcamp Fall",
    "Alumni",
    "Career Switchers",
    "Scholarship",
];
const TAGS: [(&str, &str); 4] = [
    ("🔥 Hot Jobs", "#FF0000"),
    ("💎 Exclusive", "#A0A0FF"),
    ("Remote", "#00AA00"),
    ("Entry Level", "#FFAA00"),
];
const SPECIALTIES: [&str; 5] = ["Security+", "AWS", "Frontend", "Data", "Mobile"];
const NOTE_TEXTS: [&str; 4] = [
    "is doing a great job of sending applications!",
    "just finished a first interview.",
    "asked for help with a cover letter.",
    "missed the last two check-ins.",
];

#[derive(Debug, Clone)]
pub struct MemberGroup {
    pub id: Oid,
    pub name: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Tag {
    pub id: Oid,
    pub name: String,
    pub description: Option<String>,
    pub color: String,
    pub targets: Vec<&'static str>,
}

#[derive(Debug, Clone)]
pub struct MemberNote {
    pub id: Oid,
    pub member: Ix,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct Roster {
    rng: SmallRng,
    counter: u64,
    pub groups: Vec<MemberGroup>,
    pub tags: Vec<Tag>,
    pub notes: Vec<MemberNote>,
    /// Live notes, newest first as `/notes/members` lists them.
    pub notes_ix: Index,
    /// Members' `lastSeenAt` (none until seen).
    pub last_seen: HashMap<Ix, i64>,
    /// Members whose advisor changed from the one [`advisor_of`] derives.
    pub advisor: HashMap<Ix, Option<Ix>>,
    /// The `MULTIPLE_SELECT` field.
    pub select_field: Option<Ix>,
    /// Members deleted a day (MEMBER_DELETED); 0 unless a test sets it.
    pub member_deletions: u32,
}

impl Roster {
    pub fn new(seed: u64) -> Roster {
        Roster {
            rng: SmallRng::seed_from_u64(seed ^ STREAM),
            counter: 0,
            groups: Vec::new(),
            tags: Vec::new(),
            notes: Vec::new(),
            notes_ix: Index::new(),
            last_seen: HashMap::new(),
            advisor: HashMap::new(),
            select_field: None,
            member_deletions: 0,
        }
    }

    fn oid(&mut self, ts: i64) -> Oid {
        self.counter += 1;
        Oid(ts.clamp(0, u32::MAX as i64) as u32, ID_SPACE | self.counter)
    }

    fn between(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            lo
        } else {
            self.rng.random_range(lo..hi)
        }
    }
}

/// A member's advisor: a change made here, else one derived from the
/// member's id (every fifth member has none).
pub fn advisor_of(org: &Org, m: Ix) -> Option<Ix> {
    if let Some(a) = org.roster.advisor.get(&m) {
        return *a;
    }
    let id = org.people[m as usize].id;
    if org.advisors.is_empty() || id.1.is_multiple_of(5) {
        return None;
    }
    Some(org.advisors[(id.1 % org.advisors.len() as u64) as usize])
}

/// A member's boards, derived from the member's id: one, or two for every
/// third member.
pub fn boards_of(org: &Org, m: Ix) -> Vec<Oid> {
    let id = org.people[m as usize].id;
    let n = if id.1.is_multiple_of(3) { 2 } else { 1 };
    (0..n)
        .map(|k| Oid(id.0, (1 << 61) | (id.1 << 1) | k))
        .collect()
}

/// Builds this module's part of a freshly generated organization.
pub fn generate(org: &mut Org) {
    let t0 = START - 200 * DAY;
    for (i, name) in GROUPS.iter().take(3).enumerate() {
        let ts = org.roster.between(t0, START - DAY);
        let id = org.roster.oid(ts);
        let description = (i != 1).then(|| format!("{name} cohort"));
        org.roster.groups.push(MemberGroup {
            id,
            name: (*name).to_owned(),
            description,
        });
    }
    for (name, color) in TAGS.iter().take(2) {
        new_tag(org, t0, name, color);
    }
    let id = org.roster.oid(t0);
    org.fields.push(MemberField {
        id,
        name: "Specialties".into(),
        field_type: "MULTIPLE_SELECT",
        choices: SPECIALTIES.iter().map(|c| (*c).to_owned()).collect(),
    });
    org.roster.select_field = Some((org.fields.len() - 1) as Ix);
    let members: Vec<Ix> = org.members_ix.values().copied().collect();
    for m in members {
        let joined = org.people[m as usize].id.created();
        let seen = org.roster.between(joined, START);
        org.roster.last_seen.insert(m, seen);
        if org.roster.rng.random_bool(0.4) {
            set_specialties(org, m);
        }
        if org.roster.rng.random_bool(0.3) {
            let ts = org.roster.between(joined, START);
            new_note(org, ts, m);
        }
    }
}

fn new_tag(org: &mut Org, ts: i64, name: &str, color: &str) {
    let id = org.roster.oid(ts);
    let description = org
        .roster
        .rng
        .random_bool(0.7)
        .then(|| format!("{name} job posts"));
    org.roster.tags.push(Tag {
        id,
        name: name.to_owned(),
        description,
        color: color.to_owned(),
        targets: vec!["JOB_POST"],
    });
}

/// Gives member `m` one to three specialties (the MULTIPLE_SELECT field).
fn set_specialties(org: &mut Org, m: Ix) {
    let Some(f) = org.roster.select_field else {
        return;
    };
    let n = org.roster.rng.random_range(1..4);
    let first = org.roster.rng.random_range(0..SPECIALTIES.len());
    let picked: Vec<&str> = (0..n)
        .map(|k| SPECIALTIES[(first + k) % SPECIALTIES.len()])
        .collect();
    let value = serde_json::json!(picked);
    let fields = &mut org.people[m as usize].fields;
    match fields.iter_mut().find(|(x, _)| *x == f) {
        Some(slot) => slot.1 = value,
        None => fields.push((f, value)),
    }
}

fn new_note(org: &mut Org, ts: i64, m: Ix) {
    let id = org.roster.oid(ts);
    let k = org.roster.rng.random_range(0..NOTE_TEXTS.len());
    let text = format!("{} {}", org.people[m as usize].given, NOTE_TEXTS[k]);
    org.roster.notes.push(MemberNote {
        id,
        member: m,
        text,
    });
    let ix = (org.roster.notes.len() - 1) as Ix;
    org.roster.notes_ix.insert(id, ix);
}

/// Records a MEMBER_* action about member `m`, with an id of this
/// module's space.
fn member_action(org: &mut Org, ts: i64, kind: ActionType, m: Ix, update: serde_json::Value) {
    let id = org.roster.oid(ts);
    let creator = advisor_of(org, m).unwrap_or(m);
    org.actions.push(Action {
        id,
        kind,
        workflow: false,
        owner: m,
        creator,
        job: None,
        activity: None,
        note: None,
        contact: None,
        member: Some(m),
        invitation: None,
        from_list: None,
        to_list: None,
        update: Some(update).filter(|u| !u.is_null()),
        snapshot: None,
    });
    org.actions_ix.insert(id, (org.actions.len() - 1) as Ix);
}

/// One simulated day of this module, from `prev` to `end`, after the other
/// phases; `active` were the active members as the day began.
pub fn day(org: &mut Org, prev: i64, end: i64, active: &[Ix]) {
    let members: Vec<Ix> = org.members_ix.values().copied().collect();
    let scale = (members.len() as u32).max(10);
    // About one member in seven uses Huntr on a given day.
    for &m in &members {
        if org.people[m as usize].is_active && org.roster.rng.random_bool(0.15) {
            let ts = org.roster.between(prev, end);
            org.roster.last_seen.insert(m, ts);
        }
    }
    // The other phases' deactivations and field change, as actions.
    for &m in active {
        if !org.people[m as usize].is_active
            && org.members_ix.contains_key(&org.people[m as usize].id)
        {
            let ts = org.roster.between(prev, end);
            member_action(
                org,
                ts,
                ActionType::MemberDeactivated,
                m,
                serde_json::Value::Null,
            );
        }
    }
    if let Some(&m) = members.first() {
        if let Some((f, v)) = org.people[m as usize].fields.iter().find(|f| f.0 == 1) {
            let update =
                serde_json::json!({"fieldId": org.fields[*f as usize].id.hex(), "value": v});
            let ts = org.roster.between(prev, end);
            member_action(org, ts, ActionType::MemberUpdated, m, update);
        }
    }
    reassign_and_select(org, prev, end, &members, scale);
    notes_groups_tags(org, prev, end, &members, scale);
    delete_members(org, prev, end, &members);
}

/// Advisors reassigned and specialties changed: MEMBER_UPDATED actions.
fn reassign_and_select(org: &mut Org, prev: i64, end: i64, members: &[Ix], scale: u32) {
    if members.is_empty() || org.advisors.is_empty() {
        return;
    }
    for _ in 0..(scale / 50).max(1) {
        let m = members[org.roster.rng.random_range(0..members.len())];
        let a = org.advisors[org.roster.rng.random_range(0..org.advisors.len())];
        org.roster.advisor.insert(m, Some(a));
        let ts = org.roster.between(prev, end);
        let update = serde_json::json!({"advisor": org.people[a as usize].id.hex()});
        member_action(org, ts, ActionType::MemberUpdated, m, update);
    }
    let m = members[org.roster.rng.random_range(0..members.len())];
    set_specialties(org, m);
    let f = org
        .roster
        .select_field
        .map(|f| org.fields[f as usize].id.hex());
    let ts = org.roster.between(prev, end);
    member_action(
        org,
        ts,
        ActionType::MemberUpdated,
        m,
        serde_json::json!({"fieldId": f}),
    );
}

/// New and deleted member notes, now and then a new group or tag.
fn notes_groups_tags(org: &mut Org, prev: i64, end: i64, members: &[Ix], scale: u32) {
    if !members.is_empty() {
        for _ in 0..(scale / 20).max(1) {
            let m = members[org.roster.rng.random_range(0..members.len())];
            let ts = org.roster.between(prev, end);
            new_note(org, ts, m);
        }
    }
    if org.roster.rng.random_bool(0.5) && !org.roster.notes_ix.is_empty() {
        let k = org.roster.rng.random_range(0..org.roster.notes_ix.len());
        if let Some(id) = org.roster.notes_ix.keys().nth(k).copied() {
            org.roster.notes_ix.remove(&id);
        }
    }
    let n = org.roster.groups.len();
    if n < GROUPS.len() && org.roster.rng.random_bool(0.3) {
        let ts = org.roster.between(prev, end);
        let id = org.roster.oid(ts);
        org.roster.groups.push(MemberGroup {
            id,
            name: GROUPS[n].to_owned(),
            description: Some(format!("{} cohort", GROUPS[n])),
        });
    }
    let n = org.roster.tags.len();
    if n < TAGS.len() && org.roster.rng.random_bool(0.2) {
        let ts = org.roster.between(prev, end);
        new_tag(org, ts, TAGS[n].0, TAGS[n].1);
    }
}

/// Members deleted (off unless a test sets `member_deletions`): off the
/// listing, a MEMBER_DELETED action.
fn delete_members(org: &mut Org, prev: i64, end: i64, members: &[Ix]) {
    for _ in 0..org.roster.member_deletions {
        let live: Vec<Ix> = members
            .iter()
            .copied()
            .filter(|m| org.members_ix.contains_key(&org.people[*m as usize].id))
            .collect();
        if live.len() < 2 {
            return;
        }
        let m = live[org.roster.rng.random_range(0..live.len())];
        org.members_ix.remove(&org.people[m as usize].id);
        let ts = org.roster.between(prev, end);
        member_action(
            org,
            ts,
            ActionType::MemberDeleted,
            m,
            serde_json::Value::Null,
        );
    }
}
