//! `gep-bot report --from DATE --to DATE [--format markdown|json] [--repo OWNER/NAME]`: the
//! initiative's report from the store the bot keeps (`GEP_BOT_DATABASE_URL`) and its schedule.

use std::process::ExitCode;

use anyhow::Context;
use chrono::NaiveDate;

use crate::machinery::store::{Backend, PgStore, SqliteStore, Store, StoreError, redact};
use crate::products::calendar::Schedule;
use crate::products::report;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Markdown,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The first day reported (in the calendar's zone).
    #[arg(long, value_name = "DATE")]
    from: NaiveDate,
    /// The day after the last one reported.
    #[arg(long, value_name = "DATE")]
    to: NaiveDate,
    #[arg(long, value_enum, default_value_t = Format::Markdown)]
    format: Format,
    /// The repository reported on (default: `[dashboard] repo`, else kubernetes-sigs/gateway-api).
    #[command(flatten)]
    scope: super::RepoInStore,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.to <= args.from {
        anyhow::bail!(
            "--to {} is not after --from {}: the period is [from, to)",
            args.to,
            args.from
        );
    }
    let (config, repo) = args.scope.resolve(|c| {
        Some(
            c.dashboard
                .repo
                .clone()
                .unwrap_or_else(|| "kubernetes-sigs/gateway-api".into()),
        )
    })?;
    let (schedule, _) = Schedule::load_or_builtin(&config.calendar.schedule)?;
    let url = config.database_url.as_str();
    // All activity up to the end: a review that began before the period may end within it.
    let to_ms = crate::products::calendar::local_to_utc(
        schedule.timezone,
        args.to.and_hms_opt(0, 0, 0).expect("midnight"),
    )
    .timestamp_millis();
    let activity = tokio::runtime::Runtime::new()?
        .block_on(async {
            match Backend::of(url)? {
                Backend::Sqlite => read(SqliteStore::open(url).await?, &repo, to_ms).await,
                Backend::Postgres => read(PgStore::open(url).await?, &repo, to_ms).await,
            }
        })
        .with_context(|| format!("cannot read the activity in {}", redact(url)))?;
    let report = report::report(&repo, &schedule, &activity, args.from, args.to);
    match args.format {
        Format::Markdown => print!("{}", report.markdown()),
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
    }
    Ok(ExitCode::SUCCESS)
}

async fn read(
    store: impl Store,
    repo: &str,
    to_ms: i64,
) -> Result<Vec<crate::core::state::Activity>, StoreError> {
    store.activity(repo, i64::MIN, to_ms).await
}
