//! The command line: subcommands and their flags (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// knhk: a workflow engine with YAWL semantics.
#[derive(Debug, Parser)]
#[command(name = "knhk", version, about)]
pub(crate) struct Cli {
    /// What to do (with none: serve HTTP, once the service exists).
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
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
}

/// `knhk workflow ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum WorkflowCommand {
    /// Checks a specification file (JSON, Turtle or YAWL XML) without a server: YAWL's
    /// structural rules and soundness. Exits 0 without errors, 1 with errors.
    Validate(ValidateArgs),
}

/// `knhk workflow validate FILE`.
#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    /// The specification file: `.json`, `.ttl`, `.yawl` or `.xml` (other names are
    /// recognised by their content).
    pub(crate) file: PathBuf,
    /// Print the findings as one JSON document.
    #[arg(long)]
    pub(crate) json: bool,
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
