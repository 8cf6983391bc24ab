//! `gep-bot serve [--config FILE]`: the HTTP server. Today it serves the meeting calendar and the
//! health checks; the webhook pipeline joins it here.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::routing::get;

use crate::calendar::{self, Schedule};
use crate::config::Config;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Configuration file (default: $GEP_BOT_CONFIG, else ./bot.toml if it exists).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = Config::load(args.config.as_deref())?;
    let schedule = Schedule::load(&config.calendar.schedule)?;
    let calendar = Arc::new(calendar::http::Calendar::new(
        schedule,
        config.calendar.public_url.clone(),
        Arc::new(chrono::Utc::now),
    ));
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .merge(calendar::http::router(calendar));
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        tracing::info!(address = %listener.local_addr()?, "serving");
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown())
            .await?;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// SIGINT or SIGTERM (what Kubernetes sends) ends the server after in-flight requests finish.
async fn shutdown() {
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
    tracing::info!("shutting down");
}
