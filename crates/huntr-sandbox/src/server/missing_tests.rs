//! `/_sandbox/missing`: an endpoint answers as one the organization's API
//! does not serve, until served again.

use super::test_client::{answer, control, start};

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
