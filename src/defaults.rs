//! Every default the crate applies when neither `pipelines.toml` nor the
//! command line says otherwise, defined once so that the config layer, the
//! API client and the sync cannot drift apart. Bounds that only validate a
//! value (such as "at most 100 retries") stay next to their check.

/// The Org API's base URL.
pub const BASE_URL: &str = "https://api.huntr.co/org";

/// The environment variable holding the organization's access token.
pub const TOKEN_ENV: &str = "HUNTR_ORG_TOKEN";

/// The environment variable holding the webhook's signing secret.
pub const WEBHOOK_SECRET_ENV: &str = "HUNTR_WEBHOOK_SECRET";

/// The config file read when `--config` is not given; a missing one is
/// fine as long as no pipeline is named.
pub const CONFIG_FILE: &str = "pipelines.toml";

/// Requests per second. Huntr publishes no limit: stay well below anything
/// plausible.
pub const REQUESTS_PER_SECOND: f64 = 5.0;

/// With `requests_per_second = "auto"`, the highest rate it may reach
/// unless `max_requests_per_second` says otherwise: ten times the default,
/// still gentle for an API that serves browsers.
pub const AUTO_MAX_REQUESTS_PER_SECOND: f64 = 50.0;

/// The limiter's burst for a rate: one second's worth, at least 1.
pub fn burst(requests_per_second: f64) -> u32 {
    (requests_per_second.ceil() as u32).max(1)
}

/// Retries of one request before it counts as failed (attempts = retries + 1).
pub const RETRIES: u32 = 8;

/// Minutes re-read below a windowed resource's watermark, for records that
/// arrive late.
pub const LOOKBACK_MINUTES: u32 = 60;

/// [`LOOKBACK_MINUTES`] in seconds, the unit the sync works in.
pub const LOOKBACK_SECONDS: i64 = LOOKBACK_MINUTES as i64 * 60;

/// Days after which a listing that actions keep current (job posts, goals:
/// see `Resource::followed_by_actions`) is read in full again even if no
/// action announced a change: the safety net for a change the API made
/// without an action (or an action lost before it was read).
pub const RELIST_DAYS: i64 = 7;

/// The largest page the Org API serves (its documented bound of `limit`).
pub const MAX_PAGE_LIMIT: u32 = 500;

/// The page size asked for: the largest, so a sync needs the fewest requests.
pub const PAGE_LIMIT: u32 = MAX_PAGE_LIMIT;

/// Batches of rows that may wait for the writer during a sync.
pub const SYNC_QUEUE: usize = 4;

/// Requests in flight at once when records are read one by one (changed
/// jobs, candidates).
pub const BY_ID_CONCURRENCY: usize = 4;

/// Sub-windows of one windowed resource read at once (backfills).
pub const WINDOW_CONCURRENCY: usize = 4;

/// Rows gathered before they go to the writer when records are read one
/// by one.
pub const FLUSH_OPS: usize = 2_000;

/// A push's writes in flight at once.
pub const PUSH_CONCURRENCY: usize = 4;

/// Times a push sends again a write whose fate was in doubt and that was
/// not found applied.
pub const PUSH_ROUNDS: usize = 5;

/// Deliveries the receiver lets wait for the disk before it answers 503.
pub const WEBHOOK_QUEUE: usize = 1024;

/// Deliveries the receiver commits together at most.
pub const WEBHOOK_BATCH: usize = 512;

/// How often, at most, the receiver publishes what it stored to a
/// destination other than SQLite (which shows each delivery at once).
pub const WEBHOOK_PUBLISH_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// How often, at most, the receiver publishes to PostgreSQL: a
/// publication sends only the changed rows, so a delivered action shows
/// within seconds.
pub const POSTGRES_PUBLISH_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// How long connecting to a PostgreSQL server may take before the run
/// gives up (an unreachable server fails in one line, not a hang).
pub const POSTGRES_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Days a Delta table keeps files no longer current, for time travel.
pub const DELTA_RETENTION_DAYS: u32 = 7;

/// How long a remote destination's lease lasts unless renewed: a run that
/// dies without releasing it (killed, or its host lost) blocks the
/// destination this long at most. [`LEASE_TTL_ENV`] may shorten it.
pub const LEASE_TTL: std::time::Duration = std::time::Duration::from_secs(120);

/// The environment variable that overrides [`LEASE_TTL`], in seconds.
pub const LEASE_TTL_ENV: &str = "HUNTR_LEASE_TTL_SECS";

/// How often a run renews its lease: three times a lease's lifetime, so
/// that two renewals may fail in a row before it lapses.
pub fn lease_renew_every(ttl: std::time::Duration) -> std::time::Duration {
    ttl / 3
}

/// How often a run told to `--wait` looks again at a remote destination's
/// lease (a local lock is looked at ten times a second).
pub const LEASE_POLL: std::time::Duration = std::time::Duration::from_secs(1);

/// The `pipeline` label of metrics when no pipeline is named (everything
/// came from the command line).
pub const PIPELINE_LABEL: &str = "default";

/// How long a notification (`notify_url`, `notify_command`) may take
/// before it is given up.
pub const NOTIFY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// `status --max-age`: a last success older than this is stale (a nightly
/// run, with two hours' slack).
pub const MAX_AGE: &str = "26h";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_values_follow_their_sources() {
        assert_eq!(LOOKBACK_SECONDS, 3600);
        assert_eq!(burst(REQUESTS_PER_SECOND), 5);
        assert_eq!(burst(0.2), 1);
        assert_eq!(burst(2.5), 3);
        assert_eq!(lease_renew_every(LEASE_TTL).as_secs(), 40);
    }
}
