//! Actions are the API's change log, so flattening one does more than
//! store it: by its [`ActionType`] it deletes (tombstones) jobs,
//! activities, notes and contacts, writes the note, contact or activity
//! snapshot it carries, and asks for jobs to be re-read. Types this version
//! does not know are stored like any other action and capture nothing,
//! except that an unknown `ACTIVITY_` type still re-reads its job.

use huntr_protocol::ActionType;

use super::records::{activity_context, contact, invitation, member, plain};
use super::{id_of, nested, record, str_of, text, Out};
use crate::json::{Node, Obj};
use crate::resources::Resource;
use crate::rows::{Mode, Op, Row, Val};
use crate::schema::tables::{
    action_employers, action_jobs, actions, activities, contacts, employers, jobs, notes,
};
use crate::schema::{Col, TableId};

/// The ids an action links to, each from its `xId` field or else from the
/// `id` of the nested object.
struct Links {
    job: Option<String>,
    employer: Option<String>,
    activity: Option<String>,
    note: Option<String>,
    contact: Option<String>,
}

impl Links {
    fn of(obj: &Obj) -> Links {
        let linked =
            |id_key: &str, obj_key: &str| str_of(obj, id_key).or_else(|| id_of(obj, obj_key));
        Links {
            job: linked("jobId", "job"),
            employer: linked("employerId", "employer"),
            activity: linked("activityId", "activity"),
            note: linked("noteId", "note"),
            contact: linked("contactId", "contact"),
        }
    }
}

/// Flattens an action and the change capture it implies: the carried note,
/// contact or activity snapshot, deletions, and jobs to re-read.
pub(super) fn action(obj: &Obj, as_of: i64, out: &mut Out) {
    let Some(id) = str_of(obj, "id") else { return };
    let links = Links::of(obj);
    let mut row = record(actions::TABLE, obj, Mode::Full, as_of);
    for (col, v) in [
        (actions::JOB_ID, &links.job),
        (actions::EMPLOYER_ID, &links.employer),
        (actions::ACTIVITY_ID, &links.activity),
        (actions::NOTE_ID, &links.note),
        (actions::CONTACT_ID, &links.contact),
    ] {
        if let Some(v) = v {
            row.set(col, text(v));
        }
    }
    // Goals, documents and the employer portal.
    let side = super::goals::SideLinks::of(obj);
    side.set(&mut row);
    let action_type = ActionType::parse(row.get(actions::ACTION_TYPE).as_str().unwrap_or(""));
    let date = match (row.get(actions::DATE), row.get(actions::CREATED_AT)) {
        (Val::Ts(d), _) | (Val::Null, Val::Ts(d)) => *d,
        _ => as_of,
    };
    super::portal_actions::link(obj, &mut row);
    out.push(Op::Upsert(row));
    linked_rows(obj, &id, out);
    activity_context(obj, out);
    if let Some(m) = nested(obj, "member") {
        // MEMBER_UPDATED and the like: a dated snapshot (member_actions.rs).
        if !super::member_actions::capture(m, &id, &action_type, date, out) {
            member(m, Mode::Partial, 0, out);
        }
    }
    if let Some(inv) = nested(obj, "organizationInvitation") {
        invitation(inv, Mode::Partial, 0, out);
    }
    capture(obj, &id, &action_type, &links, date, out);
    let employer = links.employer.as_deref();
    super::goals::capture(obj, &action_type, &side, employer, date, out);
    super::portal_actions::capture(obj, &id, &action_type, date, out);
    let refresh = matches!(action_type, ActionType::JobMoved | ActionType::JobUpdated)
        || action_type.is_activity();
    if let (true, Some(job_id)) = (refresh, links.job) {
        out.push(Op::RefreshJob { job_id, date });
    }
    if let Some(r) = Resource::announced_by(&action_type) {
        out.push(Op::Announce(r));
    }
}

/// A child table listing what an action's `jobs` or `employers` array
/// names, in order.
struct LinkTable {
    key: &'static str,
    table: TableId,
    action_id: Col,
    position: Col,
    linked_id: Col,
    /// The table an item given as an object is a snapshot of.
    snapshot: Option<TableId>,
}

const LINK_TABLES: [LinkTable; 2] = [
    LinkTable {
        key: "jobs",
        table: action_jobs::TABLE,
        action_id: action_jobs::ACTION_ID,
        position: action_jobs::POSITION,
        linked_id: action_jobs::JOB_ID,
        snapshot: None,
    },
    LinkTable {
        key: "employers",
        table: action_employers::TABLE,
        action_id: action_employers::ACTION_ID,
        position: action_employers::POSITION,
        linked_id: action_employers::EMPLOYER_ID,
        snapshot: Some(employers::TABLE),
    },
];

/// Rows of `action_jobs` and `action_employers`; an employer given as an
/// object is also a snapshot of its employer.
fn linked_rows(obj: &Obj, action_id: &str, out: &mut Out) {
    for link in &LINK_TABLES {
        let Some(Node::Arr(items)) = obj.get(link.key) else {
            continue;
        };
        for (i, item) in items.iter().enumerate() {
            let linked_id = match item {
                Node::Obj(o) => str_of(o, "id"),
                Node::Str(s) => Some(s.to_string()),
                _ => None,
            };
            let Some(linked_id) = linked_id else { continue };
            let mut child = Row::new(link.table, Mode::Full, 0);
            child
                .set(link.action_id, text(action_id))
                .set(link.position, Val::Int(i as i64))
                .set(link.linked_id, text(linked_id));
            out.push(Op::Upsert(child));
            if let (Node::Obj(o), Some(table)) = (item, link.snapshot) {
                plain(table, o, Mode::Partial, 0, out);
            }
        }
    }
}

/// The change action `id` of this type stands for.
fn capture(obj: &Obj, id: &str, action_type: &ActionType, links: &Links, date: i64, out: &mut Out) {
    let delete = |table: TableId, id: &Option<String>, out: &mut Out| {
        if let Some(id) = id {
            out.push(Op::Delete {
                table,
                id: id.clone(),
                at: date,
            });
        }
    };
    match action_type {
        ActionType::JobDeleted => delete(jobs::TABLE, &links.job, out),
        ActionType::ActivityDeleted => delete(activities::TABLE, &links.activity, out),
        ActionType::NoteDeleted => delete(notes::TABLE, &links.note, out),
        ActionType::ContactDeleted => delete(contacts::TABLE, &links.contact, out),
        ActionType::ActivityCreated | ActionType::ActivityUpdated => {
            if let Some(a) = nested(obj, "activity") {
                let update = *action_type == ActionType::ActivityUpdated;
                // An update's activity carries all its own fields, so one
                // it lacks was cleared (docs/SYNC_MODEL.md, "Cleared values").
                let mode = if update { Mode::Whole } else { Mode::Partial };
                if let Some(mut snap) = activity_snapshot(obj, a, mode, links, date) {
                    // An update's order key: its date, then the action's id.
                    if update {
                        snap.set(activities::AS_OF_ID, text(id));
                    }
                    out.push(Op::Upsert(snap));
                }
            }
        }
        ActionType::NoteCreated | ActionType::NoteUpdated => {
            if let Some(n) = nested(obj, "note") {
                plain(notes::TABLE, n, Mode::Full, date, out);
            }
        }
        ActionType::ContactCreated | ActionType::ContactUpdated => {
            if let Some(c) = nested(obj, "contact") {
                contact(c, date, out);
            }
        }
        // Every other type, known or not, is the action row alone.
        _ => {}
    }
}

/// The activity an ACTIVITY_CREATED or ACTIVITY_UPDATED action carries,
/// completed from the action's own links where the snapshot lacks them;
/// None without an id.
fn activity_snapshot(
    action: &Obj,
    activity: &Obj,
    mode: Mode,
    links: &Links,
    date: i64,
) -> Option<Row> {
    let mut snap = record(activities::TABLE, activity, mode, date);
    if snap.get(activities::ID).is_null() {
        let id = links.activity.clone().map(text).unwrap_or(Val::Null);
        snap.set(activities::ID, id);
    }
    for (col, v) in [
        (activities::JOB_ID, &links.job),
        (activities::EMPLOYER_ID, &links.employer),
    ] {
        if let (true, Some(v)) = (snap.get(col).is_null(), v) {
            snap.set(col, text(v));
        }
    }
    if let (true, Some(c)) = (
        snap.get(activities::ACTIVITY_CATEGORY_ID).is_null(),
        id_of(action, "activityCategory"),
    ) {
        snap.set(activities::ACTIVITY_CATEGORY_ID, text(c));
    }
    (!snap.get(activities::ID).is_null()).then_some(snap)
}
