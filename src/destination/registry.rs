//! The one place that knows every destination: its spelling (`KIND:`),
//! the settings it takes, and how it is opened. A new destination is a
//! folder beside `sqlite/` and one entry in [`KINDS`].

use std::sync::Arc;

use super::delta::DeltaDestination;
use super::parquet::ParquetDestination;
use super::postgres::PostgresDestination;
use super::sqlite::SqliteDestination;
use super::{Destination, SettingError, Settings};

/// Opens a destination from what follows `KIND:` and the settings.
type Opener = fn(&str, &Settings) -> Result<Arc<dyn Destination>, SettingError>;

/// A kind of destination.
struct Kind {
    /// What comes before the colon.
    name: &'static str,
    /// Other spellings of the name.
    aliases: &'static [&'static str],
    /// What comes after it, for messages.
    place: &'static str,
    /// The settings it takes (names as in `pipelines.toml`).
    takes: &'static [&'static str],
    open: Opener,
}

const KINDS: &[Kind] = &[
    Kind {
        name: "sqlite",
        aliases: &[],
        place: "PATH",
        takes: &[],
        open: SqliteDestination::open,
    },
    Kind {
        name: "parquet",
        aliases: &[],
        place: "DIR_OR_URL",
        takes: &["state", "endpoint", "export_changes"],
        open: ParquetDestination::open,
    },
    Kind {
        name: "delta",
        aliases: &[],
        place: "DIR_OR_URL",
        takes: &["state", "endpoint", "retention_days"],
        open: DeltaDestination::open,
    },
    Kind {
        name: "postgres",
        aliases: &["postgresql"],
        place: "//USER@HOST:PORT/DATABASE?schema=huntr",
        takes: &["state"],
        open: PostgresDestination::open,
    },
];

/// The spellings, for messages: `sqlite:PATH, parquet:DIR_OR_URL or ...`.
pub fn forms() -> String {
    let all: Vec<String> = KINDS
        .iter()
        .map(|k| format!("{}:{}", k.name, k.place))
        .collect();
    match all.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => all.join(""),
    }
}

/// Opens the destination `spec` names, with the settings it takes.
pub fn open(spec: &str, settings: &Settings) -> Result<Arc<dyn Destination>, SettingError> {
    let bad = |m: String| SettingError::new("destination", m);
    let (name, place) = spec
        .split_once(':')
        .ok_or_else(|| bad(format!("destination `{spec}` must be {}", forms())))?;
    if place.is_empty() {
        return Err(bad(format!("destination `{spec}` has no path")));
    }
    let kind = KINDS
        .iter()
        .find(|k| k.name == name || k.aliases.contains(&name))
        .ok_or_else(|| {
            bad(format!(
                "destination `{spec}`: unknown kind `{name}` (use {})",
                forms()
            ))
        })?;
    if let Some(key) = settings
        .given()
        .into_iter()
        .find(|key| !kind.takes.contains(key))
    {
        return Err(SettingError::new(key, only_for(key)));
    }
    (kind.open)(place, settings)
}

/// "only applies to parquet: and delta: destinations".
fn only_for(key: &str) -> String {
    let kinds: Vec<String> = KINDS
        .iter()
        .filter(|k| k.takes.contains(&key))
        .map(|k| format!("{}:", k.name))
        .collect();
    let listed = match kinds.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => kinds.join(""),
    };
    format!("only applies to {listed} destinations")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_and_refusals_name_the_kinds() {
        assert_eq!(
            forms(),
            "sqlite:PATH, parquet:DIR_OR_URL, delta:DIR_OR_URL or postgres://USER@HOST:PORT/DATABASE?schema=huntr"
        );
        assert_eq!(
            only_for("retention_days"),
            "only applies to delta: destinations"
        );
        assert_eq!(
            only_for("state"),
            "only applies to parquet:, delta: and postgres: destinations"
        );
        let err = open("csv:x", &Settings::default()).unwrap_err();
        assert!(err.message.contains("unknown kind `csv`"), "{err}");
        let with = Settings {
            export_changes: true,
            ..Default::default()
        };
        let err = open("delta:x", &with).unwrap_err();
        assert_eq!(err.key, "export_changes");
        assert!(open("parquet:x", &with).is_ok());
    }
}
