//! `gep-bot doctor [--config FILE]`: checks what `serve` needs, one line each, and says what is
//! wrong. Exit 0 when `serve` can run, 1 when something stops it; a `note` is what runs but
//! differently from production (no webhook secret: fine for a local try).

use std::process::ExitCode;
use std::time::Duration;

use super::ConfigFile;
use crate::capabilities::mesh::Matcher;
use crate::machinery::config::Config;
use crate::machinery::github::GitHub;
use crate::machinery::store::{Backend, PgStore, SqliteStore, Store, redact};
use crate::products::calendar::Schedule;

struct Report {
    failed: bool,
}

impl Report {
    fn line(&mut self, what: &str, result: Result<String, String>) {
        match result {
            Ok(detail) => println!("ok    {what}: {detail}"),
            Err(problem) => {
                self.failed = true;
                println!("FAIL  {what}: {problem}");
            }
        }
    }

    /// Not a failure: `serve` runs, and this says how it differs from a production setup.
    fn note(&mut self, what: &str, detail: &str) {
        println!("note  {what}: {detail}");
    }
}

pub fn run(args: ConfigFile) -> anyhow::Result<ExitCode> {
    let mut report = Report { failed: false };
    let config = match Config::load(args.config.as_deref()) {
        Ok(config) => {
            report.line("configuration", Ok("read".into()));
            config
        }
        Err(error) => {
            report.line("configuration", Err(error.to_string()));
            return Ok(ExitCode::from(1));
        }
    };
    report.line(
        "mesh rules",
        Matcher::new(&config.mesh)
            .map(|_| format!("label `{}`", config.mesh.label))
            .map_err(|e| e.to_string()),
    );
    report.line(
        "schedule",
        Schedule::load_or_builtin(&config.calendar.schedule)
            .map(|(s, origin)| format!("{origin} ({} series)", s.series.len()))
            .map_err(|e| e.to_string()),
    );
    report.line(
        "template",
        Ok(format!(
            "the check run applies `{}` of each repository at the base commit; gep-bot's built-in template where a repository has none (and for `validate` without --template)",
            config.checks.template_path(&config.review.geps_dir)
        )),
    );
    if config.webhook_secrets.is_empty() {
        report.note(
            "webhook secret",
            "not set: webhooks are answered 401 (fine for a local try; set GEP_BOT_WEBHOOK_SECRET before GitHub delivers)",
        );
    } else {
        report.line("webhook secret", Ok("set".into()));
    }
    match &config.server.admin_listen {
        None => report.note(
            "health listener",
            "none: /healthz and /metrics share the public port's connection cap (set GEP_BOT_ADMIN_LISTEN, e.g. 0.0.0.0:9090, where a liveness probe uses them)",
        ),
        Some(address) => report.line(
            "health listener",
            admin_address(address, &config.listen),
        ),
    }
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        report.line("database", database(&config.database_url).await);
        match config.credentials() {
            Ok(None) => report.line(
                "GitHub",
                Ok("no credentials: serve would run in dry-run, sending nothing".into()),
            ),
            Ok(Some(credentials)) => {
                let answer =
                    match GitHub::connect(&config.github.api_url, credentials, Duration::ZERO) {
                        Ok(github) => {
                            tokio::time::timeout(Duration::from_secs(15), github.whoami()).await
                        }
                        Err(refused) => Ok(Err(refused)),
                    };
                let result = match answer {
                    Ok(result) => result.map_err(|e| e.to_string()),
                    Err(_) => Err(format!(
                        "{} did not answer within 15 s",
                        config.github.api_url
                    )),
                };
                report.line("GitHub", result);
            }
            Err(problem) => report.line("GitHub credentials", Err(problem.to_string())),
        }
    });
    Ok(if report.failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

async fn database(url: &str) -> Result<String, String> {
    let shown = redact(url);
    let counts = async {
        match Backend::of(url)? {
            Backend::Sqlite => SqliteStore::open(url).await?.counts().await,
            Backend::Postgres => PgStore::open(url).await?.counts().await,
        }
    };
    match tokio::time::timeout(Duration::from_secs(10), counts).await {
        Ok(Ok(jobs)) => Ok(format!(
            "{shown} answers, migrations applied; jobs: {} queued, {} running, {} dead{}",
            jobs.queued,
            jobs.running,
            jobs.dead,
            if jobs.dead > 0 {
                " (`gep-bot requeue` runs the dead ones again once their cause is fixed)"
            } else {
                ""
            }
        )),
        Ok(Err(error)) => Err(format!("{shown}: {error}")),
        Err(_) => Err(format!("{shown} did not answer within 10 s")),
    }
}

/// Whether the admin listener's address can be served beside the public one.
fn admin_address(address: &str, public: &str) -> Result<String, String> {
    let parsed: std::net::SocketAddr = address.parse().map_err(|_| {
        format!("GEP_BOT_ADMIN_LISTEN `{address}` is not HOST:PORT (e.g. 0.0.0.0:9090)")
    })?;
    if public.parse::<std::net::SocketAddr>().ok() == Some(parsed) {
        return Err(format!(
            "GEP_BOT_ADMIN_LISTEN `{address}` is the public address too: give it a port of its own"
        ));
    }
    Ok(format!(
        "{address}: /healthz, /readyz and /metrics outside the public port's connection cap"
    ))
}
