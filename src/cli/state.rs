//! `state show` and `state reset`: look at or forget a destination's
//! watermarks without running a sync.

use super::args::{PipelineArgs, StateAction};
use super::exit::{self, Failure};
use super::pipeline::resolve_pipeline;
use crate::config::Overrides;
use crate::resources::Resource;
use crate::store::{DestLock, Store};
use crate::sync::SyncError;

pub fn run(action: StateAction) -> Result<u8, Failure> {
    match action {
        StateAction::Show(args) => show(&args),
        StateAction::Reset { pipeline, resource } => reset(&pipeline, resource),
    }
}

fn show(args: &PipelineArgs) -> Result<u8, Failure> {
    let p = resolve_pipeline(args, Overrides::default(), true)?;
    let db = p.destination.state_db();
    if !db.exists() {
        say!(
            "{}: no sync has run yet (file does not exist)",
            db.display()
        );
        return Ok(exit::OK);
    }
    let rows = Store::open_read(db)?.state_rows()?;
    say!(
        "{:<26} {:<22} {:<22} {:<22}",
        "resource",
        "watermark",
        "last full listing",
        "updated"
    );
    for row in rows {
        let f = |v: Option<String>| v.unwrap_or_else(|| "-".into());
        say!(
            "{:<26} {:<22} {:<22} {:<22}",
            row.resource,
            f(row.watermark),
            f(row.listed_at),
            f(row.updated_at)
        );
    }
    Ok(exit::OK)
}

fn reset(args: &PipelineArgs, resource: Option<String>) -> Result<u8, Failure> {
    let p = resolve_pipeline(args, Overrides::default(), true)?;
    let db = p.destination.state_db();
    let resource = resource
        .map(|r| r.parse::<Resource>())
        .transpose()
        .map_err(Failure::usage)?;
    // Under the sync's lock: a running sync would write its watermarks back.
    let _lock = DestLock::acquire(&p.destination.lock_file()).map_err(SyncError::from)?;
    let n = Store::open(db)?.reset_state(resource)?;
    say!(
        "reset {n} watermark(s) in {}; the next sync re-reads from the beginning",
        db.display()
    );
    Ok(exit::OK)
}
