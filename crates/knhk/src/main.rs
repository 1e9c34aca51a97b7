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

mod admin;
mod cli;
mod client;
mod config;
mod serve;
mod telemetry;
mod validate;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command, ConfigCommand, StoreCommand, TokenCommand, WorkflowCommand};
use client::Client;
use config::{ConfigProblem, Overrides};

/// The process failed for a reason outside the input it was asked to check (usage,
/// I/O, connection): exit code 2.
const EXIT_USAGE: u8 = 2;

/// The variable holding the client commands' API token.
const TOKEN_VAR: &str = "KNHK_TOKEN";

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
    let overrides = Overrides {
        config: cli.config.clone(),
        listen: cli.listen.clone(),
        state_store_path: cli.state_store_path.clone(),
        log_level: cli.log_level.clone(),
        url: cli.url.clone(),
    };
    // Client commands need only the URL; serving needs everything.
    let client = || -> anyhow::Result<Client> {
        let resolved = config::load(&overrides).map_err(problems)?;
        Ok(Client::new(&resolved.config.url, cli.json, token()?))
    };
    let Some(command) = cli.command else {
        let resolved = config::load(&overrides).map_err(problems)?;
        let unavailable = resolved.config.unavailable();
        if !unavailable.is_empty() {
            anyhow::bail!(
                "cannot serve as configured:\n  {}",
                unavailable.join("\n  ")
            );
        }
        return serve::run(serve::ServeOptions::from(&resolved.config));
    };
    match command {
        Command::Workflow { command } => match command {
            WorkflowCommand::Validate(args) => validate::run(&args, cli.json),
            WorkflowCommand::Register { file } => client()?.register(&file),
            WorkflowCommand::List => client()?.workflows(),
            WorkflowCommand::Get { id } => client()?.workflow(&id),
            WorkflowCommand::ExportXes {
                id,
                output,
                from,
                to,
            } => client()?.export_xes(&id, (from, to), output.as_deref()),
        },
        Command::Config { command } => config_command(&command, &overrides, cli.json),
        Command::Case { command } => client()?.case(&command),
        Command::Workitem { command } => client()?.workitem(&command),
        Command::Store {
            command: StoreCommand::Check { data_dir },
        } => {
            let resolved = config::load(&overrides).map_err(problems)?;
            let configured = resolved.config.storage;
            let storage = match data_dir {
                // The database keeps its configured name inside the other directory.
                Some(dir) => {
                    let db = configured
                        .workflow_db
                        .strip_prefix(&configured.state_dir)
                        .ok();
                    knhk_runtime::StoragePaths::new(dir, db)
                }
                None => configured,
            };
            admin::store_check(&storage, cli.json)
        }
        Command::Token {
            command: TokenCommand::New { identity, role },
        } => admin::token_new(&identity, &role, cli.json),
    }
}

/// `knhk config show|validate`: exit 0 when the configuration is valid, 1 otherwise.
fn config_command(
    command: &ConfigCommand,
    overrides: &Overrides,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let found = match command {
        ConfigCommand::Show => match config::load(overrides) {
            Ok(resolved) => {
                if json {
                    println!("{}", serde_json::to_string_pretty(&resolved.show_json())?);
                } else {
                    print!("{}", resolved.show_text());
                }
                return Ok(ExitCode::SUCCESS);
            }
            Err(found) => found,
        },
        ConfigCommand::Validate { file: Some(file) } => config::validate_file(file),
        ConfigCommand::Validate { file: None } => config::load(overrides).err().unwrap_or_default(),
    };
    for problem in &found {
        eprintln!("error: {problem}");
    }
    if found.is_empty() {
        println!("configuration is valid");
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "{} problem{} found",
            found.len(),
            if found.len() == 1 { "" } else { "s" }
        );
        Ok(ExitCode::from(1))
    }
}

/// The API token of the client commands: `KNHK_TOKEN`, if set.
fn token() -> anyhow::Result<Option<String>> {
    match std::env::var_os(TOKEN_VAR) {
        None => Ok(None),
        Some(value) => match value.into_string() {
            Ok(token) if token.trim().is_empty() => anyhow::bail!("{TOKEN_VAR} is set but empty"),
            Ok(token) => Ok(Some(token.trim().to_owned())),
            Err(_) => anyhow::bail!("{TOKEN_VAR} is not valid UTF-8"),
        },
    }
}

/// Every configuration problem as one error.
fn problems(found: Vec<ConfigProblem>) -> anyhow::Error {
    let lines: Vec<String> = found.iter().map(ToString::to_string).collect();
    anyhow::anyhow!(
        "the configuration has {} problem{}:\n  {}",
        lines.len(),
        if lines.len() == 1 { "" } else { "s" },
        lines.join("\n  ")
    )
}
