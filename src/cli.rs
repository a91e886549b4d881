//! The command line: argument definitions and what each command does.
//! `main.rs` only parses, sets up logging and maps errors to exit codes.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::api::{Client, ClientConfig, Token};
use crate::config::{
    ConfigError, ConfigFile, Destination, Overrides, Pipeline, Source, TokenError,
};
use crate::load::sqlite::SqliteDest;
use crate::resources::Resource;
use crate::sandbox::{RunningSandbox, SandboxOptions};
use crate::schema::SCHEMA;
use crate::sync::{SyncError, SyncOptions, SyncReport, Target};

/// Exit codes, documented in the README.
pub mod exit {
    pub const OK: u8 = 0;
    /// The run failed: API error, refused token, destination error.
    pub const FAILED: u8 = 1;
    /// Bad command line or configuration; nothing was sent.
    pub const USAGE: u8 = 2;
    /// Some resources could not be completed; the rest was committed and
    /// the next run finishes the job.
    pub const PARTIAL: u8 = 3;
    /// Another sync holds the destination's lock; nothing was done.
    pub const LOCKED: u8 = 4;
}

#[derive(Debug, Parser)]
#[command(
    name = "huntr-sync",
    version,
    about = "Keeps a local, query-ready copy of a Huntr organization (SQLite or Parquet)."
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
    Sync(SyncArgs),
    /// Serve the built-in sandbox organization over HTTP until Ctrl-C.
    Sandbox(SandboxArgs),
    /// Receive Huntr's webhooks and apply each action as it happens.
    Webhook {
        #[command(subcommand)]
        action: WebhookAction,
    },
    /// Validate the configuration and the token, and report which
    /// endpoints answer, without loading anything.
    Check(PipelineArgs),
    /// Print shell completions.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Show or reset the sync state (watermarks) of a destination.
    State {
        #[command(subcommand)]
        action: StateAction,
    },
    /// Benchmark floor: download every page a full sync reads, sequentially,
    /// and print {requests, bytes, seconds} as JSON (token in HUNTR_ORG_TOKEN).
    #[command(hide = true)]
    Floor {
        #[arg(long)]
        base_url: String,
        #[arg(long, default_value_t = crate::defaults::MAX_PAGE_LIMIT)]
        limit: u32,
    },
    /// Print the table schema generated from schema/tables.toml.
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

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SchemaFormat {
    Sql,
    Markdown,
}

#[derive(Debug, Args, Clone, Default)]
pub struct PipelineArgs {
    /// Config file with [pipelines.NAME] sections.
    #[arg(long, default_value = crate::defaults::CONFIG_FILE)]
    pub config: PathBuf,
    /// Pipeline to run from the config file.
    #[arg(long, short)]
    pub pipeline: Option<String>,
    /// API base URL (default https://api.huntr.co/org).
    #[arg(long)]
    pub base_url: Option<String>,
    /// sqlite:PATH or parquet:DIR
    #[arg(long)]
    pub destination: Option<String>,
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
    /// Probability (0 to 1) of an injected fault per request.
    #[arg(long, default_value_t = 0.0)]
    pub faults: f64,
    /// Deliver each simulated day's actions to this webhook URL, signed
    /// with the secret in HUNTR_WEBHOOK_SECRET.
    #[arg(long)]
    pub webhook_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum WebhookAction {
    /// Serve the webhook endpoint (POST / or /webhook) until SIGTERM or Ctrl-C.
    Serve {
        #[command(flatten)]
        pipeline: PipelineArgs,
        /// Address and port to listen on.
        #[arg(long, default_value = "127.0.0.1:8788")]
        listen: std::net::SocketAddr,
        /// Deliveries that may wait for the disk before 503s begin.
        #[arg(long, default_value_t = 1024)]
        queue: usize,
    },
    /// Load generator: POST signed copies of an action to a receiver
    /// (secret in HUNTR_WEBHOOK_SECRET); prints accepted deliveries per second.
    #[command(hide = true)]
    Load {
        #[arg(long)]
        url: String,
        #[arg(long, default_value_t = 20_000)]
        count: usize,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
    },
}

#[derive(Debug, Subcommand)]
pub enum StateAction {
    /// Print each resource's watermark and last complete listing.
    Show(PipelineArgs),
    /// Forget watermarks so the next sync re-reads from the beginning.
    Reset {
        #[command(flatten)]
        pipeline: PipelineArgs,
        /// Only this resource.
        #[arg(long)]
        resource: Option<String>,
    },
}

/// An error with the exit code it maps to.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub error: anyhow::Error,
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        let error = e.into();
        let code = if error.is::<ConfigError>() || error.is::<TokenError>() {
            exit::USAGE
        } else if matches!(
            error.downcast_ref::<SyncError>(),
            Some(SyncError::Lock(crate::lock::LockError::Held { .. }))
        ) {
            exit::LOCKED
        } else if matches!(
            error.downcast_ref::<SyncError>(),
            Some(SyncError::Api(crate::api::ApiError::LimitOutOfRange(_)))
        ) {
            exit::USAGE
        } else {
            exit::FAILED
        };
        Failure { code, error }
    }
}

fn usage(msg: String) -> Failure {
    Failure {
        code: exit::USAGE,
        error: anyhow::anyhow!(msg),
    }
}

/// Loads the pipeline the arguments describe. A missing default config
/// file is fine when no pipeline is named.
pub fn resolve_pipeline(
    args: &PipelineArgs,
    over: Overrides,
    need_destination: bool,
) -> Result<Pipeline, Failure> {
    let over = Overrides {
        base_url: args.base_url.clone(),
        destination: args.destination.clone(),
        ..over
    };
    let file = ConfigFile::load_or_empty(&args.config, args.pipeline.as_deref())?;
    Ok(file.resolve(
        args.pipeline.as_deref(),
        &args.config,
        &over,
        need_destination,
    )?)
}

fn target(p: &Pipeline, export_changes: bool) -> Target {
    match &p.destination {
        Destination::Sqlite(path) => Target::Sqlite(path.clone()),
        Destination::Parquet(dir) => Target::Parquet {
            dir: dir.clone(),
            export_changes: export_changes || p.export_changes,
        },
    }
}

/// Runs the parsed command line; returns the process exit code.
pub async fn run(cli: Cli) -> Result<u8, Failure> {
    match cli.command {
        Command::Sync(args) => run_sync(args).await,
        Command::Sandbox(args) => run_sandbox(args).await,
        Command::State { action } => run_state(action),
        Command::Check(args) => run_check(args).await,
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "huntr-sync",
                &mut std::io::stdout(),
            );
            Ok(exit::OK)
        }
        Command::Webhook { action } => run_webhook(action).await,
        Command::Floor { base_url, limit } => {
            let token = std::env::var(crate::defaults::TOKEN_ENV).unwrap_or_default();
            let report = crate::floor::download_all(&base_url, &token, limit)
                .await
                .context("downloading the floor")?;
            println!("{}", serde_json::to_string(&report).unwrap_or_default());
            Ok(exit::OK)
        }
        Command::Schema { format } => {
            match format {
                SchemaFormat::Sql => print!("{}", SCHEMA.sqlite_ddl()),
                SchemaFormat::Markdown => print!("{}", SCHEMA.markdown()),
            }
            Ok(exit::OK)
        }
    }
}

async fn run_sync(args: SyncArgs) -> Result<u8, Failure> {
    let over = Overrides {
        resources: args.resources.clone(),
        limit: args.limit,
        ..Default::default()
    };
    let p = resolve_pipeline(&args.pipeline, over, true)?;
    if args.export_changes && !matches!(p.destination, Destination::Parquet(_)) {
        return Err(usage(
            "--export-changes needs a parquet:DIR destination".into(),
        ));
    }
    let target = target(&p, args.export_changes);
    let (client, sandbox) = connect(&p).await?;
    let opts = SyncOptions {
        resources: p.resources.clone(),
        limit: p.limit,
        lookback: p.lookback_minutes as i64 * 60,
        full_refresh: args.full_refresh,
        progress: crate::progress::Progress::for_stderr(),
        ..Default::default()
    };
    let report = crate::sync::sync(&client, &target, &opts).await?;
    tracing::info!(
        "run {} {} in {:.1}s: {} requests, {} retries",
        report.run_id,
        report.status,
        report.seconds,
        report.requests,
        report.retries
    );
    if let Some(sb) = sandbox {
        sb.stop().await;
    }
    if args.json {
        println!("{}", serde_json::to_string(&report).unwrap_or_default());
    } else {
        print_summary(&report, &target);
    }
    if report.complete() {
        Ok(exit::OK)
    } else {
        let names: Vec<&str> = report.incomplete.keys().map(String::as_str).collect();
        eprintln!(
            "huntr-sync: incomplete: {}; everything else was committed, run again to finish",
            names.join(", ")
        );
        Ok(exit::PARTIAL)
    }
}

/// A client for the pipeline's source; for the sandbox source, also the
/// sandbox, served in this process for as long as it is kept.
async fn connect(p: &Pipeline) -> Result<(Client, Option<RunningSandbox>), Failure> {
    let (base_url, token, sandbox) = match &p.source {
        Source::Api { base_url } => (base_url.clone(), p.token()?, None),
        Source::Sandbox { seed, scale } => {
            let sb = RunningSandbox::start(SandboxOptions {
                seed: *seed,
                scale: *scale,
                ..Default::default()
            })
            .await
            .context("starting the sandbox organization")?;
            eprintln!(
                "huntr-sync: sandbox organization (seed {seed}, {scale} members) serving at {}",
                sb.base_url
            );
            (sb.base_url.clone(), Token::new(sb.token.clone()), Some(sb))
        }
    };
    let mut cfg = ClientConfig::new(&base_url, token, &p.token_env);
    cfg.requests_per_second = p.requests_per_second;
    cfg.burst = p.burst;
    cfg.retry.max_retries = p.retries as usize;
    Ok((Client::new(&cfg)?, sandbox))
}

/// `check`: the configuration is valid, the token is accepted, and each
/// endpoint answers; nothing is loaded.
async fn run_check(args: PipelineArgs) -> Result<u8, Failure> {
    let p = resolve_pipeline(&args, Overrides::default(), false)?;
    println!("config: ok (pipeline {})", p.name);
    let (client, _sandbox) = connect(&p).await?;
    let mut failed = false;
    for r in &p.resources {
        let query: Vec<(&str, String)> = if r.paged() {
            vec![("limit", "1".into())]
        } else {
            Vec::new()
        };
        let line = match client.get(r.path(), &query).await {
            Ok(resp) => {
                let n = resp
                    .body
                    .get("data")
                    .and_then(|d| d.as_array())
                    .map(Vec::len)
                    .unwrap_or(0);
                format!(
                    "ok ({n} record{} in a first page)",
                    if n == 1 { "" } else { "s" }
                )
            }
            Err(e @ crate::api::ApiError::Unauthorized { .. }) => {
                println!("{:<26} refused", r.path());
                return Err(Failure {
                    code: exit::FAILED,
                    error: e.into(),
                });
            }
            Err(e) if *r == Resource::Events && matches!(e.status(), Some(404 | 410)) => {
                "gone (deprecated; syncs skip it)".to_owned()
            }
            Err(e) => {
                failed = true;
                format!("FAILED: {e}")
            }
        };
        println!("{:<26} {line}", r.path());
    }
    println!("token: accepted ({})", p.token_env);
    Ok(if failed { exit::FAILED } else { exit::OK })
}

fn print_summary(r: &SyncReport, target: &Target) {
    let db = target.state_db();
    let shown = match target {
        Target::Sqlite(p) => p.display().to_string(),
        Target::Parquet { dir, .. } => format!("{} (Parquet)", dir.display()),
    };
    let totals: Vec<(String, i64)> = SqliteDest::open(&db)
        .map(|d| d.table_totals())
        .unwrap_or_default();
    println!(
        "huntr-sync: run {} {} in {:.1}s into {}: {} requests, {} retries, {} rate-limited, {} jobs re-read",
        r.run_id,
        r.status,
        r.seconds,
        shown,
        r.requests,
        r.retries,
        r.throttled,
        r.jobs_reread
    );
    println!(
        "  {:<38} {:>9} {:>9} {:>8} {:>8} {:>8}",
        "table", "rows", "inserted", "updated", "deleted", "removed"
    );
    for (name, rows) in totals {
        let c = r.tables.get(&name).cloned().unwrap_or_default();
        println!(
            "  {:<38} {:>9} {:>9} {:>8} {:>8} {:>8}",
            name, rows, c.inserted, c.updated, c.deleted, c.removed
        );
    }
}

async fn run_sandbox(args: SandboxArgs) -> Result<u8, Failure> {
    if !(0.0..=1.0).contains(&args.faults) {
        return Err(usage(format!(
            "--faults {} must be between 0 and 1",
            args.faults
        )));
    }
    if args.rps.is_some_and(|r| r.is_nan() || r <= 0.0) {
        return Err(usage("--rps must be above 0".into()));
    }
    let webhook = match &args.webhook_url {
        Some(url) => {
            let secret = std::env::var(crate::defaults::WEBHOOK_SECRET_ENV).map_err(|_| {
                usage(format!(
                    "--webhook-url needs the secret in {}",
                    crate::defaults::WEBHOOK_SECRET_ENV
                ))
            })?;
            Some((url.clone(), secret.into_bytes()))
        }
        None => None,
    };
    let started = std::time::Instant::now();
    let sb = RunningSandbox::start(SandboxOptions {
        seed: args.seed,
        scale: args.scale,
        token: args.token.clone(),
        port: args.port,
        rps: args.rps,
        latency: Duration::from_millis(args.latency_ms),
        faults: args.faults,
        webhook,
    })
    .await
    .with_context(|| format!("starting the sandbox on 127.0.0.1:{}", args.port))?;
    let (actions, jobs, members) = {
        let org = sb.shared.org.read().unwrap_or_else(|e| e.into_inner());
        (org.actions.len(), org.jobs.len(), org.members_ix.len())
    };
    println!(
        "sandbox organization ready in {:.1}s: {members} members, {jobs} jobs, {actions} actions",
        started.elapsed().as_secs_f64()
    );
    println!("  base URL: {}", sb.base_url);
    println!(
        "  token:    {} (export {}={})",
        args.token,
        crate::defaults::TOKEN_ENV,
        args.token
    );
    println!(
        "  next day: curl -X POST http://{}/_sandbox/advance?days=1",
        sb.addr
    );
    println!("  stats:    curl http://{}/_sandbox/stats", sb.addr);
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    sb.stop().await;
    Ok(exit::OK)
}

async fn run_webhook(action: WebhookAction) -> Result<u8, Failure> {
    match action {
        WebhookAction::Serve {
            pipeline,
            listen,
            queue,
        } => {
            let p = resolve_pipeline(&pipeline, Overrides::default(), true)?;
            let secret = std::env::var(&p.webhook_secret_env)
                .ok()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| {
                    usage(format!(
                        "{} is not set: export {}=<the webhook's secret, from Huntr's Developers tab>",
                        p.webhook_secret_env, p.webhook_secret_env
                    ))
                })?;
            let db = target(&p, false).state_db();
            let receiver = crate::webhook::Receiver::start(crate::webhook::ServeOptions {
                listen,
                db: db.clone(),
                secret: secret.into_bytes(),
                queue,
                batch: 512,
            })
            .await?;
            eprintln!(
                "huntr-sync: receiving webhooks on http://{}/ into {}",
                receiver.addr,
                db.display()
            );
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .context("installing the SIGTERM handler")?;
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            eprintln!("huntr-sync: stopping: finishing in-flight deliveries");
            receiver.shutdown().await;
            Ok(exit::OK)
        }
        WebhookAction::Load {
            url,
            count,
            concurrency,
        } => {
            let secret = std::env::var(crate::defaults::WEBHOOK_SECRET_ENV).unwrap_or_default();
            let report = crate::webhook::load(&url, secret.as_bytes(), count, concurrency).await?;
            println!("{}", serde_json::to_string(&report).unwrap_or_default());
            Ok(exit::OK)
        }
    }
}

fn run_state(action: StateAction) -> Result<u8, Failure> {
    match action {
        StateAction::Show(args) => {
            let p = resolve_pipeline(&args, Overrides::default(), true)?;
            let db = &target(&p, false).state_db();
            if !db.exists() {
                println!(
                    "{}: no sync has run yet (file does not exist)",
                    db.display()
                );
                return Ok(exit::OK);
            }
            let dest = SqliteDest::open(db)?;
            println!(
                "{:<26} {:<22} {:<22} {:<22}",
                "resource", "watermark", "last full listing", "updated"
            );
            for [r, w, l, u] in dest.state_rows()? {
                let f = |v: Option<String>| v.unwrap_or_else(|| "-".into());
                println!("{:<26} {:<22} {:<22} {:<22}", f(r), f(w), f(l), f(u));
            }
            Ok(exit::OK)
        }
        StateAction::Reset { pipeline, resource } => {
            let p = resolve_pipeline(&pipeline, Overrides::default(), true)?;
            let db = &target(&p, false).state_db();
            let resource = resource
                .map(|r| r.parse::<Resource>())
                .transpose()
                .map_err(usage)?;
            let _lock = crate::lock::DestLock::acquire(&crate::sync::lock_path(db))
                .map_err(SyncError::from)?;
            let mut dest = SqliteDest::open(db)?;
            let n = dest.reset_state(resource)?;
            println!(
                "reset {n} watermark(s) in {}; the next sync re-reads from the beginning",
                db.display()
            );
            Ok(exit::OK)
        }
    }
}

/// Entry point shared by the binary: parse, log, run, exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // The sandbox stands in for Huntr's servers: it keeps glibc's defaults.
    if !matches!(cli.command, Command::Sandbox(_)) {
        crate::memory::bound_allocator();
    }
    init_logging(cli.verbose, cli.log_format);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("huntr-sync: cannot start the async runtime: {e}");
            return ExitCode::from(exit::FAILED);
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            let mut msg = f.error.to_string();
            for cause in f.error.chain().skip(1) {
                msg.push_str(": ");
                msg.push_str(&cause.to_string());
            }
            eprintln!("huntr-sync: error: {msg}");
            ExitCode::from(f.code)
        }
    }
}

fn init_logging(verbose: u8, format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
