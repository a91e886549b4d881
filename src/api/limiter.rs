//! The proactive rate limiter shared by every request of a run (governor's
//! GCRA), on tokio's clock so that waiting is ordinary tokio sleeping and
//! tests can run it under paused time.
//!
//! A fixed rate is a plain quota: one cell per request. An adaptive rate
//! (`requests_per_second = "auto"`, the rules in [`super::aimd`]) is one
//! quota of microsecond cells with a second of them as the burst; each
//! request is charged `1 / rate` seconds of cells, so a new rate prices the
//! next request at once without forgetting what was already spent.
//!
//! The limiter also says whether it is what bounds the run
//! ([`Limiter::saturated`]): requests going out at nearly the rate means
//! they wait on the limiter rather than on answers, and reading more at
//! once would only add requests.

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

use super::aimd::{Aimd, MIN_RATE};

/// Cells of an adaptive rate's quota per second (a cell is a microsecond).
const CELLS_PER_SECOND: u32 = 1_000_000;
/// The span over which the limiter measures how fast requests go out.
const WINDOW: u64 = 1_000_000_000;
/// The shortest span measured, right after the first request.
const MIN_WINDOW: u64 = 100_000_000;
/// Requests going out at this share of the rate or more: the limiter is
/// what bounds the run.
const SATURATED_SHARE: f64 = 0.9;

/// Nanoseconds since the limiter was built, read from tokio's clock.
#[derive(Debug, Clone)]
pub struct TokioClock {
    start: tokio::time::Instant,
}

impl Clock for TokioClock {
    type Instant = Nanos;
    fn now(&self) -> Nanos {
        Nanos::from(self.start.elapsed())
    }
}

impl TokioClock {
    fn nanos(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }
}

/// When a request was let through, on the limiter's clock: given back to
/// [`Limiter::throttled`] when its answer is a 429.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Sent(u64);

/// The requests let through lately (for [`Limiter::saturated`]).
#[derive(Debug, Default)]
struct Recent {
    first: Option<u64>,
    times: VecDeque<u64>,
}

/// How the rate is set.
enum Rate {
    Fixed(f64),
    Auto(Mutex<Aimd>),
}

pub struct Limiter {
    inner: RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<Nanos>>,
    clock: TokioClock,
    rate: Rate,
    /// Cells charged per request.
    cost: AtomicU32,
    recent: Mutex<Recent>,
    /// The most requests `recent` keeps (enough to tell saturation).
    recent_cap: usize,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Limiter {
    fn build(quota: Quota, rate: Rate, cost: u32, top: f64) -> Limiter {
        let clock = TokioClock {
            start: tokio::time::Instant::now(),
        };
        Limiter {
            inner: RateLimiter::direct_with_clock(quota, clock.clone()),
            clock,
            rate,
            cost: AtomicU32::new(cost),
            recent: Mutex::new(Recent::default()),
            recent_cap: (top.ceil() as usize).clamp(16, 20_000),
        }
    }

    /// `rps` requests per second on average, at most `burst` at once.
    pub fn new(rps: f64, burst: u32) -> Limiter {
        let burst = NonZeroU32::new(burst.max(1)).expect("max(1)");
        let period = Duration::from_secs_f64(1.0 / rps.max(0.001));
        let quota = Quota::with_period(period)
            .expect("positive period")
            .allow_burst(burst);
        Limiter::build(quota, Rate::Fixed(rps), 1, rps)
    }

    /// An adaptive rate: starts at `start` requests per second and moves
    /// (additive increase, multiplicative decrease) up to `max`; the burst
    /// is one second's worth at the current rate.
    pub fn adaptive(start: f64, max: f64) -> Limiter {
        let aimd = Aimd::new(start, max);
        let cost = cost_of(aimd.rate());
        let quota = Quota::with_period(Duration::from_secs(1) / CELLS_PER_SECOND)
            .expect("positive period")
            .allow_burst(NonZeroU32::new(CELLS_PER_SECOND).expect("not zero"));
        let top = aimd.max();
        Limiter::build(quota, Rate::Auto(Mutex::new(aimd)), cost, top)
    }

    /// The rate requests may go out at now, in requests per second.
    pub fn rate(&self) -> f64 {
        match &self.rate {
            Rate::Fixed(r) => *r,
            Rate::Auto(a) => lock(a).rate(),
        }
    }

    /// Waits until a request may go out; returns when it went.
    pub async fn wait(&self) -> Sent {
        loop {
            let cost = NonZeroU32::new(self.cost.load(Ordering::Relaxed).max(1)).expect("max(1)");
            match self.inner.check_n(cost) {
                Ok(Ok(())) => break,
                Ok(Err(not_until)) => {
                    tokio::time::sleep(not_until.wait_time_from(self.clock.now())).await
                }
                // Never: a cost is at most the burst (rates of MIN_RATE and up).
                Err(_) => break,
            }
        }
        let now = self.clock.nanos();
        let mut recent = lock(&self.recent);
        recent.first.get_or_insert(now);
        recent.times.push_back(now);
        if recent.times.len() > self.recent_cap {
            recent.times.pop_front();
        }
        Sent(now)
    }

    /// Whether requests are going out at nearly the rate (over the last
    /// second): then they wait on the limiter rather than on answers.
    pub fn saturated(&self) -> bool {
        let now = self.clock.nanos();
        let rate = self.rate();
        let mut recent = lock(&self.recent);
        let Some(first) = recent.first else {
            return false;
        };
        while recent.times.front().is_some_and(|&t| t + WINDOW <= now) {
            recent.times.pop_front();
        }
        let window = (now - first).clamp(MIN_WINDOW, WINDOW) as f64 / 1e9;
        recent.times.len() as f64 >= SATURATED_SHARE * rate * window
    }

    /// The answer to a request was not a 429: an adaptive rate rises.
    pub fn answered(&self) {
        let Rate::Auto(aimd) = &self.rate else {
            return;
        };
        let mut a = lock(aimd);
        let before = a.rate();
        a.answered(self.clock.nanos());
        if a.rate().floor() > before.floor() {
            tracing::debug!("auto rate: raised to {:.1} requests/s", a.rate());
        }
        self.cost.store(cost_of(a.rate()), Ordering::Relaxed);
    }

    /// The answer to the request sent at `sent` was a 429: an adaptive
    /// rate is cut at once (once per episode).
    pub fn throttled(&self, sent: Sent) {
        let Rate::Auto(aimd) = &self.rate else {
            return;
        };
        let mut a = lock(aimd);
        match a.throttled(sent.0, self.clock.nanos()) {
            Some(before) => tracing::debug!(
                "auto rate: 429, cut from {before:.1} to {:.1} requests/s",
                a.rate()
            ),
            None => tracing::trace!("auto rate: 429 to a request sent before the last cut"),
        }
        self.cost.store(cost_of(a.rate()), Ordering::Relaxed);
    }
}

/// Cells charged per request at `rate` requests per second.
fn cost_of(rate: f64) -> u32 {
    (CELLS_PER_SECOND as f64 / rate.max(MIN_RATE)).round() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn requests_are_spaced_at_the_rate() {
        let limiter = Limiter::new(5.0, 2);
        let start = tokio::time::Instant::now();
        let mut at = Vec::new();
        for _ in 0..7 {
            limiter.wait().await;
            at.push(start.elapsed().as_millis() as u64);
        }
        // Two at once (the burst), then one every 200 ms.
        assert_eq!(at, vec![0, 0, 200, 400, 600, 800, 1000]);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_waiters_share_the_rate() {
        let limiter = std::sync::Arc::new(Limiter::new(10.0, 1));
        let start = tokio::time::Instant::now();
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let l = limiter.clone();
                tokio::spawn(async move {
                    l.wait().await;
                    start.elapsed()
                })
            })
            .collect();
        let mut done = Vec::new();
        for t in tasks {
            done.push(t.await.unwrap());
        }
        done.sort();
        assert!(done[9] >= Duration::from_millis(900), "{done:?}");
        assert!(
            done.windows(2)
                .all(|w| w[1] - w[0] >= Duration::from_millis(99)),
            "{done:?}"
        );
    }

    /// Sends for `secs` seconds, `answered` after each request; returns
    /// when each request went, in ms from the start.
    async fn answered_for(limiter: &Limiter, secs: u64) -> Vec<u64> {
        let start = tokio::time::Instant::now();
        let mut at = Vec::new();
        while start.elapsed() < Duration::from_secs(secs) {
            limiter.wait().await;
            at.push(start.elapsed().as_millis() as u64);
            limiter.answered();
        }
        at
    }

    #[tokio::test(start_paused = true)]
    async fn auto_rate_rises_while_answers_come_without_429() {
        let limiter = Limiter::adaptive(5.0, 50.0);
        let at = answered_for(&limiter, 5).await;
        // 2 requests/s more every second (and a little more for the first
        // second's burst): 15 to 17 after 5 seconds.
        let rate = limiter.rate();
        assert!((14.0..=17.5).contains(&rate), "{rate}");
        let last_second = at.iter().filter(|&&t| t >= 4000).count();
        assert!((13..=18).contains(&last_second), "{last_second}: {at:?}");
        let first_second = at.iter().filter(|&&t| t < 1000).count();
        assert!(first_second < last_second, "{at:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn auto_rate_is_cut_at_once_on_a_429_once_per_episode() {
        let limiter = Limiter::adaptive(10.0, 50.0);
        answered_for(&limiter, 2).await;
        let before = limiter.rate();
        let sent = limiter.wait().await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        limiter.throttled(sent);
        let after = limiter.rate();
        // 0.7 times the rate, or the rate answers came at if lower.
        assert!(
            after <= 0.7 * before + 1e-9 && after >= 0.6 * before,
            "{before} -> {after}"
        );
        // Another 429 of the same episode (sent before the cut) changes nothing.
        limiter.throttled(sent);
        assert_eq!(limiter.rate(), after);
        // The very next requests are spaced at the new rate.
        let mut at = Vec::new();
        for _ in 0..5 {
            limiter.wait().await;
            at.push(tokio::time::Instant::now());
        }
        let gap = 1000.0 / after;
        for w in at.windows(2).skip(1) {
            let ms = (w[1] - w[0]).as_secs_f64() * 1000.0;
            assert!((ms - gap).abs() < 2.0, "{ms} ms, want {gap}");
        }
        // A 429 to a request sent after the cut cuts again.
        let sent = limiter.wait().await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        limiter.throttled(sent);
        assert!(limiter.rate() < after, "{after} -> {}", limiter.rate());
    }

    #[tokio::test(start_paused = true)]
    async fn auto_rate_never_passes_its_maximum() {
        let limiter = Limiter::adaptive(5.0, 8.0);
        let at = answered_for(&limiter, 10).await;
        assert_eq!(limiter.rate(), 8.0);
        let last_five = at.iter().filter(|&&t| t >= 5000).count();
        assert!((39..=41).contains(&last_five), "{last_five}: {at:?}");
    }

    /// `chains` loops each sending a request every `every` ms (an answer's
    /// latency) for `secs` seconds; returns `saturated()` at the end.
    async fn saturated_after(limiter: Limiter, chains: usize, every: u64, secs: u64) -> bool {
        let limiter = std::sync::Arc::new(limiter);
        let start = tokio::time::Instant::now();
        let tasks: Vec<_> = (0..chains)
            .map(|_| {
                let l = limiter.clone();
                tokio::spawn(async move {
                    while start.elapsed() < Duration::from_secs(secs) {
                        l.wait().await;
                        tokio::time::sleep(Duration::from_millis(every)).await;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        limiter.saturated()
    }

    #[tokio::test(start_paused = true)]
    async fn saturation_tells_the_limit_from_latency() {
        // One chain at 60 ms an answer makes under 17 of 20 requests/s.
        assert!(!saturated_after(Limiter::new(20.0, 20), 1, 60, 3).await);
        // Three of them would make 50: the limit bounds them.
        assert!(saturated_after(Limiter::new(20.0, 20), 3, 60, 3).await);
        // Without a real limit, six chains at 1 ms are far from it.
        assert!(!saturated_after(Limiter::new(10_000.0, 10_000), 6, 1, 1).await);
        // At the very start, a burst of requests shows the limit too.
        let limiter = Limiter::new(20.0, 20);
        for _ in 0..7 {
            limiter.wait().await;
        }
        assert!(limiter.saturated());
        // An adaptive limiter at its starting rate is saturated by two chains.
        assert!(saturated_after(Limiter::adaptive(5.0, 50.0), 2, 60, 1).await);
    }
}
