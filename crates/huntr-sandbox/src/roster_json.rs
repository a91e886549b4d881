//! How the sandbox shows what `roster.rs` models: the JSON of members'
//! roster fields, member groups, tags and member notes, and the ground
//! truth of the tables and columns they feed.

use huntr_protocol::timefmt::iso;
use huntr_protocol::ActionType;
use serde_json::{json, Map, Value};

use crate::org::{Ix, Org};
use crate::roster::{advisor_of, boards_of};
use crate::truth::Truth;

/// Whether an action of this type carries the member as `/members` lists
/// it (the MEMBER_* types), not the short form.
pub fn full_member(kind: &ActionType) -> bool {
    matches!(
        kind,
        ActionType::MemberUpdated | ActionType::MemberDeactivated | ActionType::MemberDeleted
    )
}

/// An advisor's `lastSeenAt`: a few hours before the sandbox clock, fixed
/// per advisor (as `advisor_json` renders it).
fn advisor_last_seen(org: &Org, a: Ix) -> i64 {
    let p = &org.people[a as usize];
    (org.now - (p.id.1 % 48) as i64 * 3600).max(p.id.created())
}

impl Org {
    /// Adds a member's `lastSeenAt`, `advisor`, `boardIds` and
    /// `memberFieldValuesKeyedById` to its JSON.
    pub(crate) fn roster_member_parts(&self, p: Ix, v: &mut Value) {
        let Value::Object(m) = v else { return };
        if let Some(seen) = self.roster.last_seen.get(&p) {
            m.insert("lastSeenAt".into(), json!(seen));
        }
        if let Some(a) = advisor_of(self, p) {
            m.insert("advisor".into(), self.advisor_json(a));
        }
        let boards: Vec<Value> = boards_of(self, p)
            .into_iter()
            .map(|b| json!(b.hex()))
            .collect();
        m.insert("boardIds".into(), Value::Array(boards));
        let keyed: Map<String, Value> = self.people[p as usize]
            .fields
            .iter()
            .map(|(f, value)| {
                let id = self.fields[*f as usize].id.hex();
                (id.clone(), json!({"fieldId": id, "value": value}))
            })
            .collect();
        m.insert("memberFieldValuesKeyedById".into(), Value::Object(keyed));
    }

    pub fn member_group_json(&self, g: Ix) -> Value {
        let g = &self.roster.groups[g as usize];
        let mut v = json!({"id": g.id.hex(), "name": g.name, "createdAt": g.id.created()});
        if let Some(d) = &g.description {
            v["description"] = json!(d);
        }
        v
    }

    pub fn tag_json(&self, t: Ix) -> Value {
        let t = &self.roster.tags[t as usize];
        let mut v =
            json!({"id": t.id.hex(), "name": t.name, "color": t.color, "targetObjects": t.targets});
        if let Some(d) = &t.description {
            v["description"] = json!(d);
        }
        v
    }

    pub fn member_note_json(&self, n: Ix) -> Value {
        let n = &self.roster.notes[n as usize];
        json!({
            "id": n.id.hex(),
            "text": n.text,
            "htmlText": format!("<p>{}</p>", n.text),
            "memberId": self.people[n.member as usize].id.hex(),
        })
    }
}

fn s(v: impl ToString) -> Option<String> {
    Some(v.to_string())
}

/// The truth of the roster's tables and of members' roster columns.
pub fn truth(org: &Org, t: &mut Truth) {
    for &m in org.members_ix.values() {
        let p = &org.people[m as usize];
        if let Some(row) = t
            .tables
            .get_mut("members")
            .and_then(|r| r.get_mut(&p.id.hex()))
        {
            row.insert(
                "last_seen_at",
                org.roster.last_seen.get(&m).map(|x| iso(*x)),
            );
            let advisor = advisor_of(org, m).map(|a| org.people[a as usize].id.hex());
            row.insert("advisor_id", advisor);
        }
        for (i, b) in boards_of(org, m).into_iter().enumerate() {
            let key = format!("{}|{i}", p.id.hex());
            t.put("member_boards", key, vec![("board_id", s(b.hex()))]);
        }
    }
    for p in &org.people {
        if p.member && !org.members_ix.contains_key(&p.id) {
            t.mark_deleted("members", p.id.hex());
            // Still a person: their jobs and actions name them.
            let cols = vec![("email", s(&p.email)), ("family_name", s(&p.family))];
            t.put("people", p.id.hex(), cols);
        }
    }
    for &a in &org.advisors {
        let p = &org.people[a as usize];
        let cols = vec![
            ("email", s(&p.email)),
            ("full_name", s(format!("{} {}", p.given, p.family))),
            ("last_seen_at", s(iso(advisor_last_seen(org, a)))),
        ];
        t.put("advisors", p.id.hex(), cols);
    }
    for g in &org.roster.groups {
        let cols = vec![("name", s(&g.name)), ("description", g.description.clone())];
        t.put("member_groups", g.id.hex(), cols);
    }
    for tag in &org.roster.tags {
        let cols = vec![("name", s(&tag.name)), ("color", s(&tag.color))];
        t.put("tags", tag.id.hex(), cols);
        for (i, target) in tag.targets.iter().enumerate() {
            let key = format!("{}|{i}", tag.id.hex());
            t.put(
                "tag_target_objects",
                key,
                vec![("target_object", s(target))],
            );
        }
    }
    for &n in org.roster.notes_ix.values() {
        let note = &org.roster.notes[n as usize];
        let member = org.people[note.member as usize].id.hex();
        let cols = vec![("text", s(&note.text)), ("member_id", s(member))];
        t.put("member_notes", note.id.hex(), cols);
    }
}
