//! The per-resource half of flattening: what each resource carries besides
//! its own columns. Arrays become child rows keyed by position or field,
//! nested objects with an id become partial snapshots of their own tables
//! (people, employers, board templates, activities). Actions, which also
//! capture changes, are in `actions`.

use std::collections::HashSet;

use super::{convert, nested, record, str_of, text, Out};
use crate::json::{Node, Obj};
use crate::rows::{Mode, Op, Row, Val};
use crate::schema::tables::{
    activities, activity_categories, board_template_lists, board_templates, contact_profiles,
    contacts, employers, events, job_interview_activities, jobs, member_field_choices,
    member_field_values, member_fields, members, organization_invitation_field_values,
    organization_invitations, people,
};
use crate::schema::{Col, ColType, TableId};

pub(super) fn plain(table: TableId, obj: &Obj, mode: Mode, as_of: i64, out: &mut Out) {
    if str_of(obj, "id").is_none() || (mode == Mode::Partial && out.page.repeated(table, obj)) {
        return;
    }
    out.push(Op::Upsert(record(table, obj, mode, as_of)));
}

/// A person-shaped object, wherever it appears: a `people` row.
pub(super) fn person(obj: &Obj, key: &str, out: &mut Out) {
    if let Some(p) = nested(obj, key) {
        plain(people::TABLE, p, Mode::Partial, 0, out);
    }
}

/// `[{fieldId, value}]` arrays of members and invitations: rows of `table`
/// whose `field` is set and whose `parent_col` names `parent`.
fn field_values(
    (table, field, parent_col): (TableId, Col, Col),
    parent: &str,
    arr: Option<&Node>,
    out: &mut Out,
) {
    let Some(Node::Arr(items)) = arr else {
        return;
    };
    for item in items.iter().filter_map(Node::as_object) {
        let mut row = record(table, item, Mode::Full, 0);
        if row.get(field).is_null() {
            continue;
        }
        row.set(parent_col, text(parent));
        out.push(Op::Upsert(row));
    }
}

pub(super) fn member(obj: &Obj, mode: Mode, as_of: i64, out: &mut Out) {
    let Some(id) = str_of(obj, "id") else { return };
    out.push(Op::Upsert(record(members::TABLE, obj, mode, as_of)));
    if mode == Mode::Full {
        let values = (
            member_field_values::TABLE,
            member_field_values::FIELD_ID,
            member_field_values::MEMBER_ID,
        );
        // `memberFieldValuesKeyedById` repeats the same values: read only
        // when the array is missing.
        let keyed = super::roster::keyed_values(obj);
        let arr = obj.get("memberFieldValues").or(keyed.as_ref());
        field_values(values, &id, arr, out);
    }
    super::roster::member_extras(obj, &id, mode, out);
    plain(people::TABLE, obj, Mode::Partial, 0, out);
}

pub(super) fn member_field(obj: &Obj, as_of: i64, out: &mut Out) {
    let Some(id) = str_of(obj, "id") else { return };
    out.push(Op::Upsert(record(
        member_fields::TABLE,
        obj,
        Mode::Full,
        as_of,
    )));
    if let Some(Node::Arr(choices)) = obj.get("choices") {
        for (i, c) in choices.iter().enumerate() {
            let mut row = Row::new(member_field_choices::TABLE, Mode::Full, 0);
            let choice = convert::convert(ColType::Value, c).unwrap_or(Val::Null);
            row.set(member_field_choices::FIELD_ID, text(&id))
                .set(member_field_choices::POSITION, Val::Int(i as i64))
                .set(member_field_choices::CHOICE, choice);
            out.push(Op::Upsert(row));
        }
    }
}

pub(super) fn board_template(obj: &Obj, as_of: i64, out: &mut Out) {
    let Some(id) = str_of(obj, "id") else { return };
    out.push(Op::Upsert(record(
        board_templates::TABLE,
        obj,
        Mode::Full,
        as_of,
    )));
    // Positions, not ids, key the stages: the API repeats list template ids.
    if let Some(Node::Arr(lists)) = obj.get("listTemplates") {
        for (i, l) in lists.iter().enumerate() {
            let Some(l) = l.as_object() else { continue };
            let mut row = record(board_template_lists::TABLE, l, Mode::Full, 0);
            row.set(board_template_lists::BOARD_TEMPLATE_ID, text(&id))
                .set(board_template_lists::POSITION, Val::Int(i as i64));
            out.push(Op::Upsert(row));
        }
    }
}

pub(super) fn invitation(obj: &Obj, mode: Mode, as_of: i64, out: &mut Out) {
    let Some(id) = str_of(obj, "id") else { return };
    out.push(Op::Upsert(record(
        organization_invitations::TABLE,
        obj,
        mode,
        as_of,
    )));
    if mode == Mode::Full {
        let values = (
            organization_invitation_field_values::TABLE,
            organization_invitation_field_values::FIELD_ID,
            organization_invitation_field_values::INVITATION_ID,
        );
        field_values(values, &id, obj.get("memberFieldValues"), out);
    }
    person(obj, "to", out);
    if let Some(bt) = nested(obj, "boardTemplate") {
        plain(board_templates::TABLE, bt, Mode::Partial, 0, out);
    }
}

pub(super) fn employer_snapshots(obj: &Obj, out: &mut Out) {
    if let Some(e) = nested(obj, "employer") {
        plain(employers::TABLE, e, Mode::Partial, 0, out);
    }
}

pub(super) fn job(obj: &Obj, mode: Mode, as_of: i64, out: &mut Out) {
    let Some(id) = str_of(obj, "id") else { return };
    out.push(Op::Upsert(record(jobs::TABLE, obj, mode, as_of)));
    if mode == Mode::Full {
        if let Some(Node::Arr(items)) = obj.get("interviewActivities") {
            for (i, a) in items.iter().enumerate() {
                let Some(a) = a.as_object() else { continue };
                let mut row = record(job_interview_activities::TABLE, a, Mode::Full, 0);
                row.set(job_interview_activities::JOB_ID, text(&id))
                    .set(job_interview_activities::POSITION, Val::Int(i as i64));
                out.push(Op::Upsert(row));
            }
        }
    }
    person(obj, "ownerMember", out);
    person(obj, "creatorMember", out);
    employer_snapshots(obj, out);
    embedded_job_post(obj, out);
    embedded_activities(obj, &id, out);
}

/// Embedded activities are snapshots of rows /activities owns, each tied
/// to the job that carries it, once.
fn embedded_activities(obj: &Obj, job_id: &str, out: &mut Out) {
    let mut embedded: Vec<&Obj> = Vec::new();
    for key in ["activities", "interviewActivities"] {
        if let Some(Node::Arr(items)) = obj.get(key) {
            embedded.extend(items.iter().filter_map(Node::as_object));
        }
    }
    for key in [
        "applicationActivity",
        "offerActivity",
        "offerAcceptedActivity",
    ] {
        embedded.extend(nested(obj, key));
    }
    let mut seen = HashSet::new();
    for a in embedded {
        let Some(aid) = str_of(a, "id") else { continue };
        if seen.insert(aid) {
            let mut row = record(activities::TABLE, a, Mode::Partial, 0);
            row.set(activities::JOB_ID, text(job_id));
            out.push(Op::Upsert(row));
        }
    }
}

pub(super) fn activity(obj: &Obj, mode: Mode, as_of: i64, out: &mut Out) {
    if str_of(obj, "id").is_none() {
        return;
    }
    out.push(Op::Upsert(record(activities::TABLE, obj, mode, as_of)));
    activity_context(obj, out);
}

/// The nested objects an activity or an action carries.
pub(super) fn activity_context(obj: &Obj, out: &mut Out) {
    person(obj, "ownerMember", out);
    person(obj, "creatorMember", out);
    if let Some(j) = nested(obj, "job") {
        job(j, Mode::Partial, 0, out);
    }
    employer_snapshots(obj, out);
    if let Some(c) = nested(obj, "activityCategory") {
        plain(activity_categories::TABLE, c, Mode::Partial, 0, out);
    }
    embedded_job_post(obj, out);
}

/// A job, activity or action's `jobPost`: a partial job post row.
fn embedded_job_post(obj: &Obj, out: &mut Out) {
    if let Some(p) = nested(obj, "jobPost") {
        super::portal::push_job_post(p, Mode::Partial, 0, out);
    }
}

pub(super) fn contact(obj: &Obj, as_of: i64, out: &mut Out) {
    let Some(id) = str_of(obj, "id") else { return };
    out.push(Op::Upsert(record(contacts::TABLE, obj, Mode::Full, as_of)));
    if let Some(profiles) = nested(obj, "profiles") {
        for (network, handle) in profiles.iter() {
            let handle = convert::convert(ColType::Value, handle).unwrap_or(Val::Null);
            let mut row = Row::new(contact_profiles::TABLE, Mode::Full, 0);
            row.set(contact_profiles::CONTACT_ID, text(&id))
                .set(contact_profiles::NETWORK, text(network))
                .set(contact_profiles::HANDLE, handle);
            out.push(Op::Upsert(row));
        }
    }
}

pub(super) fn event(obj: &Obj, as_of: i64, out: &mut Out) {
    out.push(Op::Upsert(record(events::TABLE, obj, Mode::Full, as_of)));
    person(obj, "member", out);
    if let Some(j) = nested(obj, "job") {
        job(j, Mode::Partial, 0, out);
    }
}
