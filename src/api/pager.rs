//! Cursor paging over a list endpoint: `limit` and `next`.
//!
//! Stops on a null or missing `next`, or on an empty page (the API may set
//! `next` on the last page and answer the following request with nothing);
//! a cursor seen twice is an error, so a misbehaving server can never make
//! a sync loop forever.

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::client::{endpoint_name, Client};
use super::error::ApiError;
use crate::json::{Builder, Node, Scratch};

/// One page of a listing: the answer's text and its items, parsed in the
/// pass that checks the answer, as [`Node`] trees that borrow from the
/// text (scanning each page once to split it and again to parse each item
/// was a tenth of the fetching thread's time).
#[derive(Debug)]
pub struct Page {
    items: PageItems,
    /// The server's clock when it answered (unix seconds).
    pub date: Option<i64>,
}

/// A page's items, borrowed from its text.
type NodeList<'a> = Vec<Node<'a>>;

self_cell::self_cell!(
    /// The answer's text and the items parsed from it, kept together (the
    /// crate makes the self-reference safe).
    struct PageItems {
        owner: Box<str>,
        #[covariant]
        dependent: NodeList,
    }
    impl {Debug}
);

impl Default for Page {
    fn default() -> Page {
        Page {
            items: PageItems::new(Box::from(""), |_| Vec::new()),
            date: None,
        }
    }
}

impl Page {
    pub fn len(&self) -> usize {
        self.nodes().len()
    }
    pub fn is_empty(&self) -> bool {
        self.nodes().is_empty()
    }
    /// Each item, borrowed from the page.
    pub fn nodes(&self) -> &[Node<'_>] {
        self.items.borrow_dependent()
    }
    /// Each item as a `serde_json::Value` (for callers that want one).
    pub fn values(&self) -> Vec<Value> {
        self.nodes()
            .iter()
            .filter_map(|n| serde_json::to_value(n).ok())
            .collect()
    }
    /// `createdAt` of the last item (the oldest, lists being newest first).
    pub fn last_created(&self) -> Option<i64> {
        self.nodes().last()?.get("createdAt").and_then(Node::as_i64)
    }
    /// `createdAt` of the first item (the newest).
    pub fn first_created(&self) -> Option<i64> {
        self.nodes()
            .first()?
            .get("createdAt")
            .and_then(Node::as_i64)
    }
}

/// A copy parses the copied text again (its items must borrow from it).
impl Clone for Page {
    fn clone(&self) -> Page {
        let text = self.items.borrow_owner().as_bytes().to_vec();
        let page = match split_listing(text) {
            Ok(Listing::Page { page, .. } | Listing::Bare(page)) => page,
            _ => Page::default(),
        };
        Page {
            date: self.date,
            ..page
        }
    }
}

/// Why an answer's items were not built.
enum Unsplit {
    NotAnObject,
    DataNotAnArray,
    Syntax(serde_json::Error),
}

/// What a list answer holds, told apart without building its items.
enum Listing {
    Page {
        page: Page,
        next: Option<String>,
    },
    /// A bare array of items.
    Bare(Page),
    NotAnObject,
    DataNotAnArray,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    data: Option<Items<'a>>,
    #[serde(borrow, default)]
    next: Option<&'a RawValue>,
}

/// `data`'s items, parsed in the same pass that checks the answer; `None`
/// when `data` is not an array.
struct Items<'a>(Option<Vec<Node<'a>>>);

impl<'de: 'a, 'a> Deserialize<'de> for Items<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ItemsVisitor(std::marker::PhantomData))
    }
}

struct ItemsVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> serde::de::Visitor<'de> for ItemsVisitor<'a> {
    type Value = Items<'a>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Items<'a>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        let mut scratch = Scratch::default();
        while let Some(item) = seq.next_element_seed(Builder(&mut scratch))? {
            items.push(item);
        }
        Ok(Items(Some(items)))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Items<'a>, A::Error> {
        use serde::de::IgnoredAny;
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Items(None))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Items<'a>, E> {
        Ok(Items(None))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Items<'a>, E> {
        Ok(Items(None))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Items<'a>, E> {
        Ok(Items(None))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Items<'a>, E> {
        Ok(Items(None))
    }
    fn visit_str<E>(self, _: &str) -> Result<Items<'a>, E> {
        Ok(Items(None))
    }
    fn visit_unit<E>(self) -> Result<Items<'a>, E> {
        Ok(Items(None))
    }
}

/// Splits a list answer into its items, checking that it is valid JSON.
/// A syntax error is an error (retried like a cut-off body); a valid
/// answer of the wrong shape is reported as such.
fn split_listing(body: Vec<u8>) -> Result<Listing, serde_json::Error> {
    let body = String::from_utf8(body)
        .map_err(|_| <serde_json::Error as serde::de::Error>::custom("the body is not UTF-8"))?;
    if body.trim_start().starts_with('[') {
        return bare_listing(body);
    }
    // (A struct would also accept an array, field by position.)
    if !body.trim_start().starts_with('{') {
        serde_json::from_str::<serde::de::IgnoredAny>(&body)?;
        return Ok(Listing::NotAnObject);
    }
    let mut next = None;
    let built = PageItems::try_new(body.into_boxed_str(), |text| {
        let env: Envelope<'_> = match serde_json::from_str(text) {
            Ok(env) => env,
            Err(e) if e.classify() == serde_json::error::Category::Data => {
                serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(Unsplit::Syntax)?;
                return Err(Unsplit::NotAnObject);
            }
            Err(e) => return Err(Unsplit::Syntax(e)),
        };
        next = env
            .next
            .and_then(|raw| serde_json::from_str::<String>(raw.get()).ok())
            .filter(|s| !s.is_empty());
        match env.data {
            None => Ok(Vec::new()),
            Some(Items(Some(items))) => Ok(items),
            Some(Items(None)) => Err(Unsplit::DataNotAnArray),
        }
    });
    match built {
        Ok(items) => Ok(Listing::Page {
            page: Page { items, date: None },
            next,
        }),
        Err(Unsplit::NotAnObject) => Ok(Listing::NotAnObject),
        Err(Unsplit::DataNotAnArray) => Ok(Listing::DataNotAnArray),
        Err(Unsplit::Syntax(e)) => Err(e),
    }
}

/// A bare JSON array of items (`GET /tags`): one page, no cursor. Only
/// endpoints documented so accept it (see [`get_listing`]).
fn bare_listing(body: String) -> Result<Listing, serde_json::Error> {
    let built = PageItems::try_new(body.into_boxed_str(), |text| {
        serde_json::from_str::<Vec<Node<'_>>>(text)
    });
    match built {
        Ok(items) => Ok(Listing::Bare(Page { items, date: None })),
        Err(e) if e.classify() == serde_json::error::Category::Data => Ok(Listing::NotAnObject),
        Err(e) => Err(e),
    }
}

/// Reads one unpaged list answer (or the first page of a paged one).
pub async fn get_page(
    client: &Client,
    path: &str,
    query: &[(&str, String)],
) -> Result<(Page, Option<String>), ApiError> {
    get_listing(client, path, query, false).await
}

/// [`get_page`]; `bare`: the endpoint answers a bare array (no `data`, no
/// `next`), which is then one whole listing.
pub async fn get_listing(
    client: &Client,
    path: &str,
    query: &[(&str, String)],
    bare: bool,
) -> Result<(Page, Option<String>), ApiError> {
    let (listing, date) = client.get_with(path, query, split_listing).await?;
    let invalid = |detail: &str| ApiError::InvalidBody {
        endpoint: endpoint_name(path, query),
        detail: detail.to_owned(),
    };
    match listing {
        Listing::Page { mut page, next } => {
            page.date = date;
            Ok((page, next))
        }
        Listing::Bare(mut page) if bare => {
            page.date = date;
            Ok((page, None))
        }
        Listing::Bare(_) | Listing::NotAnObject => Err(invalid("expected an object with `data`")),
        Listing::DataNotAnArray => Err(invalid("`data` is not an array")),
    }
}

pub struct Pager {
    client: Client,
    path: String,
    params: Vec<(&'static str, String)>,
    limit: Option<u32>,
    next: Option<String>,
    seen: HashSet<String>,
    done: bool,
    bare: bool,
    pub pages: u64,
}

impl Pager {
    /// `limit` None: an unpaged endpoint (no `limit` sent).
    pub fn new(
        client: &Client,
        path: &str,
        limit: Option<u32>,
        params: Vec<(&'static str, String)>,
    ) -> Result<Pager, ApiError> {
        if let Some(l) = limit {
            super::check_limit(l)?;
        }
        Ok(Pager {
            client: client.clone(),
            path: path.to_owned(),
            params,
            limit,
            next: None,
            seen: HashSet::new(),
            done: false,
            bare: false,
            pages: 0,
        })
    }

    /// Accepts a bare array as the whole listing (`GET /tags`).
    pub fn bare(mut self, bare: bool) -> Pager {
        self.bare = bare;
        self
    }

    /// True once the listing has been read to its end.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The next non-empty page, or `None` at the end.
    pub async fn next_page(&mut self) -> Result<Option<Page>, ApiError> {
        if self.done {
            return Ok(None);
        }
        let mut query = self.params.clone();
        if let Some(l) = self.limit {
            query.push(("limit", l.to_string()));
        }
        if let Some(n) = &self.next {
            query.push(("next", n.clone()));
        }
        let (page, next) = get_listing(&self.client, &self.path, &query, self.bare).await?;
        self.pages += 1;
        match next {
            Some(n) if !page.is_empty() => {
                if !self.seen.insert(n.clone()) {
                    return Err(ApiError::RepeatedCursor {
                        endpoint: endpoint_name(&self.path, &self.params),
                        cursor: n,
                    });
                }
                self.next = Some(n);
            }
            _ => self.done = true,
        }
        if page.is_empty() {
            return Ok(None);
        }
        Ok(Some(page))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(text: &str) -> (Page, Option<String>) {
        match split_listing(text.as_bytes().to_vec()).unwrap() {
            Listing::Page { page, next } => (page, next),
            _ => panic!("not a page: {text}"),
        }
    }

    #[test]
    fn a_page_is_split_into_its_items_in_one_pass() {
        let (p, next) =
            page(r#"{"next":"c2","data":[{"id":"a","n":[1,{"x":"]"}]}, {"id":"b\"q"}]}"#);
        assert_eq!(next.as_deref(), Some("c2"));
        assert_eq!(p.len(), 2);
        let ids: Vec<&str> = p
            .nodes()
            .iter()
            .map(|n| n.get("id").unwrap().as_str().unwrap())
            .collect();
        assert_eq!(ids, ["a", "b\"q"]);
        assert_eq!(p.values()[0]["n"], serde_json::json!([1, {"x": "]"}]));
        assert_eq!(p.values()[1]["id"], "b\"q");
        // A copy borrows from its own text: it outlives the original.
        let copy = {
            let mut original = p;
            original.date = Some(7);
            original.clone()
        };
        assert_eq!(copy.date, Some(7));
        assert_eq!(copy.values()[1]["id"], "b\"q");
    }

    #[test]
    fn missing_or_null_parts_mean_an_empty_last_page() {
        for text in [
            r#"{}"#,
            r#"{"data":null,"next":null}"#,
            r#"{"data":[],"next":""}"#,
        ] {
            let (p, next) = page(text);
            assert!(p.is_empty() && next.is_none(), "{text}");
        }
        let (_, next) = page(r#"{"data":[1],"next":7}"#);
        assert_eq!(next, None, "a cursor that is not a string is no cursor");
    }

    #[test]
    fn wrong_shapes_and_broken_json_are_told_apart() {
        assert!(matches!(
            split_listing(b"[1,2]".to_vec()),
            Ok(Listing::Bare(p)) if p.len() == 2
        ));
        assert!(matches!(
            split_listing(br#"[{"id":"a"}, {"id":"b"}]"#.to_vec()),
            Ok(Listing::Bare(p)) if p.values() == [serde_json::json!({"id":"a"}), serde_json::json!({"id":"b"})]
        ));
        for text in [
            &br#"{"data":{"id":1}}"#[..],
            br#"{"data":"x","next":"c"}"#,
            br#"{"data":7}"#,
            br#"{"data":true}"#,
        ] {
            assert!(
                matches!(split_listing(text.to_vec()), Ok(Listing::DataNotAnArray)),
                "{:?}",
                String::from_utf8_lossy(text)
            );
        }
        // Cut off or not JSON at all: an error, which the client retries.
        for text in [
            &br#"{"data":[{"id":"a"},"#[..],
            b"[1,",
            b"<html>",
            b"{\"data\":[\"\xff\"]}",
        ] {
            assert!(
                split_listing(text.to_vec()).is_err(),
                "{:?}",
                String::from_utf8_lossy(text)
            );
        }
    }
}
