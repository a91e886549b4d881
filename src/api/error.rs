//! Errors of the Org API, typed so the retry policy and the CLI can decide
//! from the error alone: retry or not, and what to tell the user.

use std::time::Duration;

use serde::Deserialize;

use super::transport::Cause;

/// The documented error body: `{"message", "error": {message, param, value,
/// location, status}, "errors": [...]}`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct ErrorBody {
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub error: Option<ErrorDetail>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct ErrorDetail {
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub param: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub value: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub status: Option<u16>,
}

fn lenient_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(v.map(|v| match v {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    }))
}

impl ErrorBody {
    /// Parses a body in the documented format; `None` for anything else
    /// (a proxy's HTML page, an empty body).
    pub fn parse(body: &[u8]) -> Option<ErrorBody> {
        let parsed: ErrorBody = serde_json::from_slice(body).ok()?;
        (parsed.message.is_some() || parsed.error.is_some()).then_some(parsed)
    }
    pub fn message(&self) -> Option<&str> {
        self.error
            .as_ref()
            .and_then(|e| e.message.as_deref())
            .or(self.message.as_deref())
    }
    pub fn param(&self) -> Option<&str> {
        self.error.as_ref().and_then(|e| e.param.as_deref())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{host} refused the token in {} (HTTP 401 on {endpoint}{}); create a new Huntr access token in the organization's admin dashboard and {}", token_file.as_ref().map_or_else(|| token_env.clone(), |f| format!("token_file {}", f.display())), api_message.as_deref().map(|m| format!(": {m}")).unwrap_or_default(), token_file.as_ref().map_or_else(|| format!("export it as {token_env}"), |f| format!("write it to {}", f.display())))]
    Unauthorized {
        endpoint: String,
        /// The API's `host[:port]`.
        host: String,
        token_env: String,
        /// The file the token was read from, when not from `token_env`.
        token_file: Option<std::path::PathBuf>,
        api_message: Option<String>,
    },
    #[error("{endpoint}: {}", status_text(*status, message, param))]
    Status {
        endpoint: String,
        /// The API's `host[:port]`, named when the run gives up (boxed:
        /// this variant sets the size of every `Result` of the client).
        host: Box<str>,
        status: u16,
        message: Option<String>,
        param: Option<String>,
        retry_after: Option<Duration>,
    },
    #[error("{}{}", self.what(), self.fix().map(|f| format!("; {f}")).unwrap_or_default())]
    Transport {
        endpoint: String,
        /// The API's `host[:port]`.
        host: String,
        cause: Cause,
        /// The innermost error's text.
        detail: String,
        /// The setting that holds the base URL (`--base-url`, or the
        /// pipeline's `base_url`), named when the API was not reached.
        setting: String,
    },
    #[error("{endpoint}: the response is not the documented JSON ({detail})")]
    InvalidBody { endpoint: String, detail: String },
    #[error("{endpoint}: the API returned cursor `{cursor}` a second time; stopping instead of looping forever")]
    RepeatedCursor { endpoint: String, cursor: String },
    #[error("limit {0} is out of range: the Org API accepts 1 to 500")]
    LimitOutOfRange(u32),
    #[error("{}; gave up after {attempts} attempts in {}{}{}", last.what(), seconds(*elapsed), if *budget { " (the run's retry budget is used up)" } else { "" }, last.fix().map(|f| format!("; {f}")).unwrap_or_default())]
    Exhausted {
        endpoint: String,
        attempts: u32,
        /// The run's retry budget, not this request's, ran out.
        budget: bool,
        /// From the first attempt to the last answer.
        elapsed: Duration,
        last: Box<ApiError>,
    },
}

/// An answer's status as messages print it: "HTTP 503: message
/// (parameter `p`)".
fn status_text(status: u16, message: &Option<String>, param: &Option<String>) -> String {
    format!(
        "HTTP {status}: {}{}",
        message.as_deref().unwrap_or("no error message"),
        param
            .as_deref()
            .map(|p| format!(" (parameter `{p}`)"))
            .unwrap_or_default()
    )
}

/// A duration as messages print it: "49 s", "0.4 s".
pub(crate) fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 10.0 {
        format!("{s:.1} s")
    } else {
        format!("{s:.0} s")
    }
}

impl ApiError {
    /// The one place that decides what is worth retrying: 408, 429, 5xx,
    /// transport failures and bodies that are not the documented JSON.
    /// Never 400, 401, 403 (or any other 4xx).
    pub fn retryable(&self) -> bool {
        match self {
            ApiError::Status { status, .. } => {
                matches!(status, 408 | 429) || (500..=599).contains(status)
            }
            ApiError::Transport { .. } | ApiError::InvalidBody { .. } => true,
            _ => false,
        }
    }
    /// A write that failed this way may still have been applied: no
    /// answer came (a timeout, a dropped connection, a cut-off body) or the
    /// server failed (5xx) after the request reached it. A 429, any other
    /// status, or a connection that was never made means it was not.
    pub fn maybe_applied(&self) -> bool {
        match self {
            ApiError::Status { status, .. } => (500..=599).contains(status),
            ApiError::Transport { cause, .. } => !cause.unreached(),
            ApiError::InvalidBody { .. } => true,
            ApiError::Exhausted { last, .. } => last.maybe_applied(),
            _ => false,
        }
    }
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
    /// What went wrong, without what to do about it.
    pub fn what(&self) -> String {
        match self {
            ApiError::Status {
                endpoint,
                host,
                status,
                message,
                param,
                ..
            } => format!(
                "{endpoint} on {host}: {}",
                status_text(*status, message, param)
            ),
            ApiError::Transport {
                endpoint,
                host,
                cause,
                detail,
                ..
            } => {
                if cause.unreached() {
                    format!("cannot connect to {host}: {}", cause.describe(detail))
                } else {
                    format!("{endpoint} on {host}: {}", cause.describe(detail))
                }
            }
            ApiError::Exhausted { last, .. } => last.what(),
            other => other.to_string(),
        }
    }
    /// The setting to check when the API could not be reached.
    pub fn fix(&self) -> Option<String> {
        match self {
            ApiError::Transport { cause, setting, .. } if cause.unreached() => {
                Some(format!("check {setting}"))
            }
            _ => None,
        }
    }
    /// The API could not be reached at all (refused, unresolved, TLS, no
    /// connection): worth telling a person at once.
    pub fn unreached(&self) -> bool {
        match self {
            ApiError::Transport { cause, .. } => cause.unreached(),
            ApiError::Exhausted { last, .. } => last.unreached(),
            _ => false,
        }
    }
    /// No complete answer came within the timeout (the server accepted
    /// the connection and stayed silent).
    pub fn timed_out(&self) -> bool {
        match self {
            ApiError::Transport { cause, .. } => *cause == Cause::Timeout,
            ApiError::Exhausted { last, .. } => last.timed_out(),
            _ => false,
        }
    }
    /// The host name did not resolve.
    pub fn unresolved(&self) -> bool {
        matches!(
            self,
            ApiError::Transport {
                cause: Cause::Unresolved,
                ..
            }
        )
    }
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            ApiError::Unauthorized { .. } => Some(401),
            ApiError::Exhausted { last, .. } => last.status(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_error_body_parses() {
        let body = br#"{"message":"Limit must be an integer under 500","error":{"message":"Limit must be an integer under 500","param":"limit","value":"10000","location":"query","status":400},"errors":[{"message":"Limit must be an integer under 500","param":"limit","value":"10000","location":"query","status":400},{"message":"Invalid value","param":"next","value":"abcd","location":"query","status":400}]}"#;
        let e = ErrorBody::parse(body).unwrap();
        assert_eq!(e.message(), Some("Limit must be an integer under 500"));
        assert_eq!(e.param(), Some("limit"));
        assert_eq!(e.error.as_ref().unwrap().status, Some(400));
        assert_eq!(e.error.as_ref().unwrap().value.as_deref(), Some("10000"));
        assert!(ErrorBody::parse(b"<html>Bad gateway</html>").is_none());
    }

    #[test]
    fn retry_classification() {
        let s = |status| ApiError::Status {
            endpoint: "GET /jobs".into(),
            host: "api.huntr.co".into(),
            status,
            message: None,
            param: None,
            retry_after: None,
        };
        for st in [408, 429, 500, 502, 503, 504] {
            assert!(s(st).retryable(), "{st}");
        }
        for st in [400, 403, 404, 405, 410] {
            assert!(!s(st).retryable(), "{st}");
        }
        let unauthorized = ApiError::Unauthorized {
            endpoint: "GET /jobs".into(),
            host: "api.huntr.co".into(),
            token_env: "HUNTR_ORG_TOKEN".into(),
            token_file: None,
            api_message: None,
        };
        assert!(!unauthorized.retryable());
        assert_eq!(s(400).to_string(), "GET /jobs: HTTP 400: no error message");
        assert_eq!(
            unauthorized.to_string(),
            "api.huntr.co refused the token in HUNTR_ORG_TOKEN (HTTP 401 on GET /jobs); \
             create a new Huntr access token in the organization's admin dashboard and \
             export it as HUNTR_ORG_TOKEN"
        );
        let from_file = ApiError::Unauthorized {
            endpoint: "GET /jobs".into(),
            host: "api.huntr.co".into(),
            token_env: "HUNTR_ORG_TOKEN".into(),
            token_file: Some("/etc/huntr/token".into()),
            api_message: Some("jwt expired".into()),
        };
        assert_eq!(
            from_file.to_string(),
            "api.huntr.co refused the token in token_file /etc/huntr/token (HTTP 401 on GET /jobs: jwt expired); \
             create a new Huntr access token in the organization's admin dashboard and \
             write it to /etc/huntr/token"
        );
    }

    #[test]
    fn giving_up_names_the_host_and_the_endpoint() {
        let last = ApiError::Status {
            endpoint: "GET /jobs".into(),
            host: "api.huntr.co".into(),
            status: 503,
            message: Some("Service Unavailable".into()),
            param: None,
            retry_after: None,
        };
        let gave_up = ApiError::Exhausted {
            endpoint: "GET /jobs".into(),
            attempts: 6,
            budget: false,
            elapsed: Duration::from_secs(49),
            last: Box::new(last),
        };
        assert_eq!(
            gave_up.to_string(),
            "GET /jobs on api.huntr.co: HTTP 503: Service Unavailable; gave up after 6 attempts in 49 s"
        );
    }
}
