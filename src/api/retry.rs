//! The retry policy shared by every request: exponential backoff with full
//! jitter and a cap, `Retry-After` honoured when the server sends it, a
//! per-request and a per-run budget. [`run_with`] is the only retry loop in
//! the crate; what is worth retrying is decided by [`ApiError::retryable`].
//! A host name that does not resolve before the API ever answered (a typo
//! in the base URL, most likely) is retried for [`RetryPolicy::unresolved_limit`]
//! only, and the first failure to reach the API is told at once.

use std::cell::Cell;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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
    /// How long a host name that does not resolve is retried while the API
    /// has not answered yet in this run.
    pub unresolved_limit: Duration,
    /// Retry only what certainly was not applied (a `POST`): see
    /// [`ApiError::maybe_applied`].
    pub only_unapplied: bool,
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
            unresolved_limit: Duration::from_secs(60),
            only_unapplied: false,
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

    /// The longest the backoff can wait in all, from retry `done` (0-based)
    /// to the last one.
    pub fn longest_wait(&self, done: usize) -> Duration {
        let (mut total, mut d) = (Duration::ZERO, self.base);
        for i in 0..self.max_retries {
            if i >= done {
                total += d.min(self.cap).max(self.min_wait);
            }
            d = d.saturating_mul(2).min(self.cap);
        }
        total
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
    /// The API answered (any HTTP status) at least once in this run.
    pub answered: AtomicBool,
    /// The first failure to reach the API was told.
    pub told: AtomicBool,
}

/// [`run_with`], telling nobody about failures to reach the API.
pub async fn run<T, F, Fut>(
    policy: &RetryPolicy,
    stats: &RetryStats,
    endpoint: &str,
    attempt: F,
) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
{
    run_with(policy, stats, endpoint, &|_, _| {}, attempt).await
}

/// Runs `attempt` until it succeeds, fails for good, or a budget runs out.
/// `endpoint` names the request in the final error. The run's first
/// failure to reach the API goes to `notice`, with the longest time
/// retries may go on.
pub async fn run_with<T, F, Fut>(
    policy: &RetryPolicy,
    stats: &RetryStats,
    endpoint: &str,
    notice: &dyn Fn(&ApiError, Duration),
    mut attempt: F,
) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
{
    let started = tokio::time::Instant::now();
    let attempts = Cell::new(0u32);
    let mut budget_spent = false;
    // How long this error may still be retried, when less than the policy.
    let limit = |e: &ApiError| {
        (e.unresolved() && !stats.answered.load(Ordering::Relaxed))
            .then(|| policy.unresolved_limit.saturating_sub(started.elapsed()))
    };
    let result = (|| {
        attempts.set(attempts.get() + 1);
        attempt()
    })
    .retry(policy.backoff())
    .sleep(tokio::time::sleep)
    .when(|e: &ApiError| {
        if !e.retryable() || (policy.only_unapplied && e.maybe_applied()) {
            return false;
        }
        if stats.retries.load(Ordering::Relaxed) >= policy.run_budget {
            budget_spent = true;
            return false;
        }
        true
    })
    .adjust(|e, backoff| {
        let wait = policy.wait(e.retry_after(), backoff?);
        match limit(e) {
            Some(left) if left.is_zero() => None,
            Some(left) => Some(wait.min(left)),
            None => Some(wait),
        }
    })
    .notify(|e, wait| {
        stats.retries.fetch_add(1, Ordering::Relaxed);
        tracing::debug!("retrying in {wait:?}: {e}");
        if e.unreached() && !stats.told.swap(true, Ordering::Relaxed) {
            let most = policy.longest_wait(attempts.get() as usize - 1);
            notice(e, limit(e).map_or(most, |left| left.min(most)));
        }
    })
    .await;
    match result {
        Err(e) if e.retryable() => Err(ApiError::Exhausted {
            endpoint: endpoint.to_owned(),
            attempts: attempts.get(),
            budget: budget_spent,
            elapsed: started.elapsed(),
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
            endpoint: "GET /jobs".into(),
            host: "api.huntr.co".into(),
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
            unresolved_limit: Duration::from_secs(60),
            only_unapplied: false,
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
    async fn a_post_is_retried_only_when_it_was_certainly_not_applied() {
        let once = RetryPolicy {
            only_unapplied: true,
            ..exact(3)
        };
        // A 429 never reached the API's logic: retried.
        let script = vec![Err(status(429, None)), Ok(1)];
        let (res, gaps) = scripted(&once, script).await;
        assert_eq!((res.unwrap(), gaps.len()), (1, 1));
        // A 500 may have been applied: handed back at once, as maybe applied.
        let (res, gaps) = scripted(&once, vec![Err(status(500, None))]).await;
        let err = res.unwrap_err();
        assert!(gaps.is_empty() && err.maybe_applied(), "{err:?}");
        // The same 500 is retried when the request is idempotent.
        let (res, _) = scripted(&exact(3), vec![Err(status(500, None)), Ok(2)]).await;
        assert_eq!(res.unwrap(), 2);
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
                    endpoint: "GET /jobs".into(),
                    host: "api.huntr.co".into(),
                    token_env: "T".into(),
                    token_file: None,
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

    fn unresolved() -> ApiError {
        ApiError::Transport {
            endpoint: "GET /activity-categories".into(),
            host: "api.huntr.invalid".into(),
            cause: crate::api::transport::Cause::Unresolved,
            detail: "failed to lookup address information".into(),
            setting: "--base-url".into(),
        }
    }

    /// Attempts made and time spent (paused clock) failing with `err`
    /// until the policy gives up; what `notice` was told.
    async fn failing(
        policy: &RetryPolicy,
        stats: &RetryStats,
        err: fn() -> ApiError,
    ) -> (u32, Duration, Vec<Duration>) {
        let told = Mutex::new(Vec::new());
        let started = tokio::time::Instant::now();
        let res: Result<(), ApiError> = run_with(
            policy,
            stats,
            "/activity-categories",
            &|_, within| told.lock().unwrap().push(within),
            || async move { Err(err()) },
        )
        .await;
        let Err(ApiError::Exhausted { attempts, .. }) = res else {
            panic!("{res:?}")
        };
        (attempts, started.elapsed(), told.into_inner().unwrap())
    }

    #[tokio::test(start_paused = true)]
    async fn an_unresolved_host_is_retried_for_a_minute_before_any_answer() {
        let policy = RetryPolicy {
            jitter: false,
            ..RetryPolicy::default()
        };
        // The full budget: 0.5 s doubling to the 60 s cap, 8 retries.
        assert_eq!(policy.longest_wait(0), Duration::from_millis(123_500));
        let (attempts, spent, told) = failing(&policy, &RetryStats::default(), unresolved).await;
        assert!(spent <= Duration::from_millis(60_010), "{spent:?}");
        assert!(spent >= Duration::from_secs(59), "{spent:?}");
        assert_eq!(attempts, 8, "0.5+1+2+4+8+16+28.5 s of waits");
        assert_eq!(told, vec![Duration::from_secs(60)], "told once, at once");
        // Once the API has answered in this run, the full budget applies.
        let stats = RetryStats::default();
        stats.answered.store(true, Ordering::Relaxed);
        let (attempts, spent, _) = failing(&policy, &stats, unresolved).await;
        assert_eq!(attempts, 9);
        assert!(spent >= Duration::from_millis(123_500), "{spent:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_failure_to_reach_the_api_is_told_once_per_run() {
        let policy = exact(3);
        let stats = RetryStats::default();
        let (_, _, told) = failing(&policy, &stats, || status(503, None)).await;
        assert!(told.is_empty(), "an answer, even a 503, reached the API");
        let (_, _, told) = failing(&policy, &stats, unresolved).await;
        assert_eq!(told, vec![Duration::from_millis(100 + 200 + 400)]);
        let (_, _, told) = failing(&policy, &stats, unresolved).await;
        assert!(told.is_empty(), "told once per run: {told:?}");
    }

    #[test]
    fn an_exhausted_request_says_it_in_one_line() {
        let e = ApiError::Exhausted {
            endpoint: "GET /activity-categories".into(),
            attempts: 9,
            budget: false,
            elapsed: Duration::from_millis(49_200),
            last: Box::new(unresolved()),
        };
        assert_eq!(
            e.to_string(),
            "cannot connect to api.huntr.invalid: the host name does not resolve \
             (failed to lookup address information); gave up after 9 attempts in 49 s; \
             check --base-url"
        );
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
