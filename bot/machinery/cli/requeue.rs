//! `gep-bot requeue [--config FILE]`: queues the dead jobs again, once what killed them is fixed
//! (the App's permissions, a configuration, an outage). Safe beside a running `serve`: the
//! workers take the jobs at their next poll, and every action is idempotent.

use std::process::ExitCode;

use anyhow::Context;

use super::ConfigFile;
use crate::machinery::config::Config;
use crate::machinery::pipeline::now_ms;
use crate::machinery::store::{Backend, PgStore, SqliteStore, Store, StoreError, redact};

pub fn run(args: ConfigFile) -> anyhow::Result<ExitCode> {
    let config = Config::load(args.config.as_deref())?;
    let url = config.database_url.as_str();
    let shown = redact(url);
    let queued = tokio::runtime::Runtime::new()?
        .block_on(async {
            match Backend::of(url)? {
                Backend::Sqlite => requeue(SqliteStore::open(url).await?).await,
                Backend::Postgres => requeue(PgStore::open(url).await?).await,
            }
        })
        .with_context(|| format!("cannot queue the dead jobs of {shown}"))?;
    println!("queued {queued} dead job(s) again in {shown}");
    Ok(ExitCode::SUCCESS)
}

async fn requeue(store: impl Store) -> Result<u64, StoreError> {
    store.requeue_dead(now_ms()).await
}
