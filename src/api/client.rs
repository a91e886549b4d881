//! HTTP requests to the Org API with authentication, the shared rate
//! limiter and the retry policy. Nothing here ever formats the token.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderValue, AUTHORIZATION, DATE, RETRY_AFTER};
pub use reqwest::Method;
use serde_json::Value;

use super::error::{ApiError, ErrorBody};
use super::limiter::Limiter;
use super::retry::{self, parse_retry_after, RetryPolicy, RetryStats};
use super::transport::{self, Cause};
use crate::defaults;

/// An access token. Its `Debug` and `Display` never show the value.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    pub fn new(value: impl Into<String>) -> Token {
        Token(value.into().trim().to_owned())
    }
    fn header(&self) -> Result<HeaderValue, ApiError> {
        let mut v = HeaderValue::from_str(&format!("Bearer {}", self.0)).map_err(|_| {
            ApiError::InvalidBody {
                endpoint: "(configuration)".into(),
                detail: "the token contains characters not allowed in an HTTP header".into(),
            }
        })?;
        v.set_sensitive(true);
        Ok(v)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// Request counters of a run, for the summary and the runs table.
#[derive(Debug, Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub retry: RetryStats,
    pub throttled: AtomicU64,
}

impl Stats {
    /// (requests, retries, 429 answers)
    pub fn get(&self) -> (u64, u64, u64) {
        (
            self.requests.load(Ordering::Relaxed),
            self.retry.retries.load(Ordering::Relaxed),
            self.throttled.load(Ordering::Relaxed),
        )
    }
}

#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// e.g. [`defaults::BASE_URL`]
    pub base_url: String,
    pub token: Token,
    /// Named in the message when the token is refused.
    pub token_env: String,
    /// Named instead when the token came from a file.
    pub token_file: Option<std::path::PathBuf>,
    /// The rate; with `max_requests_per_second`, where an adaptive rate starts.
    pub requests_per_second: f64,
    pub burst: u32,
    /// `Some(max)`: the rate adapts (`requests_per_second = "auto"`), from
    /// `requests_per_second` up to `max`, and `burst` is not used.
    pub max_requests_per_second: Option<f64>,
    pub timeout: Duration,
    /// How long to wait for a connection.
    pub connect_timeout: Duration,
    pub retry: RetryPolicy,
    /// Where the base URL is set (`--base-url`, the pipeline's
    /// `base_url`): named when the API cannot be reached.
    pub base_url_setting: String,
    /// Requests in flight at once, all fetchers together: bounds the pages
    /// held in memory whatever the concurrency above.
    pub max_in_flight: usize,
}

impl ClientConfig {
    pub fn new(base_url: &str, token: Token, token_env: &str) -> ClientConfig {
        ClientConfig {
            base_url: base_url.trim_end_matches('/').to_owned(),
            token,
            token_env: token_env.to_owned(),
            token_file: None,
            requests_per_second: defaults::REQUESTS_PER_SECOND,
            burst: defaults::burst(defaults::REQUESTS_PER_SECOND),
            max_requests_per_second: None,
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(15),
            retry: RetryPolicy::default(),
            base_url_setting: "--base-url".into(),
            max_in_flight: 6,
        }
    }
}

/// A successful answer: the parsed body and the server's clock.
#[derive(Debug)]
pub struct Response {
    pub body: Value,
    /// Unix seconds of the `Date` header, when the server sent one.
    pub date: Option<i64>,
}

/// Told a line for a person: the first failed attempt of a run to reach
/// the API, at once. The default logs it as a warning.
pub type Notice = Arc<dyn Fn(&str) + Send + Sync>;

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    /// `host[:port]` of the base URL, for messages.
    host: String,
    base_url_setting: String,
    notice: Notice,
    auth: HeaderValue,
    token_env: String,
    token_file: Option<std::path::PathBuf>,
    limiter: Arc<Limiter>,
    in_flight: Arc<tokio::sync::Semaphore>,
    retry: RetryPolicy,
    pub stats: Arc<Stats>,
}

impl Client {
    pub fn new(cfg: &ClientConfig) -> Result<Client, ApiError> {
        let host = transport::host_of(&cfg.base_url);
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.connect_timeout)
            .dns_resolver(Arc::new(transport::Resolver))
            .user_agent(concat!("huntr-sync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ApiError::Transport {
                endpoint: "(client)".into(),
                host: host.clone(),
                cause: Cause::Connect,
                detail: e.to_string(),
                setting: cfg.base_url_setting.clone(),
            })?;
        Ok(Client {
            http,
            base: cfg.base_url.trim_end_matches('/').to_owned(),
            host,
            base_url_setting: cfg.base_url_setting.clone(),
            notice: Arc::new(|line: &str| tracing::warn!("{line}")),
            auth: cfg.token.header()?,
            token_env: cfg.token_env.clone(),
            token_file: cfg.token_file.clone(),
            limiter: Arc::new(match cfg.max_requests_per_second {
                Some(max) => Limiter::adaptive(cfg.requests_per_second, max),
                None => Limiter::new(cfg.requests_per_second, cfg.burst),
            }),
            in_flight: Arc::new(tokio::sync::Semaphore::new(cfg.max_in_flight.max(1))),
            retry: cfg.retry.clone(),
            stats: Arc::new(Stats::default()),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Where the first failed attempt of a run to reach the API is told
    /// (by default: logged as a warning).
    pub fn set_notice(&mut self, notice: Notice) {
        self.notice = notice;
    }

    /// The requests per second the limiter allows now.
    pub fn rate(&self) -> f64 {
        self.limiter.rate()
    }

    /// Whether the rate limiter, not the answers' latency, bounds the run
    /// now: reading more at once would only add requests.
    pub fn rate_bound(&self) -> bool {
        self.limiter.saturated()
    }

    /// GET `path` with `query`, under the limiter and the retry policy.
    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Response, ApiError> {
        let (body, date) = self
            .get_with(path, query, |b| serde_json::from_slice::<Value>(&b))
            .await?;
        Ok(Response { body, date })
    }

    /// [`Client::get`], decoding the body of a 200 answer with `decode`
    /// (also returning the server's clock). Decoding happens inside the
    /// retry: a body that does not parse is retried like a cut-off one.
    pub async fn get_with<T>(
        &self,
        path: &str,
        query: &[(&str, String)],
        decode: impl Fn(Vec<u8>) -> Result<T, serde_json::Error>,
    ) -> Result<(T, Option<i64>), ApiError> {
        let req = Req {
            method: Method::GET,
            path,
            query,
            body: None,
            endpoint: endpoint_name(path, query),
        };
        self.retried(&req, &self.retry, &decode).await
    }

    /// A write (`POST` or `PUT`) of the JSON `body` to `path`, under the
    /// limiter. A `PUT` is idempotent and retried like a read. A `POST` is
    /// retried only when it certainly did not reach the API's logic (a 429,
    /// no connection at all): after a timeout, a dropped connection or a
    /// 5xx it may have been applied, and the caller must find out before
    /// sending it again ([`ApiError::maybe_applied`]).
    pub async fn write(
        &self,
        method: Method,
        path: &str,
        body: &Value,
    ) -> Result<Response, ApiError> {
        let once = method == Method::POST;
        let req = Req {
            endpoint: format!("{method} /{}", path.trim_start_matches('/')),
            method,
            path,
            query: &[],
            body: Some(body),
        };
        let policy = RetryPolicy {
            only_unapplied: once,
            ..self.retry.clone()
        };
        let decode = |b: Vec<u8>| serde_json::from_slice::<Value>(&b);
        let (body, date) = self.retried(&req, &policy, &decode).await?;
        Ok(Response { body, date })
    }

    async fn retried<T>(
        &self,
        req: &Req<'_>,
        policy: &RetryPolicy,
        decode: &impl Fn(Vec<u8>) -> Result<T, serde_json::Error>,
    ) -> Result<(T, Option<i64>), ApiError> {
        let notice = |e: &ApiError, within: Duration| {
            let fix = e.fix().map(|f| format!("; {f}")).unwrap_or_default();
            let within = within.as_secs_f64().ceil().max(1.0);
            (self.notice)(&format!("{}; retrying for up to {within} s{fix}", e.what()));
        };
        retry::run_with(policy, &self.stats.retry, &req.endpoint, &notice, || {
            self.attempt(req, decode)
        })
        .await
    }

    async fn attempt<T>(
        &self,
        req: &Req<'_>,
        decode: &impl Fn(Vec<u8>) -> Result<T, serde_json::Error>,
    ) -> Result<(T, Option<i64>), ApiError> {
        let endpoint = req.endpoint.as_str();
        let _slot = self.in_flight.acquire().await.expect("never closed");
        let sent = self.limiter.wait().await;
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        let url = format!("{}/{}", self.base, req.path.trim_start_matches('/'));
        let transport = |e: reqwest::Error| {
            let (cause, detail) = transport::classify(&e, self.base.starts_with("https:"));
            ApiError::Transport {
                endpoint: endpoint.to_owned(),
                host: self.host.clone(),
                cause,
                detail,
                setting: self.base_url_setting.clone(),
            }
        };
        let mut builder = self
            .http
            .request(req.method.clone(), &url)
            .query(req.query)
            .header(AUTHORIZATION, self.auth.clone());
        if let Some(body) = req.body {
            builder = builder.json(body);
        }
        let resp = builder.send().await.map_err(transport)?;
        self.stats.retry.answered.store(true, Ordering::Relaxed);
        let status = resp.status().as_u16();
        if status == 429 {
            self.limiter.throttled(sent);
        } else {
            self.limiter.answered();
        }
        let date = resp
            .headers()
            .get(DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok())
            .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
            .map(|d| d.as_secs() as i64);
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let body = resp.bytes().await.map_err(transport)?;
        if status == 200 || (req.body.is_some() && (200..300).contains(&status)) {
            let len = body.len();
            let decoded = decode(body.into()).map_err(|e| ApiError::InvalidBody {
                endpoint: endpoint.to_owned(),
                detail: format!("{e} in {len} bytes"),
            })?;
            return Ok((decoded, date));
        }
        if status == 429 {
            self.stats.throttled.fetch_add(1, Ordering::Relaxed);
        }
        Err(self.refused(endpoint, status, &body, retry_after))
    }

    /// The error for an answer other than success.
    fn refused(
        &self,
        endpoint: &str,
        status: u16,
        body: &[u8],
        retry_after: Option<Duration>,
    ) -> ApiError {
        let parsed = ErrorBody::parse(body);
        let message = parsed.as_ref().and_then(|p| p.message()).map(str::to_owned);
        if status == 401 {
            return ApiError::Unauthorized {
                endpoint: endpoint.to_owned(),
                host: self.host.clone(),
                token_env: self.token_env.clone(),
                token_file: self.token_file.clone(),
                api_message: message,
            };
        }
        ApiError::Status {
            endpoint: endpoint.to_owned(),
            host: self.host.as_str().into(),
            status,
            message: message
                .or_else(|| (!(200..300).contains(&status)).then(|| status_reason(status))),
            param: parsed.as_ref().and_then(|p| p.param()).map(str::to_owned),
            retry_after,
        }
    }
}

/// One request as the retry loop repeats it.
struct Req<'a> {
    method: Method,
    path: &'a str,
    query: &'a [(&'a str, String)],
    body: Option<&'a Value>,
    /// How errors name it: `GET /jobs?limit=500`.
    endpoint: String,
}

fn status_reason(status: u16) -> String {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("unexpected status")
        .to_owned()
}

/// How errors name a GET: `GET /jobs?limit=5&next=a`.
pub(crate) fn endpoint_name(path: &str, query: &[(&str, String)]) -> String {
    let mut s = format!("GET /{}", path.trim_start_matches('/'));
    for (i, (k, v)) in query.iter().enumerate() {
        s.push(if i == 0 { '?' } else { '&' });
        s.push_str(k);
        s.push('=');
        s.push_str(v);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_never_formatted() {
        let t = Token::new("s3cr3t-value");
        assert!(!format!("{t:?}").contains("s3cr3t"));
        let cfg = ClientConfig::new("http://x", t, defaults::TOKEN_ENV);
        assert!(!format!("{cfg:?}").contains("s3cr3t"));
    }

    #[test]
    fn endpoint_names_include_the_query() {
        assert_eq!(
            endpoint_name("jobs", &[("limit", "5".into()), ("next", "a".into())]),
            "GET /jobs?limit=5&next=a"
        );
    }
}
