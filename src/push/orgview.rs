//! The organization as a push sees it: built from the records the push's
//! opening sync reads (members, member fields, board templates, pending
//! invitations), so validation and the plan work on what the API holds
//! now and the destination is brought up to date by the same requests.
//! Also the listings a push reads again when a write's fate is in doubt.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::{
    field_key, invitation_key, Advisor, FieldDef, MemberState, OrgSnapshot, Pending, PushKind,
    Template,
};
use crate::api::{ApiError, Client, Pager};
use crate::json::Node;
use crate::resources::Resource;
use crate::sync::Seen;

/// The resources a push of `kind` reads before it plans.
pub fn resources(kind: PushKind) -> Vec<Resource> {
    let mut r = vec![Resource::MemberFields, Resource::Members];
    if kind == PushKind::Invitations {
        r.extend([
            Resource::BoardTemplates,
            Resource::OrganizationInvitations,
            Resource::Advisors,
        ]);
    }
    r
}

/// Gathers an [`OrgSnapshot`] from the records a sync shows it.
#[derive(Default)]
pub struct Collector(Mutex<OrgSnapshot>);

impl Collector {
    /// What the sync calls with every record it reads.
    pub fn seen(self: &Arc<Self>) -> Seen {
        let me = self.clone();
        Seen(Arc::new(move |r: Resource, node: &Node| {
            if let Ok(v) = serde_json::to_value(node) {
                me.add(r, &v);
            }
        }))
    }

    fn add(&self, r: Resource, v: &Value) {
        let mut org = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match r {
            Resource::Members => org.members.extend(member(v)),
            Resource::MemberFields => org.fields.extend(field(v)),
            Resource::BoardTemplates => org.templates.extend(template(v)),
            Resource::OrganizationInvitations => org.pending.extend(pending(v)),
            Resource::Advisors => org.advisors.get_or_insert_with(Vec::new).extend(advisor(v)),
            _ => {}
        }
    }

    /// The snapshot; `advisors_listed` says whether `/advisors` answered
    /// (None then means the API does not list them, not that there are none).
    pub fn take(&self, advisors_listed: bool) -> OrgSnapshot {
        let mut org = std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()));
        org.advisors = match (advisors_listed, org.advisors) {
            (false, _) => None,
            (true, seen) => Some(seen.unwrap_or_default()),
        };
        org
    }
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn member(v: &Value) -> Option<MemberState> {
    let values = v
        .get("memberFieldValues")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|fv| Some((text(fv, "fieldId")?, fv.get("value")?.clone())))
                .collect::<BTreeMap<_, _>>()
        })
        .unwrap_or_default();
    Some(MemberState {
        id: text(v, "id")?,
        email: text(v, "email").unwrap_or_default(),
        is_active: v.get("isActive").and_then(Value::as_bool).unwrap_or(true),
        values,
    })
}

fn field(v: &Value) -> Option<FieldDef> {
    let choices = v
        .get("choices")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|c| c.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    Some(FieldDef {
        id: text(v, "id")?,
        name: text(v, "name")?,
        field_type: text(v, "fieldType").unwrap_or_default(),
        choices,
    })
}

fn template(v: &Value) -> Option<Template> {
    Some(Template {
        id: text(v, "id")?,
        name: text(v, "name").unwrap_or_default(),
    })
}

fn pending(v: &Value) -> Option<Pending> {
    Some(Pending {
        id: text(v, "id")?,
        email: text(v, "toEmail").or_else(|| text(v, "email"))?,
    })
}

/// Every record of a listing, as values, each with the server's clock
/// when its page was answered (what it is current as of).
async fn list_all(client: &Client, r: Resource) -> Result<Vec<(Value, i64)>, ApiError> {
    let limit = r.paged().then_some(crate::defaults::PAGE_LIMIT);
    let mut pager = Pager::new(client, r.path(), limit, Vec::new())?;
    let mut all = Vec::new();
    while let Some(page) = pager.next_page().await? {
        let as_of = page.date.unwrap_or_else(crate::timefmt::now_unix);
        all.extend(page.values().into_iter().map(|v| (v, as_of)));
    }
    Ok(all)
}

/// A record found in a listing: its resource, the record, and the
/// server's clock when it was listed.
pub type Found = (Resource, Value, i64);

fn advisor(v: &Value) -> Option<Advisor> {
    Some(Advisor {
        id: text(v, "id")?,
        email: text(v, "email")?,
    })
}

/// What a write of `kind` leaves in the listings, by journal key: pending invitations and members
/// by `invitation:<email>`, fields by `field:<name>`. Read when a write's
/// fate is in doubt; `members` only when asked (a paged listing).
pub async fn applied(
    client: &Client,
    kind: PushKind,
    members: bool,
) -> Result<HashMap<String, Found>, ApiError> {
    let mut found = HashMap::new();
    match kind {
        PushKind::Invitations => {
            let mut add = |r: Resource, email_key: &str, (v, as_of): (Value, i64)| {
                if let Some(email) = text(&v, email_key) {
                    let key = invitation_key(&email);
                    found.entry(key).or_insert((r, v, as_of));
                }
            };
            for item in list_all(client, Resource::OrganizationInvitations).await? {
                add(Resource::OrganizationInvitations, "toEmail", item);
            }
            if members {
                for item in list_all(client, Resource::Members).await? {
                    add(Resource::Members, "email", item);
                }
            }
        }
        PushKind::Fields => {
            for (v, as_of) in list_all(client, Resource::MemberFields).await? {
                if let Some(name) = text(&v, "name") {
                    let key = field_key(&name);
                    found.insert(key, (Resource::MemberFields, v, as_of));
                }
            }
        }
        PushKind::FieldValues => {}
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_become_the_snapshot() {
        let c = Arc::new(Collector::default());
        let seen = c.seen();
        let show = |r, v: Value| (seen.0)(r, &Node::from_value(&v));
        show(
            Resource::Members,
            json!({"id": "m1", "email": "a@x.org", "isActive": false,
                   "memberFieldValues": [{"fieldId": "f1", "value": "Paris"}]}),
        );
        show(
            Resource::MemberFields,
            json!({"id": "f1", "name": "City", "fieldType": "MULTIPLE_CHOICE", "choices": ["Paris"]}),
        );
        show(
            Resource::BoardTemplates,
            json!({"id": "t1", "name": "Tech"}),
        );
        show(
            Resource::OrganizationInvitations,
            json!({"id": "i1", "toEmail": "b@x.org"}),
        );
        show(Resource::Jobs, json!({"id": "j1"}));
        show(
            Resource::Advisors,
            json!({"id": "a1", "email": "alice@x.org"}),
        );
        let org = c.take(true);
        assert_eq!(org.members[0].values["f1"], json!("Paris"));
        assert!(!org.members[0].is_active);
        assert_eq!(org.fields[0].choices, vec!["Paris".to_owned()]);
        assert_eq!(
            (org.templates.len(), org.pending[0].email.as_str()),
            (1, "b@x.org")
        );
        assert_eq!(org.advisors.unwrap()[0].email, "alice@x.org");
        assert!(c.take(false).advisors.is_none(), "not listed: unknown");
    }
}
