//! The retry policy shared by every request: exponential backoff with full
//! jitter and a cap, `Retry-After` honoured when the server sends it, a
//! per-request and a per-run budget. [`run`] is the only retry loop in the
//! crate; what is worth retrying is decided by [`ApiError::retryable`].

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use backon::{BackoffBuilder, ExponentialBuilder, Retryable};
use rand::Rng;

use super::error::ApiError;

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Retries of one request (attempts = retries + 1).
    pub max_retries: usize,
    /// First backoff delay; it doubles with each retry.
    pub base: Duration,
    /// Longest backoff delay.
    pub cap: Duration,
    /// Shortest wait, also used for `Retry-After: 0` ("soon", never a burst).
    pub min_wait: Duration,
    /// Full jitter (on by default; off makes delays exact for tests).
    pub jitter: bool,
    /// Longest `Retry-After` obeyed as given; longer ones wait this long.
    pub retry_after_cap: Duration,
    /// Retries allowed across the whole run, all requests together.
    pub run_budget: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: crate::defaults::RETRIES as usize,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(60),
            min_wait: Duration::from_millis(100),
            jitter: true,
            retry_after_cap: Duration::from_secs(300),
            run_budget: 2_000,
        }
    }
}

/// Full jitter over backon's exponential series: each delay is drawn
/// uniformly from `[min_wait, d]` where `d` doubles up to the cap.
pub struct FullJitter {
    inner: backon::ExponentialBackoff,
    min_wait: Duration,
    jitter: bool,
}

impl Iterator for FullJitter {
    type Item = Duration;
    fn next(&mut self) -> Option<Duration> {
        let d = self.inner.next()?.max(self.min_wait);
        if d == self.min_wait || !self.jitter {
            return Some(d);
        }
        let ms = rand::rng().random_range(self.min_wait.as_millis() as u64..=d.as_millis() as u64);
        Some(Duration::from_millis(ms))
    }
}

impl RetryPolicy {
    pub fn backoff(&self) -> FullJitter {
        FullJitter {
            inner: ExponentialBuilder::default()
                .with_min_delay(self.base)
                .with_max_delay(self.cap)
                .with_factor(2.0)
                .with_max_times(self.max_retries)
                .build(),
            min_wait: self.min_wait,
            jitter: self.jitter,
        }
    }

    /// The wait before the next attempt: the server's `Retry-After` when it
    /// sent one (at least the minimum wait, so "0" is never a burst), else the
    /// backoff.
    pub fn wait(&self, retry_after: Option<Duration>, backoff: Duration) -> Duration {
        match retry_after {
            Some(d) => d.clamp(self.min_wait, self.retry_after_cap.max(self.min_wait)),
            None => backoff,
        }
    }
}

/// Retries and throttling seen by a run; also enforces the run budget.
#[derive(Debug, Default)]
pub struct RetryStats {
    pub retries: AtomicU64,
}

/// Runs `attempt` until it succeeds, fails for good, or a budget runs out.
/// `endpoint` names the request in the final error.
pub async fn run<T, F, Fut>(
    policy: &RetryPolicy,
    stats: &RetryStats,
    endpoint: &str,
    mut attempt: F,
) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
{
    let mut attempts = 0u32;
    let mut budget_spent = false;
    let result = (|| {
        attempts += 1;
        attempt()
    })
    .retry(policy.backoff())
    .sleep(tokio::time::sleep)
    .when(|e: &ApiError| {
        if !e.retryable() {
            return false;
        }
        if stats.retries.load(Ordering::Relaxed) >= policy.run_budget {
            budget_spent = true;
            return false;
        }
        true
    })
    .adjust(|e, backoff| Some(policy.wait(e.retry_after(), backoff?)))
    .notify(|e, wait| {
        stats.retries.fetch_add(1, Ordering::Relaxed);
        tracing::debug!("retrying in {wait:?}: {e}");
    })
    .await;
    match result {
        Err(e) if e.retryable() => Err(ApiError::Exhausted {
            endpoint: endpoint.to_owned(),
            attempts,
            budget: budget_spent,
            last: Box::new(e),
        }),
        other => other,
    }
}

/// Parses `Retry-After` in its two forms: delay-seconds or an HTTP date.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;
    use std::sync::Mutex;

    fn status(code: u16, retry_after: Option<Duration>) -> ApiError {
        ApiError::Status {
            endpoint: "/jobs".into(),
            status: code,
            message: None,
            param: None,
            retry_after,
        }
    }

    fn exact(max_retries: usize) -> RetryPolicy {
        RetryPolicy {
            max_retries,
            base: Duration::from_millis(100),
            cap: Duration::from_millis(1000),
            min_wait: Duration::from_millis(50),
            jitter: false,
            retry_after_cap: Duration::from_secs(60),
            run_budget: 1_000,
        }
    }

    /// Runs a scripted sequence of outcomes; returns the result and the
    /// waits between attempts, read from tokio's (paused) clock.
    async fn scripted(
        policy: &RetryPolicy,
        script: Vec<Result<u32, ApiError>>,
    ) -> (Result<u32, ApiError>, Vec<u64>) {
        let script = Mutex::new(VecDeque::from(script));
        let times = Mutex::new(Vec::new());
        let stats = RetryStats::default();
        let res = run(policy, &stats, "/jobs", || {
            times.lock().unwrap().push(tokio::time::Instant::now());
            let next = script
                .lock()
                .unwrap()
                .pop_front()
                .expect("script long enough");
            async move { next }
        })
        .await;
        let times = times.into_inner().unwrap();
        let gaps = times
            .windows(2)
            .map(|w| (w[1] - w[0]).as_millis() as u64)
            .collect();
        (res, gaps)
    }

    #[tokio::test(start_paused = true)]
    async fn backoff_doubles_up_to_the_cap_then_gives_up() {
        let script = (0..7).map(|_| Err(status(500, None))).collect();
        let (res, gaps) = scripted(&exact(6), script).await;
        // The timer rounds a deadline up to its next millisecond tick.
        let expected = [100, 200, 400, 800, 1000, 1000];
        assert_eq!(gaps.len(), expected.len());
        for (g, e) in gaps.iter().zip(expected) {
            assert!((e..=e + 1).contains(g), "{gaps:?}");
        }
        match res {
            Err(ApiError::Exhausted {
                attempts: 7,
                budget: false,
                ..
            }) => {}
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn jittered_waits_stay_within_their_bounds() {
        let policy = RetryPolicy {
            jitter: true,
            ..exact(8)
        };
        let script = (0..9).map(|_| Err(status(503, None))).collect();
        let (_, gaps) = scripted(&policy, script).await;
        let bounds = [100, 200, 400, 800, 1000, 1000, 1000, 1000];
        for (g, b) in gaps.iter().zip(bounds) {
            assert!((50..=b + 1).contains(g), "{gaps:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_obeyed_in_both_forms_and_zero_means_soon() {
        let now = SystemTime::now();
        let date = httpdate::fmt_http_date(now + Duration::from_secs(5));
        let script = vec![
            Err(status(429, Some(Duration::from_secs(3)))),
            Err(status(429, parse_retry_after(&date, now))),
            Err(status(503, parse_retry_after("0", now))),
            Ok(7),
        ];
        let (res, gaps) = scripted(&exact(6), script).await;
        assert_eq!(res.unwrap(), 7);
        // 3 s; the HTTP date 5 s ahead (to the second); "0" waits min_wait.
        assert!((3000..=3001).contains(&gaps[0]), "{gaps:?}");
        assert!((4000..=5001).contains(&gaps[1]), "{gaps:?}");
        assert!((50..=51).contains(&gaps[2]), "{gaps:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn client_errors_are_never_retried() {
        for code in [400, 401, 403, 404] {
            let err = if code == 401 {
                ApiError::Unauthorized {
                    endpoint: "/jobs".into(),
                    token_env: "T".into(),
                    api_message: None,
                }
            } else {
                status(code, None)
            };
            let (res, gaps) = scripted(&exact(6), vec![Err(err), Ok(1)]).await;
            assert!(gaps.is_empty(), "{code} was retried");
            assert_eq!(res.unwrap_err().status(), Some(code));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_run_budget_stops_retries_across_requests() {
        let policy = RetryPolicy {
            run_budget: 3,
            ..exact(10)
        };
        let stats = RetryStats::default();
        let attempts = AtomicU64::new(0);
        let res: Result<(), ApiError> = run(&policy, &stats, "/jobs", || {
            attempts.fetch_add(1, Ordering::Relaxed);
            async { Err(status(500, None)) }
        })
        .await;
        assert!(matches!(res, Err(ApiError::Exhausted { budget: true, .. })));
        assert_eq!(attempts.load(Ordering::Relaxed), 4);
        assert!(res.unwrap_err().to_string().contains("retry budget"));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            max_retries: 12,
            base: Duration::from_millis(200),
            cap: Duration::from_secs(5),
            min_wait: Duration::from_millis(10),
            ..RetryPolicy::default()
        };
        let delays: Vec<Duration> = p.backoff().collect();
        assert_eq!(delays.len(), 12);
        assert!(
            delays.iter().all(|d| *d >= p.min_wait && *d <= p.cap),
            "{delays:?}"
        );
        // Upper bounds double: the mean of late draws beats early ones.
        let early: Duration = delays[..2].iter().sum();
        let late: Duration = delays[8..10].iter().sum();
        assert!(late > early, "{delays:?}");
    }

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("0", now), Some(Duration::ZERO));
        let date = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(parse_retry_after(&date, now), Some(Duration::from_secs(30)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        let p = RetryPolicy::default();
        assert_eq!(
            p.wait(Some(Duration::ZERO), Duration::from_secs(9)),
            p.min_wait
        );
        assert_eq!(
            p.wait(Some(Duration::from_secs(3600)), Duration::ZERO),
            p.retry_after_cap
        );
    }
}
