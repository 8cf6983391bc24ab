//! The command line: one subcommand per capability, each a thin edge over that capability's core.
//!
//! Exit codes follow SPEC section 3: 0 done, 1 the command found a problem (errors in GEPs, an
//! unknown GEP), 2 a usage or I/O error, reported in one line.

mod agenda;
mod calendar;
mod checkout;
mod dashboard;
mod doctor;
mod replay;
mod report;
pub mod repository;
mod requeue;
pub mod serve;
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
    /// Write the GEP dashboard of a checkout (HTML and JSON): status, readiness, flags.
    Dashboard(dashboard::Args),
    /// The agenda of a meeting, from the store, as the bot writes it before the meeting.
    Agenda(agenda::Args),
    /// Write the meeting calendar as iCalendar, or list its meetings.
    Calendar(calendar::Args),
    /// Run the bot: webhooks, workers, calendar, health and metrics.
    Serve(ConfigFile),
    /// Run the handlers on a saved webhook body and print the planned actions.
    Replay(replay::Args),
    /// The initiative's report for a period: meetings per slot, mesh work, GEP status changes,
    /// lead-review turnaround.
    Report(report::Args),
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

/// `--repo` and `--config` of the commands that read the store about one repository.
#[derive(Debug, clap::Args)]
pub struct RepoInStore {
    /// The repository (default: from the configuration).
    #[arg(long, value_name = "OWNER/NAME")]
    repo: Option<String>,
    /// Configuration file (default: $GEP_BOT_CONFIG, else ./bot.toml if it exists).
    #[arg(long, value_name = "FILE")]
    config: Option<std::path::PathBuf>,
}

impl RepoInStore {
    /// The configuration, and the repository: `--repo`, else `fallback` of the configuration.
    fn resolve(
        self,
        fallback: impl FnOnce(&crate::machinery::config::Config) -> Option<String>,
    ) -> anyhow::Result<(crate::machinery::config::Config, String)> {
        let config = crate::machinery::config::Config::load(self.config.as_deref())?;
        let Some(repo) = self.repo.or_else(|| fallback(&config)) else {
            anyhow::bail!("which repository? give --repo OWNER/NAME, or set [agenda] repo");
        };
        if !crate::core::event::is_repository_name(&repo) {
            anyhow::bail!("--repo {repo:?} is not OWNER/NAME");
        }
        Ok((config, repo))
    }
}

/// `--format` of the commands that print either for people or for programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum HumanOrJson {
    Human,
    Json,
}

/// `--template FILE`: its rules, its text and the findings on its rules. A file that states no
/// rule at all (an empty file, `/dev/null`, a page that is no template) would check nothing and
/// pass every GEP: a usage error, not a silent pass.
fn load_template(
    path: &std::path::Path,
) -> anyhow::Result<(
    crate::domain::validate::Template,
    crate::domain::validate::SourceText,
    Vec<crate::domain::validate::Finding>,
)> {
    use anyhow::Context as _;
    let loaded = crate::domain::validate::Template::load(path)
        .with_context(|| format!("cannot read template {}", path.display()))?;
    if !loaded.0.has_rules() {
        anyhow::bail!(
            "{}: no section of it says from which status it is required, so it would check nothing \
             (a template is a GEP index.md whose sections carry `[required_in]: # (Provisional status and above)` lines; \
             leave --template out for gep-bot's built-in one)",
            path.display()
        );
    }
    Ok(loaded)
}

/// `DIR/geps`, or a usage error saying where it looked (not "no such GEP": a wrong place).
fn geps_folder(repo_dir: &std::path::Path) -> anyhow::Result<std::path::PathBuf> {
    let geps = repo_dir.join("geps");
    if !geps.is_dir() {
        anyhow::bail!(
            "no {} folder: run it in a checkout of the repository, or name one with --repo-dir",
            geps.display()
        );
    }
    Ok(geps)
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate(args) => validate::run(args),
        Command::Status(args) => status::run(args),
        Command::Dashboard(args) => dashboard::run(args),
        Command::Agenda(args) => agenda::run(args),
        Command::Calendar(args) => calendar::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Replay(args) => replay::run(args),
        Command::Report(args) => report::run(args),
        Command::Requeue(args) => requeue::run(args),
        Command::Doctor(args) => doctor::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("gep-bot: error: {}", causes(&error));
            ExitCode::from(2)
        }
    }
}

/// The error and what caused it, each message once. Many errors already say their source's
/// message (`cannot read FILE: {source}`), so anyhow's `{:#}` would print it twice.
fn causes(error: &anyhow::Error) -> String {
    let mut said = String::new();
    for cause in error.chain().map(ToString::to_string) {
        if said.contains(&cause) {
            continue;
        }
        if !said.is_empty() {
            said.push_str(": ");
        }
        said.push_str(&cause);
    }
    said
}

#[cfg(test)]
mod tests {
    use super::causes;

    #[test]
    fn each_cause_is_said_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file");
        let read = crate::machinery::config::ConfigError::Read {
            path: "/etc/bot.toml".into(),
            source: io,
        };
        let error = anyhow::Error::new(read).context("cannot start");
        assert_eq!(
            causes(&error),
            "cannot start: cannot read /etc/bot.toml: No such file"
        );
        let plain = anyhow::anyhow!("inner").context("outer");
        assert_eq!(causes(&plain), "outer: inner");
    }
}
