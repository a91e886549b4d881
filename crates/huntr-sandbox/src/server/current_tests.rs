//! The endpoints of the current reference that slice A of #17 serves:
//! shapes as documented, filters and paging, and `/_sandbox/missing`.

use super::test_client::{answer, control, get, start};

#[tokio::test]
async fn new_endpoints_answer_as_documented() {
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
    // Members' new fields.
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
    // isPartner: partners only; anything but true or false is refused.
    let all = get(&sb, &http, "employers?limit=500").await["data"]
        .as_array()
        .unwrap()
        .len();
    let partners = get(&sb, &http, "employers?limit=500&isPartner=true").await;
    let partners = partners["data"].as_array().unwrap();
    assert!(partners.iter().all(|e| e["isPartner"] == true));
    assert!(partners.len() < all);
    let url = format!("{}/employers?isPartner=yes", sb.base_url);
    let (status, _) = answer(http.get(&url).bearer_auth(&sb.token).send().await.unwrap()).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn an_endpoint_can_be_made_not_served() {
    let (sb, http) = start().await;
    control(&sb, &http, "missing?endpoint=notes/members&status=403").await;
    control(&sb, &http, "missing?endpoint=tags&status=404").await;
    let status = |path: &'static str| {
        let (url, http, token) = (
            format!("{}/{path}", sb.base_url),
            http.clone(),
            sb.token.clone(),
        );
        async move {
            let resp = http.get(&url).bearer_auth(&token).send().await.unwrap();
            answer(resp).await
        }
    };
    let (st, body) = status("notes/members").await;
    assert_eq!((st, body["error"]["status"].as_u64()), (403, Some(403)));
    assert_eq!(status("tags").await.0, 404);
    assert_eq!(status("members").await.0, 200);
    control(&sb, &http, "missing?endpoint=tags").await;
    assert_eq!(status("tags").await.0, 200);
}
