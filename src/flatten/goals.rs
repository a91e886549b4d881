//! Goals, documents and the employer portal: the goal listing with
//! its conditions, triggers, recurrence and intervals, and the objects only
//! actions carry (goal enrollments and progresses, documents, employer
//! requests and partnerships). Those have no list endpoint, so an action's
//! object is their authority, a snapshot dated by the action, exactly as a
//! note in a NOTE_* action; `DOCUMENT_DELETED` tombstones its document.

use huntr_protocol::ActionType;

use super::records::{person, plain};
use super::{convert, id_of, nested, record, str_of, text, Out};
use crate::json::{Node, Obj};
use crate::rows::{Mode, Op, Row, Val};
use crate::schema::tables::{
    actions, documents, employer_partnerships, employer_requests, goal_conditions,
    goal_enrollment_triggers, goal_enrollments, goal_intervals, goal_progress_activities,
    goal_progress_contacts, goal_progress_jobs, goal_progresses, goal_recurrence_values, goals,
};
use crate::schema::{Col, ColType, TableId};

/// The ids of the goal, enrollment, progress, document, employer request
/// and partnership an action links to, each from its `xId` field or else
/// from the nested object's `id`.
pub(super) struct SideLinks {
    goal: Option<String>,
    enrollment: Option<String>,
    progress: Option<String>,
    document: Option<String>,
    request: Option<String>,
    partnership: Option<String>,
}

impl SideLinks {
    pub(super) fn of(obj: &Obj) -> SideLinks {
        let linked =
            |id_key: &str, obj_key: &str| str_of(obj, id_key).or_else(|| id_of(obj, obj_key));
        SideLinks {
            goal: linked("goalId", "goal"),
            enrollment: linked("goalEnrollmentId", "goalEnrollment"),
            progress: linked("goalProgressId", "goalProgress"),
            document: linked("documentId", "document"),
            request: linked(
                "organizationEmployerRequestId",
                "organizationEmployerRequest",
            ),
            partnership: linked(
                "organizationEmployerPartnershipId",
                "organizationEmployerPartnership",
            ),
        }
    }

    /// Sets the action row's link columns.
    pub(super) fn set(&self, row: &mut Row) {
        for (col, v) in [
            (actions::GOAL_ID, &self.goal),
            (actions::GOAL_ENROLLMENT_ID, &self.enrollment),
            (actions::GOAL_PROGRESS_ID, &self.progress),
            (actions::DOCUMENT_ID, &self.document),
            (actions::EMPLOYER_REQUEST_ID, &self.request),
            (actions::EMPLOYER_PARTNERSHIP_ID, &self.partnership),
        ] {
            if let Some(v) = v {
                row.set(col, text(v));
            }
        }
    }
}

/// A goal: its row, and when read from `/goals` (`Mode::Full`) its
/// conditions, triggers and recurrence arrays; its intervals and owner are
/// snapshots either way.
pub(super) fn goal(obj: &Obj, mode: Mode, as_of: i64, out: &mut Out) {
    let Some(id) = str_of(obj, "id") else { return };
    out.push(Op::Upsert(record(goals::TABLE, obj, mode, as_of)));
    if mode == Mode::Full {
        goal_children(obj, &id, out);
    }
    for key in ["firstGoalInterval", "currentGoalInterval"] {
        if let Some(i) = nested(obj, key) {
            plain(goal_intervals::TABLE, i, Mode::Partial, 0, out);
        }
    }
    person(obj, "ownerMember", out);
}

fn value(v: &Node) -> Val {
    convert::convert(ColType::Value, v).unwrap_or(Val::Null)
}

fn goal_children(obj: &Obj, id: &str, out: &mut Out) {
    if let Some(Node::Arr(items)) = obj.get("objectiveEntityConditions") {
        for (i, c) in items.iter().enumerate() {
            let Some(c) = c.as_object() else { continue };
            let mut row = record(goal_conditions::TABLE, c, Mode::Full, 0);
            row.set(goal_conditions::GOAL_ID, text(id))
                .set(goal_conditions::POSITION, Val::Int(i as i64));
            out.push(Op::Upsert(row));
        }
    }
    if let Some(Node::Arr(items)) = obj.get("enrollmentTriggers") {
        for (i, t) in items.iter().enumerate() {
            let mut row = Row::new(goal_enrollment_triggers::TABLE, Mode::Full, 0);
            row.set(goal_enrollment_triggers::GOAL_ID, text(id))
                .set(goal_enrollment_triggers::POSITION, Val::Int(i as i64))
                .set(goal_enrollment_triggers::TRIGGER_VALUE, value(t));
            out.push(Op::Upsert(row));
        }
    }
    let Some(rec) = nested(obj, "goalRecurrence") else {
        return;
    };
    for (rule, v) in rec.iter() {
        let Node::Arr(items) = v else { continue };
        for (i, item) in items.iter().enumerate() {
            let mut row = Row::new(goal_recurrence_values::TABLE, Mode::Full, 0);
            row.set(goal_recurrence_values::GOAL_ID, text(id))
                .set(goal_recurrence_values::RULE, text(rule))
                .set(goal_recurrence_values::POSITION, Val::Int(i as i64))
                .set(goal_recurrence_values::VALUE, value(item));
            out.push(Op::Upsert(row));
        }
    }
}

/// A goal enrollment as of `date`, its starting interval and its member.
fn enrollment(obj: &Obj, date: i64, out: &mut Out) {
    if str_of(obj, "id").is_none() {
        return;
    }
    let mut row = record(goal_enrollments::TABLE, obj, Mode::Full, date);
    let start =
        str_of(obj, "startingGoalIntervalId").or_else(|| id_of(obj, "startingGoalInterval"));
    if let Some(s) = start {
        row.set(goal_enrollments::STARTING_GOAL_INTERVAL_ID, text(s));
    }
    out.push(Op::Upsert(row));
    if let Some(i) = nested(obj, "startingGoalInterval") {
        plain(goal_intervals::TABLE, i, Mode::Partial, 0, out);
    }
    person(obj, "ownerMember", out);
}

/// An `objective*Ids` array of a goal progress: its child table and columns.
const OBJECTIVES: [(&str, TableId, Col, Col, Col); 3] = [
    (
        "objectiveActivityIds",
        goal_progress_activities::TABLE,
        goal_progress_activities::GOAL_PROGRESS_ID,
        goal_progress_activities::POSITION,
        goal_progress_activities::ACTIVITY_ID,
    ),
    (
        "objectiveJobIds",
        goal_progress_jobs::TABLE,
        goal_progress_jobs::GOAL_PROGRESS_ID,
        goal_progress_jobs::POSITION,
        goal_progress_jobs::JOB_ID,
    ),
    (
        "objectiveContactIds",
        goal_progress_contacts::TABLE,
        goal_progress_contacts::GOAL_PROGRESS_ID,
        goal_progress_contacts::POSITION,
        goal_progress_contacts::CONTACT_ID,
    ),
];

/// A goal progress as of `date`, with the ids counting towards it.
fn progress(obj: &Obj, date: i64, out: &mut Out) {
    let Some(id) = str_of(obj, "id") else { return };
    out.push(Op::Upsert(record(
        goal_progresses::TABLE,
        obj,
        Mode::Full,
        date,
    )));
    for (key, table, parent, position, linked) in OBJECTIVES {
        let Some(Node::Arr(items)) = obj.get(key) else {
            continue;
        };
        for (i, item) in items.iter().enumerate() {
            let linked_id = match item {
                Node::Str(s) if !s.is_empty() => s.to_string(),
                Node::Obj(o) => match str_of(o, "id") {
                    Some(s) => s,
                    None => continue,
                },
                _ => continue,
            };
            let mut row = Row::new(table, Mode::Full, 0);
            row.set(parent, text(&id))
                .set(position, Val::Int(i as i64))
                .set(linked, text(linked_id));
            out.push(Op::Upsert(row));
        }
    }
}

/// A row of `table` from `obj` as of `date`, its `employer_id` taken from
/// the carrying action when the object does not name one.
fn with_employer(
    table: TableId,
    col: Col,
    obj: &Obj,
    employer: Option<&str>,
    date: i64,
    out: &mut Out,
) {
    if str_of(obj, "id").is_none() {
        return;
    }
    let mut row = record(table, obj, Mode::Full, date);
    if let (true, Some(e)) = (row.get(col).is_null(), employer) {
        row.set(col, text(e));
    }
    out.push(Op::Upsert(row));
}

/// The change an action of these families stands for: the snapshots it
/// carries (the goal only partially: `/goals` is its authority) and the
/// deletion of a document. Types of a family this version does not know
/// still store the objects they carry.
pub(super) fn capture(
    obj: &Obj,
    action_type: &ActionType,
    links: &SideLinks,
    employer: Option<&str>,
    date: i64,
    out: &mut Out,
) {
    let name = action_type.as_str();
    if name.starts_with("GOAL_") {
        if let Some(g) = nested(obj, "goal") {
            goal(g, Mode::Partial, 0, out);
        }
        if let Some(e) = nested(obj, "goalEnrollment") {
            enrollment(e, date, out);
        }
        if let Some(p) = nested(obj, "goalProgress") {
            progress(p, date, out);
        }
    } else if *action_type == ActionType::DocumentDeleted {
        if let Some(id) = &links.document {
            out.push(Op::Delete {
                table: documents::TABLE,
                id: id.clone(),
                at: date,
            });
        }
    } else if name.starts_with("DOCUMENT_") {
        if let Some(d) = nested(obj, "document") {
            plain(documents::TABLE, d, Mode::Full, date, out);
        }
    } else if name.starts_with("ORGANIZATION_EMPLOYER_") {
        if let Some(r) = nested(obj, "organizationEmployerRequest") {
            let col = employer_requests::EMPLOYER_ID;
            with_employer(employer_requests::TABLE, col, r, employer, date, out);
        }
        if let Some(p) = nested(obj, "organizationEmployerPartnership") {
            let col = employer_partnerships::EMPLOYER_ID;
            with_employer(employer_partnerships::TABLE, col, p, employer, date, out);
        }
    }
}

#[cfg(test)]
#[path = "goals_tests.rs"]
mod tests;
