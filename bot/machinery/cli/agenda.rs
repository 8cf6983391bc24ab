//! `gep-bot agenda --for DATE [--format markdown|json]`: the agenda of the meeting held on DATE
//! (in the calendar's zone), from the store, as the bot writes it in `[agenda] issue`.

use std::process::ExitCode;

use anyhow::Context;
use chrono::NaiveDate;

use super::report::Format;
use crate::capabilities::agenda;
use crate::machinery::store::{Backend, PgStore, SqliteStore, redact};
use crate::products::calendar::Schedule;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The day of the meeting.
    #[arg(long = "for", value_name = "DATE")]
    date: NaiveDate,
    #[arg(long, value_enum, default_value_t = Format::Markdown)]
    format: Format,
    /// The repository (default: `[agenda] repo`, else `[dashboard] repo`).
    #[command(flatten)]
    scope: super::RepoInStore,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (config, repo) = args.scope.resolve(|c| c.agenda.repo.clone())?;
    let (schedule, _) = Schedule::load_or_builtin(&config.calendar.schedule)?;
    let target = config.agenda.target().unwrap_or(agenda::Target::Issue(0));
    let Some(due) = agenda::for_date(&schedule, &repo, target, args.date) else {
        eprintln!("gep-bot: no meeting on {} in the schedule", args.date);
        return Ok(ExitCode::from(1));
    };
    let url = config.database_url.as_str();
    let rules = &config.review;
    let agenda = tokio::runtime::Runtime::new()?
        .block_on(async {
            match Backend::of(url)? {
                Backend::Sqlite => {
                    agenda::gather(&due, rules, &SqliteStore::open(url).await?).await
                }
                Backend::Postgres => agenda::gather(&due, rules, &PgStore::open(url).await?).await,
            }
        })
        .with_context(|| format!("cannot read the store {}", redact(url)))?;
    match args.format {
        Format::Markdown => print!("{}", agenda.markdown()),
        Format::Json => println!("{}", serde_json::to_string_pretty(&agenda)?),
    }
    Ok(ExitCode::SUCCESS)
}
