//! `gep-bot replay FILE --event NAME [--format human|json]`: the handlers on a saved webhook body,
//! printing the plan instead of executing it. The worker's own planning path, with an empty
//! store; what the handlers read from GitHub (a pull request's files, GEP files, reviews) is read
//! when credentials are configured, and is empty without them. Nothing is ever sent.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use super::HumanOrJson as Format;

use anyhow::Context;

use crate::capabilities::{Capabilities, Setup};
use crate::core::{Action, Event, LabelTarget, Plan};
use crate::machinery::config::Config;
use crate::machinery::github::Repo;
use crate::machinery::store::SqliteStore;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A webhook body as GitHub sent it (JSON).
    file: PathBuf,
    /// The event name GitHub sent in X-GitHub-Event (issues, pull_request, issue_comment, ...).
    #[arg(long)]
    event: String,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let body = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let event =
        Event::parse(&args.event, &body).with_context(|| format!("{}", args.file.display()))?;
    let config = Config::load(None)?;
    // The GitHub client starts its tasks on the runtime it is made in.
    let runtime = tokio::runtime::Runtime::new()?;
    let _entered = runtime.enter();
    // Replay only reads, so it reads GitHub whenever it can, dry-run or not.
    let github = config
        .given_credentials()?
        .map(|credentials| super::serve::github(&config, credentials))
        .transpose()?;
    if github.is_none() {
        eprintln!(
            "gep-bot: offline (no GEP_BOT_GITHUB_TOKEN or App key): a pull request's files, \
             GEP files and reviews read as empty"
        );
    }
    let capabilities =
        Capabilities::new(&Setup::new(&config, config.given_credentials()?.as_ref()))?;
    let plan = runtime.block_on(async {
        let store = SqliteStore::open("sqlite::memory:").await?;
        let reads = Repo {
            github: github.as_deref(),
            installation: event.installation,
        };
        capabilities
            .plan(&event, reads, &store, chrono::Utc::now())
            .await
            .context("cannot plan: a read from GitHub failed")
    })?;
    let mut out = std::io::stdout().lock();
    print(&mut out, &plan, args.format)?;
    Ok(ExitCode::SUCCESS)
}

fn print(out: &mut impl Write, plan: &Plan, format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json => {
            for action in &plan.actions {
                serde_json::to_writer(&mut *out, action)?;
                writeln!(out)?;
            }
            for change in &plan.state {
                serde_json::to_writer(&mut *out, change)?;
                writeln!(out)?;
            }
        }
        Format::Human => {
            if plan.is_empty() {
                writeln!(out, "no actions")?;
            }
            for action in &plan.actions {
                writeln!(out, "{}", describe(action))?;
            }
            for change in &plan.state {
                writeln!(out, "remember: {}", serde_json::to_string(change)?)?;
            }
        }
    }
    Ok(())
}

fn describe(action: &Action) -> String {
    let target = |repo: &str, target: &LabelTarget| match target {
        LabelTarget::Issue { number } => format!("{repo}#{number}"),
        LabelTarget::Discussion { number, .. } => format!("{repo} discussion #{number}"),
    };
    match action {
        Action::AddLabels {
            repo,
            target: t,
            labels,
        } => format!("add_labels {}: {}", target(repo, t), labels.join(", ")),
        Action::RemoveLabel {
            repo,
            target: t,
            label,
        } => format!("remove_label {}: {label}", target(repo, t)),
        other => format!(
            "{} {}",
            other.kind(),
            serde_json::to_string(other).unwrap_or_default()
        ),
    }
}
