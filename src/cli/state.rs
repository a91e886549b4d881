//! `state show` and `state reset`: look at or forget a destination's
//! watermarks without running a sync.

use super::args::{PipelineArgs, StateAction};
use super::exit::{self, Failure};
use super::pipeline::{resolve_pipeline, state_db};
use super::store;
use crate::config::Overrides;
use crate::resources::Resource;

pub fn run(action: StateAction) -> Result<u8, Failure> {
    match action {
        StateAction::Show(args) => show(&args),
        StateAction::Reset { pipeline, resource } => reset(&pipeline, resource),
    }
}

fn show(args: &PipelineArgs) -> Result<u8, Failure> {
    let p = resolve_pipeline(args, Overrides::default(), true)?;
    let db = &state_db(&p);
    if !db.exists() {
        println!(
            "{}: no sync has run yet (file does not exist)",
            db.display()
        );
        return Ok(exit::OK);
    }
    let rows = store::state_rows(db)?;
    println!(
        "{:<26} {:<22} {:<22} {:<22}",
        "resource", "watermark", "last full listing", "updated"
    );
    for [r, w, l, u] in rows {
        let f = |v: Option<String>| v.unwrap_or_else(|| "-".into());
        println!("{:<26} {:<22} {:<22} {:<22}", f(r), f(w), f(l), f(u));
    }
    Ok(exit::OK)
}

fn reset(args: &PipelineArgs, resource: Option<String>) -> Result<u8, Failure> {
    let p = resolve_pipeline(args, Overrides::default(), true)?;
    let db = &state_db(&p);
    let resource = resource
        .map(|r| r.parse::<Resource>())
        .transpose()
        .map_err(Failure::usage)?;
    let n = store::reset_state(db, resource)?;
    println!(
        "reset {n} watermark(s) in {}; the next sync re-reads from the beginning",
        db.display()
    );
    Ok(exit::OK)
}
