//! The command line: subcommands and their flags (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// knhk: a workflow engine with YAWL semantics.
#[derive(Debug, Parser)]
#[command(name = "knhk", version, about)]
pub(crate) struct Cli {
    /// What to do; with none, serve the HTTP API.
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
    /// Print JSON instead of text (for scripts).
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// The server client commands talk to (over KNHK_URL and the file's `url`; default
    /// http://localhost:8080).
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) url: Option<String>,
    /// The TOML configuration file (over KNHK_CONFIG).
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Serve on this address:port (over KNHK_LISTEN; default 0.0.0.0:8080).
    #[arg(long, global = true, value_name = "ADDR")]
    pub(crate) listen: Option<String>,
    /// The data directory (over KNHK_STATE_STORE_PATH; default ./knhk-data).
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) state_store_path: Option<PathBuf>,
    /// A level (trace, debug, info, warn, error, off) or RUST_LOG-style directives such as
    /// info,knhk_runtime=debug (over KNHK_LOG_LEVEL; default info).
    #[arg(long, global = true, value_name = "LEVEL")]
    pub(crate) log_level: Option<String>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Work with workflow specifications.
    Workflow {
        /// What to do with them.
        #[command(subcommand)]
        command: WorkflowCommand,
    },
    /// Show or check the configuration (file, KNHK_* variables, flags).
    Config {
        /// What to do.
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Work with cases (needs a server).
    Case {
        /// What to do with them.
        #[command(subcommand)]
        command: CaseCommand,
    },
    /// Work with work items (needs a server).
    Workitem {
        /// What to do with them.
        #[command(subcommand)]
        command: WorkitemCommand,
    },
    /// Check a stopped data directory (no server).
    Store {
        /// What to do.
        #[command(subcommand)]
        command: StoreCommand,
    },
    /// Make API tokens (no server).
    Token {
        /// What to do.
        #[command(subcommand)]
        command: TokenCommand,
    },
}

/// `knhk store ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum StoreCommand {
    /// Reports every problem of a stopped data directory: specification versions that
    /// no longer load, cases that would be quarantined, records that do not decode.
    /// Writes nothing. Exits 0 when all is well, 1 with problems, 2 when it cannot read.
    Check {
        /// The data directory (default: the configured one, KNHK_STATE_STORE_PATH).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
}

/// `knhk token ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// Makes a new random API token and prints it with the `[[token]]` entry to add to
    /// the tokens file (which holds only its hash).
    New {
        /// Who the token acts as (a worker or participant name).
        #[arg(long)]
        identity: String,
        /// reader, worker, operator or admin.
        #[arg(long)]
        role: String,
    },
}

/// `knhk workflow ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum WorkflowCommand {
    /// Checks a specification file (JSON, Turtle or YAWL XML) without a server: YAWL's
    /// structural rules and soundness. Exits 0 without errors, 1 with errors.
    Validate(ValidateArgs),
    /// Registers a specification file (JSON, Turtle or YAWL XML) with the server.
    Register {
        /// The file.
        file: PathBuf,
    },
    /// Lists the registered specifications.
    List,
    /// Prints a registered specification as JSON.
    Get {
        /// The specification's id.
        id: String,
    },
    /// Saves the event log of a specification's cases (every version) as XES, for
    /// process mining (PM4Py, ProM): one trace per case, one event per work-item
    /// life-cycle transition (docs/api.md). Quarantined cases are left out.
    ExportXes {
        /// The specification's id.
        id: String,
        /// The file to write; `-` or none: standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Only events at or after this time, in ms since the Unix epoch.
        #[arg(long, value_name = "MS")]
        from: Option<u64>,
        /// Only events before this time, in ms since the Unix epoch.
        #[arg(long, value_name = "MS")]
        to: Option<u64>,
    },
}

/// `knhk config ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Prints the effective configuration and where each value came from.
    Show,
    /// Checks a configuration file on its own (or, without FILE, the effective
    /// configuration), reporting every problem; exits 1 if there is any.
    Validate {
        /// The TOML file.
        file: Option<PathBuf>,
    },
}

/// `knhk case ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum CaseCommand {
    /// Launches a case of a specification.
    Launch {
        /// The specification's id.
        spec: String,
        /// Launch data: JSON, or @FILE.
        #[arg(long, value_name = "JSON|@FILE")]
        data: Option<String>,
    },
    /// Lists cases.
    List {
        /// Only cases in this state (running, completed, ...).
        #[arg(long)]
        state: Option<String>,
        /// Only cases of this specification.
        #[arg(long)]
        spec: Option<String>,
    },
    /// Shows a case.
    Get {
        /// The case's id.
        id: String,
    },
    /// Cancels a case.
    Cancel {
        /// The case's id.
        id: String,
    },
    /// Prints a case's history.
    History {
        /// The case's id.
        id: String,
    },
}

/// `knhk workitem ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum WorkitemCommand {
    /// Lists work items (of the cases in flight, or of one case).
    List {
        /// Only this case's.
        #[arg(long)]
        case: Option<String>,
        /// Only this task's.
        #[arg(long)]
        task: Option<String>,
        /// Only items with this status (enabled, started, ...).
        #[arg(long)]
        status: Option<String>,
    },
    /// Starts an enabled work item.
    Start {
        /// The work item's id (`CASE-N`).
        id: String,
        /// The worker or participant acting.
        #[arg(long)]
        worker: Option<String>,
    },
    /// Completes a started work item.
    Complete {
        /// The work item's id (`CASE-N`).
        id: String,
        /// Output data: JSON, or @FILE.
        #[arg(long, value_name = "JSON|@FILE")]
        data: Option<String>,
        /// The worker or participant acting.
        #[arg(long)]
        worker: Option<String>,
    },
    /// Claims enabled work for an automated worker, with a lease.
    Claim {
        /// Work of this task...
        #[arg(long, required_unless_present = "service", conflicts_with = "service")]
        task: Option<String>,
        /// ...or of tasks with this service name.
        #[arg(long)]
        service: Option<String>,
        /// The worker (with an API token, its identity unless the token is an admin's).
        #[arg(long)]
        worker: Option<String>,
        /// At most this many items.
        #[arg(long, default_value_t = 1)]
        max: usize,
        /// How long the worker holds each item, in ms.
        #[arg(long, default_value_t = 60_000)]
        lease_ms: u64,
    },
}

/// `knhk workflow validate FILE`.
#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    /// The specification file: `.json`, `.ttl`, `.yawl` or `.xml` (other names are
    /// recognised by their content).
    pub(crate) file: PathBuf,
    /// Load a YAWL file even where an expression cannot be translated (reported as a
    /// warning).
    #[arg(long)]
    pub(crate) lenient: bool,
    /// Report soundness violations as errors.
    #[arg(long, conflicts_with = "no_soundness")]
    pub(crate) reject_unsound: bool,
    /// Skip the soundness check (state-space exploration).
    #[arg(long)]
    pub(crate) no_soundness: bool,
    /// The most states explored per net; past it the net's soundness is unknown.
    #[arg(long, value_name = "N", default_value_t = knhk_verify::VerifyOptions::STATES_MAX)]
    pub(crate) states_max: usize,
}
