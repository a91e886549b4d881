//! `report --html FILE`: the status page of a pipeline's destination, as
//! one self-contained HTML file (see `crate::report`). It only reads the
//! state database, so it works beside a running sync.

use anyhow::Context;

use super::args::ReportArgs;
use super::exit::{self, Failure};
use super::pipeline::resolve_pipeline;
use crate::config::Overrides;

pub fn run(args: ReportArgs) -> Result<u8, Failure> {
    let p = resolve_pipeline(&args.pipeline, Overrides::default(), true)?;
    let db = p.destination.state_db();
    if !db.exists() {
        return Err(Failure::usage(format!(
            "no status to show: {} has no state database ({}); run a sync first",
            p.destination.describe(),
            db.display()
        )));
    }
    let title = match &args.pipeline.pipeline {
        Some(name) => format!("pipeline {name} ({})", p.destination.describe()),
        None => p.destination.describe(),
    };
    let page = crate::report::page(db, &title)?;
    if args.html.as_os_str() == "-" {
        say_raw!("{page}");
        return Ok(exit::OK);
    }
    // A new file replaces the old one whole: a web server showing it
    // never serves half a page.
    let mut tmp = args.html.clone().into_os_string();
    tmp.push(".tmp");
    std::fs::write(&tmp, &page)
        .and_then(|()| std::fs::rename(&tmp, &args.html))
        .with_context(|| format!("writing the status page to {}", args.html.display()))?;
    eprintln!(
        "huntr-sync: status page of {} written to {}",
        p.destination.describe(),
        args.html.display()
    );
    Ok(exit::OK)
}
