//! Progress display for people running a sync by hand: one bar per
//! resource (rows, pages, rate) and a line of request and retry counts.
//! Drawn only when stderr is a terminal; from cron it is silent, and lines
//! meant for a person ([`Progress::notice`]) go to the log instead.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::api::Stats;
use crate::resources::Resource;

/// A cheap handle; the disabled one does nothing.
#[derive(Clone, Default)]
pub struct Progress {
    inner: Option<Arc<Inner>>,
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.inner.is_some() {
            "Progress(on)"
        } else {
            "Progress(off)"
        })
    }
}

struct Inner {
    multi: MultiProgress,
    bars: Mutex<HashMap<Resource, (ProgressBar, u64)>>,
    status: ProgressBar,
}

impl Progress {
    /// Bars on stderr when it is a terminal, nothing otherwise.
    pub fn for_stderr() -> Progress {
        use std::io::IsTerminal;
        if std::io::stderr().is_terminal() {
            Progress::enabled(ProgressDrawTarget::stderr())
        } else {
            Progress::default()
        }
    }

    fn enabled(target: ProgressDrawTarget) -> Progress {
        let multi = MultiProgress::with_draw_target(target);
        let status = multi.add(ProgressBar::new_spinner());
        status.enable_steady_tick(Duration::from_millis(200));
        Progress {
            inner: Some(Arc::new(Inner {
                multi,
                bars: Mutex::new(HashMap::new()),
                status,
            })),
        }
    }

    /// A page of `rows` records of `r` arrived.
    pub fn page(&self, r: Resource, rows: usize) {
        let Some(inner) = &self.inner else { return };
        let mut bars = inner.bars.lock().unwrap_or_else(|e| e.into_inner());
        let (bar, pages) = bars.entry(r).or_insert_with(|| {
            let bar = inner.multi.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} {prefix:<26} {pos:>9} rows  {msg:>6} pages  {rate:>12}",
                )
                .map(|style| style.with_key("rate", rows_per_second))
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(r.path());
            (bar, 0)
        });
        *pages += 1;
        bar.inc(rows as u64);
        bar.set_message(pages.to_string());
        bar.tick();
    }

    pub fn done(&self, r: Resource) {
        let Some(inner) = &self.inner else { return };
        if let Some((bar, _)) = inner.bars.lock().unwrap_or_else(|e| e.into_inner()).get(&r) {
            bar.finish();
        }
    }

    /// Shows the run's request counters (and retries waiting).
    pub fn stats(&self, stats: &Stats) {
        let Some(inner) = &self.inner else { return };
        let (requests, retries, throttled) = stats.get();
        inner.status.set_message(format!(
            "{requests} requests, {retries} retries, {throttled} rate-limited (429)"
        ));
    }

    /// Where a line for the person running the sync goes: printed above
    /// the bars on a terminal, a warning in the log otherwise.
    pub fn notice(&self) -> crate::api::Notice {
        let inner = self.inner.clone();
        Arc::new(move |line: &str| match &inner {
            Some(inner) => {
                if inner.multi.println(format!("huntr-sync: {line}")).is_err() {
                    eprintln!("huntr-sync: {line}");
                }
            }
            None => tracing::warn!("{line}"),
        })
    }

    pub fn clear(&self) {
        if let Some(inner) = &self.inner {
            inner.status.finish_and_clear();
            let _ = inner.multi.clear();
        }
    }
}

/// `12,345/s`: indicatif's own `{per_sec}` prints every decimal.
fn rows_per_second(state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write) {
    let rate = indicatif::HumanCount(state.per_sec().round() as u64);
    let _ = write!(w, "{rate}/s");
}
