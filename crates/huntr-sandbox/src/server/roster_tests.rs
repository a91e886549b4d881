//! The roster's endpoints and the roster's fields of members and member
//! fields: shapes as documented, and paging.

use super::test_client::{get, start};

#[tokio::test]
async fn roster_endpoints_answer_as_documented() {
    let (sb, http) = start().await;
    let tags = get(&sb, &http, "tags").await;
    let tags = tags.as_array().expect("a bare array");
    assert!(!tags.is_empty() && tags[0]["targetObjects"][0] == "JOB_POST");
    let groups = get(&sb, &http, "member-groups").await;
    assert!(!groups["data"].as_array().unwrap().is_empty());
    // Notes: newest first, paged by `next`.
    let first = get(&sb, &http, "notes/members?limit=2").await;
    let page = first["data"].as_array().unwrap();
    assert_eq!(page.len(), 2);
    assert!(page[0]["memberId"].is_string() && page[0]["htmlText"].is_string());
    let next = first["next"].as_str().unwrap();
    let second = get(&sb, &http, &format!("notes/members?limit=2&next={next}")).await;
    assert!(second["data"][0]["id"].as_str().unwrap() < next);
    // Members' roster fields.
    let members = get(&sb, &http, "members?limit=50").await;
    let members = members["data"].as_array().unwrap();
    assert!(members.iter().all(|m| m["boardIds"].is_array()));
    assert!(members.iter().any(|m| m["advisor"]["fullName"].is_string()));
    assert!(members.iter().any(|m| m["lastSeenAt"].is_i64()));
    let m = &members[0];
    for v in m["memberFieldValues"].as_array().unwrap() {
        let id = v["fieldId"].as_str().unwrap();
        assert_eq!(&m["memberFieldValuesKeyedById"][id], v);
    }
    let fields = get(&sb, &http, "member-fields").await;
    assert!(fields["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["fieldType"] == "MULTIPLE_SELECT" && f["choices"].is_array()));
}
