//! The change capture of the MEMBER_* actions of the newer reference,
//! which keep `members` current between two listings.
//!
//! The `member` an action carries is the member as of the action's date,
//! so it merges as a dated update (like an ACTIVITY_UPDATED snapshot):
//! its values win over older data, and the next listing (dated at the
//! run's bound, later than any action it reads) wins over it.
//! MEMBER_DEACTIVATED shows the member inactive, as the next listing will;
//! MEMBER_DELETED sets `deleted_at` to the action's date, and the next
//! listing, no longer listing the member, sets `removed_at`.

use huntr_protocol::ActionType;

use super::records::plain;
use super::roster::member_extras;
use super::{record, str_of, text, Out};
use crate::json::Obj;
use crate::rows::{Mode, Op, Val};
use crate::schema::tables::{members, people};

/// Captures what a MEMBER_UPDATED, MEMBER_DEACTIVATED or MEMBER_DELETED
/// action `action_id` dated `date` says of its `member`; false for any
/// other type (the member is then a partial snapshot, as before).
pub(super) fn capture(
    member: &Obj,
    action_id: &str,
    action_type: &ActionType,
    date: i64,
    out: &mut Out,
) -> bool {
    let Some(id) = str_of(member, "id") else {
        return false;
    };
    match action_type {
        ActionType::MemberUpdated | ActionType::MemberDeactivated => {
            let mut row = record(members::TABLE, member, Mode::Update, date);
            // An update's order key: its date, then the action's id.
            row.set(members::AS_OF_ID, text(action_id));
            if *action_type == ActionType::MemberDeactivated {
                row.set(members::IS_ACTIVE, Val::Bool(false));
            }
            out.push(Op::Upsert(row));
        }
        ActionType::MemberDeleted => out.push(Op::Delete {
            table: members::TABLE,
            id: id.clone(),
            at: date,
        }),
        _ => return false,
    }
    member_extras(member, &id, Mode::Update, out);
    plain(people::TABLE, member, Mode::Partial, 0, out);
    true
}
