//! The adaptive request rate of `requests_per_second = "auto"`: additive
//! increase, multiplicative decrease, as the AWS SDKs' adaptive retry mode
//! does for an API whose limit is not published.
//!
//! - Every answer other than a 429 raises the rate by [`INCREASE`] divided
//!   by the rate: while requests go out at the rate, that is [`INCREASE`]
//!   requests per second more every second.
//! - A 429 cuts the rate at once to [`DECREASE`] times the lower of the
//!   rate and the rate answers actually came at in the last second (the
//!   rate may have grown past what was used). One cut per episode: a 429
//!   to a request sent before the last cut says nothing new.
//! - The rate stays between [`MIN_RATE`] and the configured maximum, and
//!   does not climb past twice the rate answers come at (a rate nobody
//!   uses tells nothing about the API's limit).
//!
//! Times are nanoseconds on the limiter's clock; this file holds no clock,
//! so its rules are tested with plain numbers.

use std::collections::VecDeque;

/// Requests per second gained per second of answers without a 429.
pub const INCREASE: f64 = 2.0;
/// The share of the rate kept after a 429.
pub const DECREASE: f64 = 0.7;
/// The lowest rate a cut may reach, in requests per second.
pub const MIN_RATE: f64 = 1.0;

const SECOND: u64 = 1_000_000_000;

#[derive(Debug)]
pub struct Aimd {
    rate: f64,
    start: f64,
    max: f64,
    /// When the rate was last cut: 429s to requests sent before then are
    /// part of the episode that caused the cut.
    cut_at: Option<u64>,
    /// When the answers of the last second came.
    answers: VecDeque<u64>,
    /// When the first answer came.
    first_answer: Option<u64>,
}

impl Aimd {
    /// Starts at `start` requests per second (at most `max`).
    pub fn new(start: f64, max: f64) -> Aimd {
        let max = max.max(MIN_RATE);
        Aimd {
            rate: start.clamp(MIN_RATE, max),
            start: start.clamp(MIN_RATE, max),
            max,
            cut_at: None,
            answers: VecDeque::new(),
            first_answer: None,
        }
    }

    pub fn rate(&self) -> f64 {
        self.rate
    }

    pub fn max(&self) -> f64 {
        self.max
    }

    /// Answers per second over the last second, once a second has passed
    /// since the first answer (before that, there is no measure).
    fn measured(&mut self, now: u64) -> Option<f64> {
        while self.answers.front().is_some_and(|&t| t + SECOND <= now) {
            self.answers.pop_front();
        }
        let first = self.first_answer?;
        (now >= first + SECOND).then_some(self.answers.len() as f64)
    }

    /// An answer other than 429 came at `now`: additive increase.
    pub fn answered(&mut self, now: u64) {
        self.first_answer.get_or_insert(now);
        self.answers.push_back(now);
        // Bounded: the window holds at most a second of answers.
        if self.answers.len() > 2 * self.max.ceil() as usize + 16 {
            self.answers.pop_front();
        }
        let ceiling = match self.measured(now) {
            Some(m) => self.max.min((2.0 * m).max(self.start)),
            None => self.max,
        };
        let raised = (self.rate + INCREASE / self.rate).min(ceiling);
        if raised > self.rate {
            self.rate = raised;
        }
    }

    /// A 429 came at `now` for a request sent at `sent`: multiplicative
    /// decrease, unless this episode already cut the rate. Returns the
    /// rate before the cut when there was one.
    pub fn throttled(&mut self, sent: u64, now: u64) -> Option<f64> {
        if self.cut_at.is_some_and(|cut| sent < cut) {
            return None;
        }
        let before = self.rate;
        let used = self.measured(now).filter(|&m| m > 0.0).unwrap_or(before);
        self.rate = (DECREASE * before.min(used)).max(MIN_RATE);
        self.cut_at = Some(now);
        Some(before)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    /// Answers at the rate for `secs` seconds from `from`; returns the end.
    fn answer_at_rate(a: &mut Aimd, from: u64, secs: f64) -> u64 {
        let mut now = from;
        while now < from + (secs * SECOND as f64) as u64 {
            a.answered(now);
            now += (SECOND as f64 / a.rate()) as u64;
        }
        now
    }

    #[test]
    fn the_rate_grows_by_the_step_each_second() {
        let mut a = Aimd::new(5.0, 50.0);
        answer_at_rate(&mut a, 0, 5.0);
        // 5 + 2 per second for 5 seconds, give or take one answer.
        assert!((14.0..=15.5).contains(&a.rate()), "{}", a.rate());
    }

    #[test]
    fn one_cut_per_episode_and_never_below_the_minimum() {
        let mut a = Aimd::new(10.0, 50.0);
        let now = answer_at_rate(&mut a, 0, 2.0);
        let before = a.rate();
        assert_eq!(a.throttled(now - 50 * MS, now), Some(before));
        let cut = a.rate();
        assert!((cut - DECREASE * before).abs() < 1.5, "{before} -> {cut}");
        // Sent before the cut: the same episode.
        assert_eq!(a.throttled(now - MS, now + 10 * MS), None);
        assert_eq!(a.rate(), cut);
        // Sent after it: a new one.
        assert!(a.throttled(now + 20 * MS, now + 80 * MS).is_some());
        for i in 0..20 {
            a.throttled(now + (100 + i) * MS, now + (101 + i) * MS);
        }
        assert_eq!(a.rate(), MIN_RATE);
    }

    #[test]
    fn a_cut_starts_from_the_rate_answers_came_at() {
        let mut a = Aimd::new(5.0, 100.0);
        // Answers at 4 per second: the rate may not pass twice that.
        for i in 0..40 {
            a.answered(i * 250 * MS);
        }
        assert!(a.rate() <= 8.0 + 1e-9, "{}", a.rate());
        a.throttled(9_800 * MS, 9_800 * MS);
        assert!((a.rate() - DECREASE * 4.0).abs() < 0.8, "{}", a.rate());
    }
}
