//! The `knhk` binary: the workflow engine's service and its command-line client.
//!
//! This crate owns the process: command-line parsing (clap), dispatch to the
//! subcommands, what is printed, and the exit code. It is not a library: the work is
//! done by the crates it calls (formats, `knhk-verify`, later the runtime and the
//! server). It is the only crate that uses `anyhow`, for errors that end the process.
//!
//! Exit codes: 0 when the command succeeded (for `workflow validate`: no errors in the
//! file), 1 when it found errors in its input, 2 on usage and I/O errors (clap's own
//! code for a bad command line). With no subcommand the binary serves the HTTP API.

mod cli;
mod client;
mod serve;
mod validate;

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use cli::{Cli, Command, WorkflowCommand};
use client::Client;

/// The process failed for a reason outside the input it was asked to check (usage,
/// I/O, connection): exit code 2.
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let client = || {
        let url = cli
            .url
            .clone()
            .or_else(|| std::env::var("KNHK_URL").ok())
            .unwrap_or_else(|| "http://localhost:8080".to_owned());
        Client::new(&url, cli.json)
    };
    let Some(command) = cli.command else {
        return serve::run(serve_options()?);
    };
    match command {
        Command::Workflow { command } => match command {
            WorkflowCommand::Validate(args) => validate::run(&args, cli.json),
            WorkflowCommand::Register { file } => client().register(&file),
            WorkflowCommand::List => client().workflows(),
            WorkflowCommand::Get { id } => client().workflow(&id),
        },
        Command::Case { command } => client().case(&command),
        Command::Workitem { command } => client().workitem(&command),
    }
}

/// Serving options from the environment.
fn serve_options() -> anyhow::Result<serve::ServeOptions> {
    let var = |name: &str| std::env::var(name).ok();
    let listen = var("KNHK_LISTEN").unwrap_or_else(|| "0.0.0.0:8080".to_owned());
    Ok(serve::ServeOptions {
        listen: listen
            .parse()
            .with_context(|| format!("KNHK_LISTEN: `{listen}` is not an address:port"))?,
        storage: knhk_runtime::StoragePaths::from_vars(var)?,
        api: knhk_server::ApiConfig::default(),
        page_max: knhk_runtime::EngineConfig::default().page_max,
    })
}
