//! The command line as clap sees it: every command, argument, default and
//! help text, and nothing that runs. Kept apart so `--help` can be read
//! and changed in one place.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::defaults;

/// `--help` of the commands that call the Org API: what they read from
/// the environment.
const ENV_API: &str = "\
Environment:
  HUNTR_ORG_TOKEN  the organization's access token; a pipeline's token_env names
                   another variable to read instead, and its token_file a file
  RUST_LOG         log filter, overrides -v (e.g. RUST_LOG=huntr_sync=debug)";

/// `--help` of the commands that call the Org API and write a destination.
const ENV_SYNC: &str = "\
Environment:
  HUNTR_ORG_TOKEN       the organization's access token; a pipeline's token_env names
                        another variable to read instead, and its token_file a file
  HUNTR_LEASE_TTL_SECS  lifetime of a remote destination's lease (default 120)
  PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE, PGSSLROOTCERT, PGPASSFILE
                        a postgres:// destination's settings the URL leaves out
                        (the password only from here or ~/.pgpass)
  RUST_LOG              log filter, overrides -v (e.g. RUST_LOG=huntr_sync=debug)";

/// `--help` of `webhook serve`.
const ENV_WEBHOOK: &str = "\
Environment:
  HUNTR_WEBHOOK_SECRET  the webhook's signing secret; a pipeline's
                        webhook_secret_env names another variable to read instead
  HUNTR_LEASE_TTL_SECS  lifetime of a remote destination's lease (default 120)
  RUST_LOG              log filter, overrides -v (e.g. RUST_LOG=huntr_sync=debug)";

/// `--help` of `sandbox`.
const ENV_SANDBOX: &str = "\
Environment:
  HUNTR_WEBHOOK_SECRET  signs the deliveries of --webhook-url
  RUST_LOG              log filter, overrides -v (e.g. RUST_LOG=huntr_sync=debug)";

/// `--help` of the commands that only read files.
const ENV_LOG: &str = "\
Environment:
  RUST_LOG  log filter, overrides -v (e.g. RUST_LOG=huntr_sync=debug)";

/// `huntr-sync --help`: every variable any command reads.
const ENV_ALL: &str = "\
Environment:
  HUNTR_ORG_TOKEN       the access token (sync, check, push); a pipeline's token_env
                        names another variable, its token_file a file
  HUNTR_WEBHOOK_SECRET  the webhook secret (webhook serve, sandbox --webhook-url);
                        a pipeline's webhook_secret_env names another variable
  HUNTR_LEASE_TTL_SECS  lifetime of a remote destination's lease (sync, push, webhook
                        serve; default 120)
  PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE, PGSSLROOTCERT, PGPASSFILE
                        a postgres:// destination's settings the URL leaves out
  RUST_LOG              log filter, overrides -v (e.g. RUST_LOG=huntr_sync=debug)";

#[derive(Debug, Parser)]
#[command(
    name = "huntr-sync",
    version,
    about = "Keeps a local, query-ready copy of a Huntr organization (SQLite or Parquet).",
    after_help = ENV_ALL
)]
pub struct Cli {
    /// More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Log lines as text or as JSON objects (for log collectors).
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sync the organization into the destination (incremental).
    #[command(after_help = ENV_SYNC)]
    Sync(SyncArgs),
    /// Serve the built-in sandbox organization over HTTP until Ctrl-C.
    #[command(after_help = ENV_SANDBOX)]
    Sandbox(SandboxArgs),
    /// Receive Huntr's webhooks and apply each action as it happens.
    #[command(after_help = ENV_WEBHOOK)]
    Webhook {
        #[command(subcommand)]
        action: WebhookAction,
    },
    /// Write to Huntr from a CSV or Parquet file: invitations, member field
    /// values, member fields; each write exactly once.
    #[command(after_help = ENV_SYNC)]
    Push {
        #[command(subcommand)]
        what: PushWhat,
    },
    /// Write the destination's tables as CSV files or an Excel workbook,
    /// for spreadsheets.
    Export(ExportArgs),
    /// Validate the configuration and the token, and report which
    /// endpoints answer, without loading anything.
    #[command(after_help = ENV_API)]
    Check(PipelineArgs),
    /// Print shell completions.
    #[command(after_help = ENV_LOG)]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the status page: the last runs as charts, each resource's
    /// freshness, rows per table, recent errors and pushes, as one
    /// self-contained HTML file.
    #[command(after_help = ENV_LOG)]
    Report(ReportArgs),
    /// Show whether each pipeline's data is fresh: its last run, its last
    /// success and each resource's age. Exit 0 when fresh, 1 when the last
    /// run failed or the last success is older than --max-age.
    #[command(after_help = ENV_LOG)]
    Status(StatusArgs),
    /// Show or reset the sync state (watermarks) of a destination.
    #[command(after_help = ENV_LOG)]
    State {
        #[command(subcommand)]
        action: StateAction,
    },
    /// Print the outcome views' SQL: a DuckDB script over a Parquet
    /// destination's files, or the views of SQLite or PostgreSQL.
    #[command(after_help = ENV_LOG)]
    Views(ViewsArgs),
    /// Print the table schema generated from schema/tables.toml.
    #[command(after_help = ENV_LOG)]
    Schema {
        #[arg(long, value_enum, default_value_t = SchemaFormat::Markdown)]
        format: SchemaFormat,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ViewsArgs {
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    /// The database the script is for: duckdb (over a parquet:
    /// destination's files), sqlite or postgres.
    #[arg(long, value_enum)]
    pub dialect: ViewsDialect,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ViewsDialect {
    Duckdb,
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SchemaFormat {
    Sql,
    Markdown,
}

#[derive(Debug, Args, Clone, Default)]
pub struct PipelineArgs {
    /// Config file with [pipelines.NAME] sections.
    #[arg(long, default_value = defaults::CONFIG_FILE)]
    pub config: PathBuf,
    /// Pipeline to run from the config file.
    #[arg(long, short)]
    pub pipeline: Option<String>,
    /// API base URL (default https://api.huntr.co/org).
    #[arg(long)]
    pub base_url: Option<String>,
    /// sqlite:PATH, parquet:DIR_OR_URL, delta:DIR_OR_URL (DIR or s3://, az://, gs:// URL) or postgres://USER@HOST:PORT/DB?schema=huntr
    #[arg(long)]
    pub destination: Option<String>,
}

/// `--metrics-file`, for the commands that run against a destination.
#[derive(Debug, Args, Clone, Default)]
pub struct MetricsArg {
    /// Write Prometheus metrics to FILE after the run (node_exporter's
    /// textfile collector); overrides the pipeline's metrics_file.
    #[arg(long = "metrics-file", value_name = "FILE")]
    pub path: Option<PathBuf>,
}

/// `--wait`, for the commands that take the destination for a run.
#[derive(Debug, Args, Clone, Copy)]
pub struct WaitArg {
    /// Wait up to SECONDS for another run holding the destination (its
    /// lock, or a remote destination's lease) instead of exiting 4 at once.
    #[arg(long = "wait", value_name = "SECONDS", default_value_t = 0)]
    seconds: u64,
}

impl WaitArg {
    pub fn duration(self) -> std::time::Duration {
        std::time::Duration::from_secs(self.seconds)
    }
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    /// Comma-separated resources to sync (default: all).
    #[arg(long, value_delimiter = ',')]
    pub resources: Option<Vec<String>>,
    /// Page size, 1 to 500.
    #[arg(long)]
    pub limit: Option<u32>,
    /// Ignore watermarks and read every resource from the beginning.
    #[arg(long)]
    pub full_refresh: bool,
    /// Print the run summary as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// Parquet: also write this run's changes to DIR/_changes/run=<id>/.
    #[arg(long)]
    pub export_changes: bool,
    #[command(flatten)]
    pub wait: WaitArg,
    #[command(flatten)]
    pub metrics: MetricsArg,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    /// A last success older than AGE is stale: 26h, 90m, 2d, or seconds.
    #[arg(long, value_name = "AGE", default_value = defaults::MAX_AGE, value_parser = crate::freshness::parse_age)]
    pub max_age: i64,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    /// csv: one file per table in the directory --to; xlsx: one workbook.
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// A directory (csv) or a .xlsx file (xlsx).
    #[arg(long, value_name = "PATH")]
    pub to: PathBuf,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    /// Write the status page to FILE, one HTML file that loads nothing
    /// from anywhere (`-`: standard output).
    #[arg(long, value_name = "FILE")]
    pub html: PathBuf,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Csv,
    Xlsx,
}

/// What `push` writes.
#[derive(Debug, Subcommand)]
pub enum PushWhat {
    /// Invite job seekers: `email`, optional `board_name`, `board_template`,
    /// `advisor_email`; every other column is a member field.
    Invitations(PushArgs),
    /// Set member field values: `email` or `member_id`, then one column per
    /// member field; an empty cell leaves the value alone.
    FieldValues(PushArgs),
    /// Create member fields: `name`, `field_type`, `choices` (`;`-separated).
    Fields(PushArgs),
}

#[derive(Debug, Args)]
pub struct PushArgs {
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    /// The input: a .csv (or .tsv, .txt) file with a header row, a
    /// workbook (.xlsx, .xls, .xlsm, .xlsb, .ods) or a .parquet file.
    #[arg(long, value_name = "FILE", required_unless_present = "template")]
    pub from: Option<PathBuf>,
    /// Write an empty file to fill instead (.xlsx or .csv): the columns
    /// this push takes, one per member field of the organization; sends
    /// nothing.
    #[arg(long, value_name = "FILE", conflicts_with = "from")]
    pub template: Option<PathBuf>,
    /// The workbook's sheet to read (default: the first).
    #[arg(long, value_name = "NAME")]
    pub sheet: Option<String>,
    /// A text file's delimiter: `,` `;` `tab` or another single character
    /// (default: the one the header line uses, among `,` `;` and tab).
    #[arg(long, value_name = "CHAR", value_parser = parse_delimiter)]
    pub delimiter: Option<u8>,
    /// How the file writes text dates that are not YYYY-MM-DD, e.g.
    /// %m/%d/%Y, %d/%m/%Y or %d.%m.%Y (strftime-like).
    #[arg(long, value_name = "FORMAT", value_parser = parse_date_format)]
    pub date_format: Option<crate::push::DateFormat>,
    /// Print the plan (counts by outcome, the first rows); send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Send without asking (required when stdin is not a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Send the valid rows and report the invalid ones, instead of
    /// sending nothing when any row is invalid.
    #[arg(long)]
    pub skip_invalid: bool,
    /// Write one CSV line per input row: line, key, outcome, id, message.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Print the summary as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub wait: WaitArg,
    #[command(flatten)]
    pub metrics: MetricsArg,
}

/// `--delimiter`: one single-byte character, or `tab`.
fn parse_delimiter(text: &str) -> Result<u8, String> {
    match text {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        one if one.len() == 1 && one != "\"" => Ok(one.as_bytes()[0]),
        _ => Err("give one character, such as `,` `;` `|`, or `tab`".to_string()),
    }
}

fn parse_date_format(text: &str) -> Result<crate::push::DateFormat, String> {
    crate::push::DateFormat::parse(text)
}

#[derive(Debug, Args)]
pub struct SandboxArgs {
    #[arg(long, default_value_t = 8787)]
    pub port: u16,
    #[arg(long, default_value_t = crate::sandbox::DEFAULT_SEED)]
    pub seed: u64,
    /// Number of members (about 44 actions each; 23000 is about a million).
    #[arg(long, default_value_t = crate::sandbox::DEFAULT_SCALE)]
    pub scale: u32,
    #[arg(long, default_value = crate::sandbox::DEFAULT_TOKEN)]
    pub token: String,
    /// Rate limit in requests per second (429 with Retry-After beyond it).
    #[arg(long)]
    pub rps: Option<f64>,
    /// Added latency per request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Probability (0 to 1) of an injected fault per read (GET) request.
    #[arg(long, default_value_t = 0.0)]
    pub faults: f64,
    /// Probability (0 to 1) of an injected fault per write (POST, PUT),
    /// some of them after the write is applied.
    #[arg(long, default_value_t = 0.0)]
    pub write_faults: f64,
    /// Deliver each simulated day's actions to this webhook URL, signed
    /// with the secret in HUNTR_WEBHOOK_SECRET.
    #[arg(long)]
    pub webhook_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum WebhookAction {
    /// Serve the webhook endpoint (POST / or /webhook) until SIGTERM or Ctrl-C.
    #[command(after_help = ENV_WEBHOOK)]
    Serve {
        #[command(flatten)]
        pipeline: PipelineArgs,
        /// Address and port to listen on.
        #[arg(long, default_value = "127.0.0.1:8788")]
        listen: std::net::SocketAddr,
        /// Deliveries that may wait for the disk before 503s begin.
        #[arg(long, default_value_t = crate::defaults::WEBHOOK_QUEUE)]
        queue: usize,
    },
}

#[derive(Debug, Subcommand)]
pub enum StateAction {
    /// Print each resource's watermark and last complete listing.
    #[command(after_help = ENV_LOG)]
    Show(PipelineArgs),
    /// Forget watermarks so the next sync re-reads from the beginning.
    #[command(after_help = ENV_LOG)]
    Reset {
        #[command(flatten)]
        pipeline: PipelineArgs,
        /// Only this resource.
        #[arg(long)]
        resource: Option<String>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn help(path: &[&str]) -> String {
        let mut cmd = Cli::command();
        cmd.build();
        for name in path {
            cmd = cmd.find_subcommand(name).expect(name).clone();
        }
        cmd.render_help().to_string()
    }

    #[test]
    fn the_definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    /// Some help texts spell a default out; they must say what
    /// `defaults.rs` says.
    #[test]
    fn help_texts_agree_with_the_defaults() {
        let sync = help(&["sync"]);
        assert!(sync.contains(&format!("(default {})", defaults::BASE_URL)));
        assert!(sync.contains(&format!("1 to {}", defaults::MAX_PAGE_LIMIT)));
        assert!(sync.contains(&format!("[default: {}]", defaults::CONFIG_FILE)));
        let secret = format!("secret in {}", defaults::WEBHOOK_SECRET_ENV);
        assert!(help(&["sandbox"]).contains(&secret));
    }

    /// Each command's help lists the variables it reads, spelled as
    /// `defaults.rs` spells them.
    #[test]
    fn help_lists_the_environment() {
        for cmd in [&["sync"][..], &["check"]] {
            let h = help(cmd);
            assert!(
                h.contains(defaults::TOKEN_ENV) && h.contains("token_env"),
                "{h}"
            );
        }
        let serve = help(&["webhook", "serve"]);
        assert!(
            serve.contains(defaults::WEBHOOK_SECRET_ENV) && serve.contains("webhook_secret_env")
        );
        assert!(help(&["sandbox"]).contains(defaults::WEBHOOK_SECRET_ENV));
        let ttl = format!("lease (default {})", defaults::LEASE_TTL.as_secs());
        assert!(help(&["sync"]).contains(&ttl) && serve.contains(&ttl));
        let all = Cli::command().render_help().to_string();
        for var in [
            defaults::TOKEN_ENV,
            defaults::WEBHOOK_SECRET_ENV,
            defaults::LEASE_TTL_ENV,
            "RUST_LOG",
        ] {
            assert!(all.contains(var), "{all}");
        }
        for cmd in [
            &["sync"][..],
            &["check"],
            &["state"],
            &["state", "show"],
            &["report"],
            &["status"],
            &["schema"],
            &["completions"],
            &["webhook", "serve"],
            &["sandbox"],
        ] {
            assert!(help(cmd).contains("RUST_LOG"), "{cmd:?}");
        }
    }
}
