//! The command line: one subcommand per capability, each a thin edge over that capability's core.
//!
//! Exit codes follow SPEC section 3: 0 done, 1 the command found a problem (errors in GEPs, an
//! unknown GEP), 2 a usage or I/O error, reported in one line.

mod calendar;
mod doctor;
mod replay;
mod requeue;
mod serve;
mod status;
mod validate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "gep-bot",
    version,
    about = "GEP review bot, meeting calendar and GEP validator for the Gateway API project"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check GEP folders or files against the GEP template and each other.
    Validate(validate::Args),
    /// Report a GEP's status, what its next status requires, and its findings (offline).
    Status(status::Args),
    /// Write the meeting calendar as iCalendar, or list its meetings.
    Calendar(calendar::Args),
    /// Run the bot: webhooks, workers, calendar, health and metrics.
    Serve(ConfigFile),
    /// Run the handlers on a saved webhook body and print the planned actions.
    Replay(replay::Args),
    /// Queue the dead jobs again, once what made them fail is fixed.
    Requeue(ConfigFile),
    /// Check the configuration, the database, the App key and the GitHub connection.
    Doctor(ConfigFile),
}

/// `--config FILE` of the commands that read the bot's configuration.
#[derive(Debug, clap::Args)]
pub struct ConfigFile {
    /// Configuration file (default: $GEP_BOT_CONFIG, else ./bot.toml if it exists).
    #[arg(long, value_name = "FILE")]
    config: Option<std::path::PathBuf>,
}

/// `--format` of the commands that print either for people or for programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum HumanOrJson {
    Human,
    Json,
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate(args) => validate::run(args),
        Command::Status(args) => status::run(args),
        Command::Calendar(args) => calendar::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Replay(args) => replay::run(args),
        Command::Requeue(args) => requeue::run(args),
        Command::Doctor(args) => doctor::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("gep-bot: error: {error:#}");
            ExitCode::from(2)
        }
    }
}
