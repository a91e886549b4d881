//! The retry policy shared by every request: exponential backoff with full
//! jitter and a cap, `Retry-After` honoured when the server sends it.

use std::time::{Duration, SystemTime};

use backon::{BackoffBuilder, ExponentialBuilder};
use rand::Rng;

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Retries of one request (attempts = retries + 1).
    pub max_retries: usize,
    pub base: Duration,
    pub cap: Duration,
    /// Shortest wait, also used for `Retry-After: 0` ("soon", never a burst).
    pub floor: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 8,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(60),
            floor: Duration::from_millis(100),
        }
    }
}

/// Full jitter over backon's exponential series: each delay is drawn
/// uniformly from `[floor, d]` where `d` doubles up to the cap.
pub struct FullJitter {
    inner: backon::ExponentialBackoff,
    floor: Duration,
}

impl Iterator for FullJitter {
    type Item = Duration;
    fn next(&mut self) -> Option<Duration> {
        let d = self.inner.next()?;
        if d <= self.floor {
            return Some(self.floor);
        }
        let ms = rand::rng().random_range(self.floor.as_millis() as u64..=d.as_millis() as u64);
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
            floor: self.floor,
        }
    }

    /// The wait before the next attempt: the server's `Retry-After` when it
    /// sent one (at least the floor, at most the cap), else the backoff.
    pub fn wait(&self, retry_after: Option<Duration>, backoff: Duration) -> Duration {
        match retry_after {
            Some(d) => d.clamp(self.floor, self.cap.max(self.floor)),
            None => backoff,
        }
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

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            max_retries: 12,
            base: Duration::from_millis(200),
            cap: Duration::from_secs(5),
            floor: Duration::from_millis(10),
        };
        let delays: Vec<Duration> = p.backoff().collect();
        assert_eq!(delays.len(), 12);
        assert!(
            delays.iter().all(|d| *d >= p.floor && *d <= p.cap),
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
            p.floor
        );
        assert_eq!(
            p.wait(Some(Duration::from_secs(3600)), Duration::ZERO),
            p.cap
        );
    }
}
