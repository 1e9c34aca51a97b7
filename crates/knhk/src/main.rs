//! The `knhk` binary: the workflow engine's service and its command-line client.
//!
//! This crate owns the process: command-line parsing (clap), dispatch to the
//! subcommands, what is printed, and the exit code. It is not a library: the work is
//! done by the crates it calls (formats, `knhk-verify`, later the runtime and the
//! server). It is the only crate that uses `anyhow`, for errors that end the process.
//!
//! Exit codes: 0 when the command succeeded (for `workflow validate`: no errors in the
//! file), 1 when it found errors in its input, 2 on usage and I/O errors (clap's own
//! code for a bad command line). With no subcommand the binary will serve HTTP
//! (issue 5); for now it prints its help and exits 2.

mod cli;
mod validate;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use cli::{Cli, Command, WorkflowCommand};

/// The process failed for a reason outside the input it was asked to check (usage,
/// I/O): exit code 2.
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Some(command) = cli.command else {
        // Serving HTTP is the default once the server exists (issue 5).
        let mut help = Cli::command();
        // Printing to a closed stdout is no reason to fail differently.
        let _ = help.print_help();
        return ExitCode::from(EXIT_USAGE);
    };
    let outcome = match command {
        Command::Workflow {
            command: WorkflowCommand::Validate(args),
        } => validate::run(&args),
    };
    match outcome {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}
