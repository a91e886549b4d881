//! People: members, advisors and invitees, their member field values,
//! and invitations, sent and accepted. Generation and simulated days add
//! and change people only through these; so do the Org API's writes
//! (invitations, member fields and field values), which draw nothing
//! random and take their ids from their own counter.

use huntr_protocol::ActionType;
use rand::Rng;

use crate::org::{Invitation, Ix, MemberField, Org, Person, DAY};

const GIVEN: [&str; 16] = [
    "Graciela", "Nicole", "Roberto", "Rennie", "John", "Zoë", "José", "Anaïs", "Łukasz", "Mei",
    "Ngozi", "Søren", "Aarav", "Fatima", "Chloé", "Hiroshi",
];
const FAMILY: [&str; 14] = [
    "Varela",
    "Haylock",
    "Moscoso",
    "Smith",
    "Müller",
    "O'Brien",
    "Nguyễn",
    "García",
    "Kowalski",
    "Okafor",
    "Ødegaard",
    "Tanaka",
    "Da Silva",
    "李",
];

impl Org {
    /// A random given and family name.
    pub(crate) fn name(&mut self) -> (String, String) {
        (self.pick(&GIVEN).to_owned(), self.pick(&FAMILY).to_owned())
    }

    /// A new person created at `ts`: a member (with field values) or not.
    pub(crate) fn new_person(&mut self, ts: i64, member: bool) -> Ix {
        let (given, family) = self.name();
        let id = self.oid(ts);
        let email = format!(
            "{}.{}+{}@example.org",
            given
                .to_lowercase()
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect::<String>(),
            family
                .to_lowercase()
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect::<String>(),
            self.counter
        );
        let mut fields = Vec::new();
        if member {
            fields = self.field_values();
        }
        self.people.push(Person {
            id,
            given,
            family,
            email,
            is_active: true,
            member,
            fields,
        });
        let ix = (self.people.len() - 1) as Ix;
        if member {
            self.members_ix.insert(id, ix);
        }
        ix
    }

    /// Field values as the real API sends them: strings, numbers, arrays.
    fn field_values(&mut self) -> Vec<(Ix, serde_json::Value)> {
        use serde_json::json;
        let mut out = vec![(
            0,
            json!(self.pick(&["Vancouver", "Seattle", "New York", "Montreal", "Miami"])),
        )];
        if self.rng.random_bool(0.7) {
            out.push((1, json!(self.rng.random_range(18..60))));
        }
        if self.rng.random_bool(0.5) {
            out.push((
                2,
                json!(["Web Design", self.pick(&["iOS", "Data Science"])]),
            ));
        }
        if self.rng.random_bool(0.3) {
            out.push((3, json!("2026-12-15")));
        }
        out
    }

    /// A pending invitation, to someone with a Huntr account or not.
    pub(crate) fn invitation(&mut self, ts: i64) -> Ix {
        let id = self.oid(ts);
        // Some invitees already have a Huntr account (`to`).
        let to = self
            .rng
            .random_bool(0.5)
            .then(|| self.new_person(ts - DAY, false));
        let to_email = match to {
            Some(p) => self.people[p as usize].email.clone(),
            None => format!("invitee{}@example.org", self.counter),
        };
        let template = self
            .rng
            .random_bool(0.7)
            .then(|| self.rng.random_range(0..self.templates.len()) as Ix);
        let fields = self.field_values();
        self.invitations.push(Invitation {
            id,
            to_email,
            board_name: "Fall 2026".into(),
            to,
            template,
            fields,
            pending: true,
            advisor: None,
        });
        let ix = (self.invitations.len() - 1) as Ix;
        self.invitations_ix.insert(id, ix);
        ix
    }

    /// An invitation is accepted: its invitee becomes a member.
    pub(crate) fn accept(&mut self, ts: i64, inv: Ix) {
        let invitation = &mut self.invitations[inv as usize];
        invitation.pending = false;
        let (iid, to, fields) = (invitation.id, invitation.to, invitation.fields.clone());
        self.invitations_ix.remove(&iid);
        let member = match to {
            Some(p) => {
                let person = &mut self.people[p as usize];
                person.member = true;
                person.is_active = true;
                person.fields = fields;
                let id = person.id;
                self.members_ix.insert(id, p);
                p
            }
            None => self.new_person(ts, true),
        };
        let a = self.action(ts, ActionType::MemberCreated, member, member);
        a.member = Some(member);
        a.invitation = Some(inv);
    }
}

/// A written invitation, validated by the server.
#[derive(Debug, Clone)]
pub(crate) struct NewInvitation {
    pub email: String,
    pub board_name: String,
    pub template: Option<Ix>,
    pub advisor: Option<Ix>,
    pub fields: Vec<(Ix, serde_json::Value)>,
}

impl Org {
    /// Whether `email` has a pending invitation (emails compared without
    /// regard to ASCII case).
    pub(crate) fn has_pending_invitation(&self, email: &str) -> bool {
        self.invitations_ix.values().any(|i| {
            self.invitations[*i as usize]
                .to_email
                .eq_ignore_ascii_case(email)
        })
    }

    /// The person whose email is `email`, if anybody has it.
    pub(crate) fn person_by_email(&self, email: &str) -> Option<Ix> {
        self.people
            .iter()
            .position(|p| p.email.eq_ignore_ascii_case(email))
            .map(|p| p as Ix)
    }

    /// A pending invitation the API was asked for, created now; `to` is
    /// whoever already has the email.
    pub(crate) fn write_invitation(&mut self, new: NewInvitation) -> Ix {
        let id = self.write_oid();
        let to = self.person_by_email(&new.email);
        self.invitations.push(Invitation {
            id,
            to_email: new.email,
            board_name: new.board_name,
            to,
            template: new.template,
            fields: new.fields,
            pending: true,
            advisor: new.advisor,
        });
        let ix = (self.invitations.len() - 1) as Ix;
        self.invitations_ix.insert(id, ix);
        ix
    }

    /// A member field the API was asked for.
    pub(crate) fn write_field(
        &mut self,
        name: String,
        field_type: &'static str,
        choices: Vec<String>,
    ) -> Ix {
        let id = self.write_oid();
        self.fields.push(MemberField {
            id,
            name,
            field_type,
            choices,
        });
        (self.fields.len() - 1) as Ix
    }

    /// Sets (replaces) member `m`'s value of field `f`.
    pub(crate) fn write_field_value(&mut self, m: Ix, f: Ix, value: serde_json::Value) {
        let fields = &mut self.people[m as usize].fields;
        match fields.iter_mut().find(|(x, _)| *x == f) {
            Some(slot) => slot.1 = value,
            None => fields.push((f, value)),
        }
    }
}
