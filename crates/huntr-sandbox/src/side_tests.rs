//! Goals, documents and the employer portal leave the rest of the
//! organization as it is without them, and every action type of theirs
//! happens.

use super::*;

/// What the rest of the organization answers: its records, and its
/// actions but those of a module with a stream of its own ([`is_side`]).
fn rest(org: &Org) -> Vec<String> {
    let mut out = Vec::new();
    for &m in org.members_ix.values() {
        out.push(org.member_json(m).to_string());
    }
    for &e in org.employers_ix.values() {
        out.push(org.employer_json(e, true).to_string());
    }
    for &j in org.jobs_ix.values() {
        out.push(org.job_json(j).to_string());
    }
    for &a in org.activities_ix.values() {
        out.push(org.activity_json(a).to_string());
    }
    for &i in org.invitations_ix.values() {
        out.push(org.invitation_json(i).to_string());
    }
    for &e in org.events_ix.values() {
        out.push(org.event_json(e).to_string());
    }
    for (id, &a) in &org.actions_ix {
        if !is_side(id) {
            out.push(org.action_json(&org.actions[a as usize]).to_string());
        }
    }
    out
}

#[test]
fn goals_documents_and_the_portal_change_nothing_else() {
    let mut with = Org::generate(42, 30);
    let mut off = Org::empty(42);
    off.side.enabled = false;
    let mut without = off.generated(30, true);
    assert_eq!(rest(&with), rest(&without));
    for _ in 0..3 {
        without.advance_day();
        with.advance_day();
    }
    assert_eq!(rest(&with), rest(&without));
    assert!(without.side.goals.is_empty());
    let kinds: std::collections::BTreeSet<&str> = with
        .actions
        .iter()
        .filter(|a| is_side(&a.id))
        .map(|a| a.kind.as_str())
        .collect();
    for k in [
        "GOAL_CREATED",
        "GOAL_UPDATED",
        "GOAL_ENROLLMENT_CREATED",
        "GOAL_ENROLLMENT_CONCLUDED",
        "GOAL_PROGRESS_IN_PROGRESS",
        "GOAL_PROGRESS_UPDATED",
        "GOAL_PROGRESS_COMPLETED",
        "GOAL_PROGRESS_INCOMPLETE",
        "GOAL_PROGRESS_UNENROLLED",
        "DOCUMENT_CREATED",
        "DOCUMENT_UPDATED",
        "DOCUMENT_DELETED",
        "ORGANIZATION_EMPLOYER_REQUEST_CREATED",
        "ORGANIZATION_EMPLOYER_REQUEST_VERIFIED",
        "ORGANIZATION_EMPLOYER_REQUEST_APPROVED",
        "ORGANIZATION_EMPLOYER_REQUEST_DECLINED",
        "ORGANIZATION_EMPLOYER_PARTNERSHIP_CREATED",
    ] {
        assert!(kinds.contains(k), "{k} never happens: {kinds:?}");
    }
}
