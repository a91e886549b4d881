//! Why a request got no HTTP answer, told apart by type rather than by
//! message: a refused connection, a host name that does not resolve, a
//! failed TLS handshake, a timeout. The client resolves names through
//! [`Resolver`] so that a lookup failure carries its own type through
//! reqwest's error chain.

use std::error::Error as StdError;
use std::net::SocketAddr;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// What went wrong below HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// Nothing accepts connections at that address and port.
    Refused,
    /// The host name does not resolve.
    Unresolved,
    /// The TLS handshake failed (often an https:// URL on a plain HTTP
    /// server, or a certificate that does not verify).
    Tls,
    /// No connection within the connect timeout.
    ConnectTimeout,
    /// Any other failure while connecting.
    Connect,
    /// Connected, but the answer did not come within the timeout.
    Timeout,
    /// Connected, but the connection dropped or the body was cut off.
    Dropped,
}

impl Cause {
    /// The request never reached the API: the base URL, the network or
    /// the server's address is the thing to check.
    pub fn unreached(self) -> bool {
        matches!(
            self,
            Cause::Refused
                | Cause::Unresolved
                | Cause::Tls
                | Cause::ConnectTimeout
                | Cause::Connect
        )
    }

    /// What happened, in words, with the innermost error's own text.
    pub fn describe(self, detail: &str) -> String {
        match self {
            Cause::Refused => "connection refused (nothing listens at that address and port)".into(),
            Cause::Unresolved => format!("the host name does not resolve ({detail})"),
            Cause::Tls => format!(
                "the TLS handshake failed ({detail}); a server that speaks plain HTTP needs an http:// URL"
            ),
            Cause::ConnectTimeout => format!("no connection within the connect timeout ({detail})"),
            Cause::Connect => detail.to_owned(),
            Cause::Timeout => format!("no complete answer within the timeout ({detail})"),
            Cause::Dropped => format!("the connection dropped or the answer was cut off ({detail})"),
        }
    }
}

/// A host name that does not resolve; raised by [`Resolver`].
#[derive(Debug, thiserror::Error)]
#[error("{source}")]
pub struct Unresolved {
    source: std::io::Error,
}

/// The system resolver (`getaddrinfo`, off the async threads), with
/// failures typed as [`Unresolved`].
#[derive(Debug, Default)]
pub struct Resolver;

impl Resolve for Resolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|source| {
                    Box::new(Unresolved { source }) as Box<dyn StdError + Send + Sync>
                })?
                .collect();
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// The cause of a failed request (`https`: to an https:// URL) and the
/// innermost error's text (the one that says what the system saw).
pub fn classify(e: &reqwest::Error, https: bool) -> (Cause, String) {
    let mut detail = e.to_string();
    let (mut refused, mut unresolved, mut garbled) = (false, false, false);
    let mut src: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(s) = src {
        detail = s.to_string();
        unresolved |= s.is::<Unresolved>();
        // An io::Error may wrap another (the TLS connector wraps the
        // handshake's); their sources skip the wrapped one.
        let mut io = s.downcast_ref::<std::io::Error>();
        while let Some(e) = io {
            refused |= e.kind() == std::io::ErrorKind::ConnectionRefused;
            // What a TLS client reads from a plain HTTP server: not TLS,
            // or nothing at all.
            garbled |= matches!(
                e.kind(),
                std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof
            );
            io = e.get_ref().and_then(|i| i.downcast_ref::<std::io::Error>());
        }
        src = s.source();
    }
    let cause = if unresolved {
        Cause::Unresolved
    } else if refused {
        Cause::Refused
    } else if e.is_connect() && e.is_timeout() {
        Cause::ConnectTimeout
    } else if e.is_connect() && https && garbled {
        Cause::Tls
    } else if e.is_connect() {
        Cause::Connect
    } else if e.is_timeout() {
        Cause::Timeout
    } else {
        Cause::Dropped
    };
    (cause, detail)
}

/// `host[:port]` of a URL, as messages name it.
pub fn host_of(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => match (u.host_str(), u.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            _ => url.to_owned(),
        },
        Err(_) => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_named_with_their_port() {
        assert_eq!(host_of("https://api.huntr.co/org"), "api.huntr.co");
        assert_eq!(host_of("http://127.0.0.1:8787/org"), "127.0.0.1:8787");
    }

    #[test]
    fn only_connect_failures_count_as_unreached() {
        assert!(Cause::Refused.unreached() && Cause::Unresolved.unreached());
        assert!(Cause::Tls.unreached() && Cause::ConnectTimeout.unreached());
        assert!(!Cause::Timeout.unreached() && !Cause::Dropped.unreached());
    }
}
