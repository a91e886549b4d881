//! `export`: the destination's tables as CSV files or an Excel workbook.

use super::args::{ExportArgs, ExportFormat};
use super::exit::{self, Failure};
use super::pipeline::resolve_pipeline;
use crate::config::Overrides;
use crate::export::{self, Format};

pub fn run(args: ExportArgs) -> Result<u8, Failure> {
    let p = resolve_pipeline(&args.pipeline, Overrides::default(), true)?;
    let db = p.destination.state_db();
    if !db.exists() {
        return Err(Failure::usage(format!(
            "nothing to export: {} has no state database ({}); run a sync first",
            p.destination.describe(),
            db.display()
        )));
    }
    let store = p.destination.read_store()?;
    let format = match args.format {
        ExportFormat::Csv => Format::Csv,
        ExportFormat::Xlsx => Format::Xlsx,
    };
    let done = export::export(&store, format, &args.to)?;
    let rows: u64 = done.tables.iter().map(|(_, n)| n).sum();
    say!(
        "huntr-sync: exported {} tables ({rows} rows) to {}",
        done.tables.len(),
        args.to.display()
    );
    for (table, why) in &done.skipped {
        eprintln!("huntr-sync: warning: {table} left out: {why}");
    }
    Ok(exit::OK)
}
