//! Flattening of the roster's parts that need code: the fields a member
//! carries besides its record (`advisor`, `boardIds`;
//! `memberFieldValuesKeyedById` repeats `memberFieldValues` and is consumed
//! without a table) and tags with their target objects. Advisors, member
//! groups and member notes are plain records (`records::plain`).

use super::records::plain;
use super::{nested, record, str_of, text, Out};
use crate::json::{Node, Obj};
use crate::rows::{Mode, Op, Row, Val};
use crate::schema::tables::{advisors, member_boards, people, tag_target_objects, tags};

/// What a member record carries besides its row and field values: its
/// boards (from the member's own endpoint only) and its advisor, a
/// snapshot of an `advisors` row and of a `people` row.
pub(super) fn member_extras(obj: &Obj, id: &str, mode: Mode, out: &mut Out) {
    if mode == Mode::Full {
        if let Some(Node::Arr(boards)) = obj.get("boardIds") {
            for (i, b) in boards.iter().enumerate() {
                let Some(board) = b.as_str().filter(|s| !s.is_empty()) else {
                    continue;
                };
                let mut row = Row::new(member_boards::TABLE, Mode::Full, 0);
                row.set(member_boards::MEMBER_ID, text(id))
                    .set(member_boards::POSITION, Val::Int(i as i64))
                    .set(member_boards::BOARD_ID, text(board));
                out.push(Op::Upsert(row));
            }
        }
    }
    if let Some(a) = nested(obj, "advisor") {
        plain(advisors::TABLE, a, Mode::Partial, 0, out);
        plain(people::TABLE, a, Mode::Partial, 0, out);
    }
}

/// The values of `memberFieldValuesKeyedById` as a `memberFieldValues`
/// array, for a member that carries only the keyed form.
pub(super) fn keyed_values<'j>(obj: &Obj<'j>) -> Option<Node<'j>> {
    if obj.get("memberFieldValues").is_some() {
        return None;
    }
    let keyed = nested(obj, "memberFieldValuesKeyedById")?;
    Some(Node::Arr(keyed.iter().map(|(_, v)| v.clone()).collect()))
}

/// A tag of `GET /tags` and the kinds of record it applies to.
pub(super) fn tag(obj: &Obj, as_of: i64, out: &mut Out) {
    let Some(id) = str_of(obj, "id") else { return };
    out.push(Op::Upsert(record(tags::TABLE, obj, Mode::Full, as_of)));
    if let Some(Node::Arr(targets)) = obj.get("targetObjects") {
        for (i, t) in targets.iter().enumerate() {
            let Some(target) = t.as_str() else { continue };
            let mut row = Row::new(tag_target_objects::TABLE, Mode::Full, 0);
            row.set(tag_target_objects::TAG_ID, text(&id))
                .set(tag_target_objects::POSITION, Val::Int(i as i64))
                .set(tag_target_objects::TARGET_OBJECT, text(target));
            out.push(Op::Upsert(row));
        }
    }
}
