//! `gep-bot serve [--config FILE]`: the webhook intake, the worker, the calendar, health and metrics,
//! in one process. Stops cleanly on SIGTERM or SIGINT: no new requests, in-flight ones answered,
//! claimed jobs given back to the queue.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::{Notify, watch};

use super::ConfigFile;
use crate::capabilities::{Capabilities, Setup};
use crate::machinery::config::Config;
use crate::machinery::github::{Credentials, Executor, GitHub};
use crate::machinery::pipeline::worker::{Observer, Settings, Worker};
use crate::machinery::pipeline::{self, Intake, now_ms};
use crate::machinery::store::ServeClaim;
use crate::machinery::store::{self, Backend, PgStore, SqliteStore, Store, StoreError, redact};
use crate::products::calendar::{self, Schedule};
use crate::products::dashboard::{
    self,
    served::{Refresher, Served},
};
use crate::products::front;

pub fn run(args: ConfigFile) -> anyhow::Result<ExitCode> {
    let config = Config::load(args.config.as_deref())?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(serve(config))?;
    Ok(ExitCode::SUCCESS)
}

/// Binds the port, opens the store the URL names, then serves with it. The port comes first:
/// a second `serve` that cannot have it stops before touching the queue.
async fn serve(config: Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let admin = match &config.server.admin_listen {
        Some(address) => Some(
            tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("cannot listen on {address} (GEP_BOT_ADMIN_LISTEN)"))?,
        ),
        None => None,
    };
    let url = config.database_url.clone();
    match Backend::of(&url)? {
        Backend::Sqlite => {
            // Held until `serve` returns; the OS lets go of it however the process ends.
            let _claim = ServeClaim::take(&url)?;
            serve_with(config, Arc::new(open_sqlite(&url).await?), listener, admin).await
        }
        Backend::Postgres => {
            let store = PgStore::open(&url)
                .await
                .with_context(|| format!("cannot open {}", redact(&url)))?;
            serve_with(config, Arc::new(store), listener, admin).await
        }
    }
}

async fn serve_with<S: Store>(
    config: Config,
    store: Arc<S>,
    listener: tokio::net::TcpListener,
    admin: Option<tokio::net::TcpListener>,
) -> anyhow::Result<()> {
    let (github, executor) = github_and_executor(&config)?;
    let dashboard = config
        .dashboard
        .repo
        .as_deref()
        .map(|repo| Served::new(repo, &config.review.geps_dir, &config.mesh.label));
    let capabilities = Arc::new(Capabilities::new(
        &Setup::new(&config, config.given_credentials()?.as_ref())
            .with_dashboard(dashboard.clone()),
    )?);
    let (schedule, origin) = Schedule::load_or_builtin(&config.calendar.schedule)
        .context("the calendar's schedule (set GEP_BOT_SCHEDULE or [calendar] schedule)")?;
    tracing::info!(schedule = %origin, "calendar schedule read");
    let calendar = Arc::new(calendar::http::Calendar::new(
        schedule,
        config.calendar.public_url.clone(),
        Arc::new(chrono::Utc::now),
    ));
    if config.webhook_secrets.is_empty() {
        tracing::warn!("GEP_BOT_WEBHOOK_SECRET is not set: every webhook will be answered 401");
    }
    let queued = Arc::new(Notify::new());
    // Jobs other replicas queue wake this worker too (PostgreSQL); this process's own intake
    // tells it directly.
    store.wake_on_queued(queued.clone()).await;
    let intake = Arc::new(Intake {
        store: store.clone(),
        secrets: config.webhook_secrets.clone(),
        queued: queued.clone(),
        clock: now_ms,
        bodies: pipeline::body::Budget::new(config.server.body_budget_mb << 20),
        last_failure: Default::default(),
    });
    let (stop, stopped) = watch::channel(false);
    let refresher = match (&dashboard, &github) {
        (Some(served), Some(github)) => {
            let mut refresher = Refresher::new(
                served.clone(),
                github.clone(),
                store.clone(),
                config.review.clone(),
                config.mesh.clone(),
            );
            refresher.stale_months = config.dashboard.stale_months;
            // In dry-run a nudge would be remembered as said and never said once the bot
            // writes: none is stored (the dashboard lists the ready GEPs all the same).
            if executor.writes() {
                refresher.ready_label = config.dashboard.ready_label.clone();
            } else if !config.dashboard.ready_label.is_empty() {
                tracing::info!("dry-run: graduation nudges are not stored");
            }
            refresher.queued = Some(queued.clone());
            Some(tokio::spawn(refresher.run(stopped.clone())))
        }
        (Some(served), None) => {
            served.say_problem(Some(
                "no GitHub credentials to read it with (GEP_BOT_GITHUB_TOKEN or an App)".into(),
            ));
            None
        }
        _ => None,
    };
    let operations = pipeline::operations(intake.clone());
    let app = routes(intake, calendar.clone(), dashboard.clone()).merge(front::router(
        front::Front {
            help: Capabilities::HELP,
            dashboard: config.dashboard.repo.as_deref(),
            mode: match (&github, executor.writes()) {
                (_, false) => front::Mode::DryRun,
                (Some(github), true) if github.is_app() => front::Mode::App,
                _ => front::Mode::Token,
            },
        }
        .html(),
    ));
    let agenda = match (&config.agenda.repo, config.agenda.target()) {
        (Some(repo), Some(target)) => {
            let installation = match &github {
                Some(github) => github
                    .installation_of(repo)
                    .await
                    .with_context(|| format!("the App's installation on {repo}, for the agenda"))?,
                None => None,
            };
            let scheduler = crate::capabilities::agenda::Scheduler {
                store: store.clone(),
                schedule: Arc::new(calendar.schedule().clone()),
                rules: config.agenda.clone(),
                repo: repo.clone(),
                target,
                installation,
                clock: now_ms,
                queued: queued.clone(),
            };
            tracing::info!(repo, ?target, "agenda: written before each meeting");
            Some(tokio::spawn(scheduler.run(stopped.clone())))
        }
        _ => None,
    };

    let worker = Worker {
        store: store.clone(),
        executor: Arc::new(executor),
        github,
        capabilities,
        settings: Settings {
            max_attempts: config.worker.max_attempts,
            backoff: Duration::from_millis(config.worker.retry_base_ms),
            lease: Duration::from_millis(config.worker.lease_ms),
            ..Settings::default()
        },
        queued,
        clock: now_ms,
        observer: dashboard
            .map(|served| -> Observer { Arc::new(move |event| served.observe(event)) }),
    };
    let worker = worker
        .spawn(stopped.clone())
        .context("cannot start the worker's thread")?;
    let pruner = tokio::spawn(prune(store.clone(), config.retention_days, stopped.clone()));

    // Health and metrics on a listener of their own, with a cap of their own: a flood of
    // connections to the public port leaves the probes an open door.
    let admin = match admin {
        Some(admin) => {
            tracing::info!(address = %admin.local_addr()?, "health and metrics");
            let mut stopped = stopped.clone();
            let limits = crate::machinery::edge::Limits {
                max_connections: ADMIN_CONNECTIONS,
                ..config.server.limits()
            };
            Some(tokio::spawn(crate::machinery::edge::serve(
                admin,
                operations,
                limits,
                async move {
                    let _ = stopped.changed().await;
                },
            )))
        }
        None => None,
    };
    tracing::info!(address = %listener.local_addr()?, database = %redact(&config.database_url), "serving");
    let stopping = async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    };
    crate::machinery::edge::serve(listener, app, config.server.limits(), stopping).await?;
    let _ = worker.await;
    let _ = pruner.await;
    if let Some(admin) = admin {
        let _ = admin.await;
    }
    for task in [refresher, agenda].into_iter().flatten() {
        let _ = task.await;
    }
    Ok(())
}

/// Connections the admin listener serves at once: probes and a scraper need a few.
const ADMIN_CONNECTIONS: usize = 32;

/// Every route `serve` answers: the webhook and operations, the calendar, the dashboard.
pub fn routes<S: Store>(
    intake: Arc<Intake<S>>,
    calendar: Arc<calendar::http::Calendar>,
    dashboard: Option<Arc<Served>>,
) -> axum::Router {
    pipeline::router(intake)
        .merge(calendar::http::router(calendar))
        .merge(dashboard::served::router(dashboard))
}

/// The embedded store. One process serves an SQLite file, so jobs left running are orphans.
async fn open_sqlite(url: &str) -> Result<SqliteStore, StoreError> {
    let store = SqliteStore::open(url).await?;
    let orphans = store.release_orphans().await?;
    if orphans > 0 {
        tracing::info!(
            jobs = orphans,
            "queued again the jobs a previous process left running"
        );
    }
    Ok(store)
}

/// The GitHub client the capabilities read through (whenever credentials are given), and the
/// executor: it writes through the same client, or in dry-run only logs what it would write.
fn github_and_executor(config: &Config) -> anyhow::Result<(Option<Arc<GitHub>>, Executor)> {
    let github = config
        .given_credentials()?
        .map(|c| github(config, c))
        .transpose()?;
    let executor = match (&github, config.credentials()?) {
        (Some(github), Some(_)) => Executor::GitHub(github.clone()),
        (github, _) => {
            tracing::info!(
                reads = if github.is_some() {
                    "from GitHub"
                } else {
                    "none (no credentials)"
                },
                "dry-run (GEP_BOT_DRY_RUN=1 or no GitHub credentials): actions are logged, nothing is sent"
            );
            Executor::DryRun
        }
    };
    Ok((github, executor))
}

/// The client that talks to GitHub (`GEP_BOT_GITHUB_API_URL`) with `credentials`.
pub(super) fn github(config: &Config, credentials: Credentials) -> anyhow::Result<Arc<GitHub>> {
    let interval = Duration::from_millis(config.github.write_interval_ms);
    let github = GitHub::connect(&config.github.api_url, credentials, interval)?;
    Ok(Arc::new(
        github.with_read_concurrency(config.github.read_concurrency),
    ))
}

/// Deliveries deleted in one write when pruning (about 25 ms of the SQLite writer's time).
const PRUNE_BATCH: u32 = 1000;

/// Deletes stored deliveries past the retention period, hourly.
async fn prune<S: Store>(store: Arc<S>, retention_days: u32, mut stopped: watch::Receiver<bool>) {
    // Never shorter than the 3 days in which GitHub lets an operator redeliver.
    let retention = chrono::Duration::days(retention_days.max(3) as i64);
    loop {
        let before = (chrono::Utc::now() - retention).timestamp_millis();
        match store::prune_in_batches(&*store, before, PRUNE_BATCH).await {
            Ok(n) if n > 0 => tracing::info!(deliveries = n, "pruned deliveries past retention"),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "cannot prune deliveries"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
            _ = stopped.changed() => return,
        }
    }
}

/// SIGINT or SIGTERM (what Kubernetes sends).
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down: finishing requests, releasing jobs");
}
