//! Filters of the API's lists.

use super::test_client::{answer, get, start};

#[tokio::test]
async fn employers_filter_on_is_partner() {
    let (sb, http) = start().await;
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
