//! The proactive rate limiter shared by every request of a run (governor's
//! GCRA), on tokio's clock so that waiting is ordinary tokio sleeping and
//! tests can run it under paused time.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

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

pub struct Limiter {
    inner: RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<Nanos>>,
    clock: TokioClock,
}

impl Limiter {
    /// `rps` requests per second on average, at most `burst` at once.
    pub fn new(rps: f64, burst: u32) -> Limiter {
        let burst = NonZeroU32::new(burst.max(1)).expect("max(1)");
        let period = Duration::from_secs_f64(1.0 / rps.max(0.001));
        let quota = Quota::with_period(period)
            .expect("positive period")
            .allow_burst(burst);
        let clock = TokioClock {
            start: tokio::time::Instant::now(),
        };
        Limiter {
            inner: RateLimiter::direct_with_clock(quota, clock.clone()),
            clock,
        }
    }

    /// Waits until a request may go out.
    pub async fn wait(&self) {
        while let Err(not_until) = self.inner.check() {
            tokio::time::sleep(not_until.wait_time_from(self.clock.now())).await;
        }
    }
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
}
