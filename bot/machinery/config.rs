//! The bot's configuration: `bot.toml` (optional), then `GEP_BOT_*` environment variables, which
//! win. Secrets are never read from the file.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::capabilities::checks::CheckRules;
use crate::capabilities::lifecycle::LifecycleRules;
use crate::capabilities::mesh::MeshRules;
use crate::capabilities::review::ReviewRules;
use crate::machinery::github::Credentials;
use crate::machinery::pipeline::Secrets;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `GEP_BOT_LISTEN`.
    pub listen: String,
    /// `GEP_BOT_DATABASE_URL`: `sqlite://PATH` (embedded) or `postgres://...`.
    pub database_url: String,
    /// Stored deliveries (and so dedupe keys) are kept this long; GitHub redelivers up to 3 days.
    pub retention_days: u32,
    pub calendar: CalendarConfig,
    pub github: GitHubConfig,
    pub worker: WorkerConfig,
    pub server: ServerConfig,
    pub mesh: MeshRules,
    pub review: ReviewRules,
    pub checks: CheckRules,
    pub lifecycle: LifecycleRules,
    pub dashboard: DashboardConfig,
    pub agenda: crate::capabilities::agenda::AgendaRules,
    /// `GEP_BOT_WEBHOOK_SECRET` (comma-separated for rotation): from the environment only.
    #[serde(skip)]
    pub webhook_secrets: Secrets,
    /// `GEP_BOT_GITHUB_TOKEN`: from the environment only.
    #[serde(skip)]
    pub github_token: Option<Token>,
}

/// A token that never shows in logs or `{:?}`.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(pub String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GitHubConfig {
    /// `GEP_BOT_GITHUB_API_URL`.
    pub api_url: String,
    /// `GEP_BOT_APP_ID`.
    pub app_id: Option<u64>,
    /// `GEP_BOT_PRIVATE_KEY_PATH`: the App's PEM key (a file the environment names, never inline).
    pub private_key_path: Option<PathBuf>,
    /// `GEP_BOT_WRITE_INTERVAL_MS`: pause between two writes for one installation.
    pub write_interval_ms: u64,
    /// `GEP_BOT_READ_CONCURRENCY`: reads one installation may have in flight at once (writes
    /// stay one at a time, paced). 1 reads one after another.
    pub read_concurrency: usize,
    /// `GEP_BOT_DRY_RUN=1`: plan and log, send nothing. On by itself without credentials.
    pub dry_run: bool,
}

impl Default for GitHubConfig {
    fn default() -> Self {
        GitHubConfig {
            api_url: "https://api.github.com".into(),
            app_id: None,
            private_key_path: None,
            write_interval_ms: 1000,
            read_concurrency: crate::machinery::github::transport::READ_CONCURRENCY,
            dry_run: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkerConfig {
    /// `GEP_BOT_MAX_ATTEMPTS`: failures before a job is kept as dead.
    pub max_attempts: i64,
    /// `GEP_BOT_RETRY_BASE_MS`: the first retry's delay; it doubles each time.
    pub retry_base_ms: u64,
    /// `GEP_BOT_LEASE_MS`: how long a claimed job is held before another replica may take it
    /// (its worker died). Longer than the slowest job.
    pub lease_ms: u64,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            max_attempts: 8,
            retry_base_ms: 2000,
            lease_ms: 120_000,
        }
    }
}

/// What one `serve` process takes from the internet (bot/edge, pipeline::body).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// `GEP_BOT_MAX_CONNECTIONS`: connections served at once; more are answered 503 (keep it
    /// below the process's descriptor limit, `ulimit -n`).
    pub max_connections: usize,
    /// `GEP_BOT_HEADER_TIMEOUT_MS`: time a client has to send a request's headers.
    pub header_timeout_ms: u64,
    /// `GEP_BOT_BODY_BUDGET_MB`: memory the webhook bodies being received may take together;
    /// a delivery that does not fit is answered 503 with `Retry-After`.
    pub body_budget_mb: usize,
    /// `GEP_BOT_ADMIN_LISTEN`: a second address serving `/healthz`, `/readyz` and `/metrics`
    /// only, outside the public port's connection cap, so that no flood of connections to the
    /// public port fails a liveness probe. None by default.
    pub admin_listen: Option<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        let limits = crate::machinery::edge::Limits::default();
        ServerConfig {
            max_connections: limits.max_connections,
            header_timeout_ms: limits.header_timeout.as_millis() as u64,
            body_budget_mb: crate::machinery::pipeline::body::DEFAULT_BUDGET >> 20,
            admin_listen: None,
        }
    }
}

impl DashboardConfig {
    pub fn check(&self) -> Result<(), ConfigError> {
        match &self.repo {
            Some(repo) if !crate::core::event::is_repository_name(repo) => {
                Err(ConfigError::BadVariable {
                    name: "GEP_BOT_DASHBOARD_REPO ([dashboard] repo)",
                    value: repo.clone(),
                    expected: "OWNER/NAME",
                })
            }
            _ if self.stale_months == 0 => Err(ConfigError::TooSmall {
                setting: "[dashboard] stale_months",
                value: 0,
                least: 1,
                why: "every GEP would be stale",
            }),
            _ => Ok(()),
        }
    }
}

impl ServerConfig {
    /// Values that would make `serve` refuse everything, or not what it says, are errors.
    pub fn check(&self) -> Result<(), ConfigError> {
        let least = |setting, value: u64, least: u64, why| {
            if value < least {
                Err(ConfigError::TooSmall {
                    setting,
                    value,
                    least,
                    why,
                })
            } else {
                Ok(())
            }
        };
        least(
            "GEP_BOT_MAX_CONNECTIONS ([server] max_connections)",
            self.max_connections as u64,
            1,
            "no connection could be served",
        )?;
        least(
            "GEP_BOT_HEADER_TIMEOUT_MS ([server] header_timeout_ms)",
            self.header_timeout_ms,
            100,
            "every client would be cut off before its headers arrive",
        )?;
        least(
            "GEP_BOT_BODY_BUDGET_MB ([server] body_budget_mb)",
            self.body_budget_mb as u64,
            (crate::machinery::pipeline::MAX_BODY >> 20) as u64,
            "one body of the largest size GitHub sends must fit",
        )
    }

    pub fn limits(&self) -> crate::machinery::edge::Limits {
        crate::machinery::edge::Limits {
            max_connections: self.max_connections,
            header_timeout: std::time::Duration::from_millis(self.header_timeout_ms),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CalendarConfig {
    pub schedule: PathBuf,
    /// Where the bot is reached from outside, for subscribe links (`GEP_BOT_PUBLIC_URL`).
    pub public_url: Option<String>,
}

/// `[dashboard]`: the repository `GET /geps` shows.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DashboardConfig {
    /// `OWNER/NAME` (`GEP_BOT_DASHBOARD_REPO`); none: no dashboard is served.
    pub repo: Option<String>,
    /// A GEP still moving that has not changed for this many months is stale.
    pub stale_months: u32,
    /// The label a GEP ready for its next status gets on its tracking issue (`{status}`: that
    /// status, in lower case), with a comment saying so; empty: neither.
    pub ready_label: String,
}

impl Default for DashboardConfig {
    fn default() -> Self {
        DashboardConfig {
            repo: None,
            stale_months: crate::products::dashboard::STALE_MONTHS,
            ready_label: crate::capabilities::graduation::READY_LABEL.to_owned(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            database_url: "sqlite://gep-bot.db".into(),
            retention_days: 14,
            calendar: CalendarConfig::default(),
            github: GitHubConfig::default(),
            worker: WorkerConfig::default(),
            server: ServerConfig::default(),
            mesh: MeshRules::default(),
            review: ReviewRules::default(),
            checks: CheckRules::default(),
            lifecycle: LifecycleRules::default(),
            dashboard: DashboardConfig::default(),
            agenda: crate::capabilities::agenda::AgendaRules::default(),
            webhook_secrets: Secrets::default(),
            github_token: None,
        }
    }
}

impl Default for CalendarConfig {
    fn default() -> Self {
        CalendarConfig {
            schedule: PathBuf::from("schedules/gamma.toml"),
            public_url: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("{0}")]
    Credentials(String),
    #[error("{setting} is {value}: at least {least} ({why})")]
    TooSmall {
        setting: &'static str,
        value: u64,
        least: u64,
        why: &'static str,
    },
    #[error("{name}={value:?} is not {expected}")]
    BadVariable {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
}

impl Config {
    /// Every variable the bot reads (the deployment manifests may set only these).
    pub const ENV_VARIABLES: &'static [&'static str] = &[
        "GEP_BOT_CONFIG",
        "GEP_BOT_LISTEN",
        "GEP_BOT_DATABASE_URL",
        "GEP_BOT_PUBLIC_URL",
        "GEP_BOT_SCHEDULE",
        "GEP_BOT_DASHBOARD_REPO",
        "GEP_BOT_GITHUB_API_URL",
        "GEP_BOT_APP_ID",
        "GEP_BOT_PRIVATE_KEY_PATH",
        "GEP_BOT_WRITE_INTERVAL_MS",
        "GEP_BOT_DRY_RUN",
        "GEP_BOT_MAX_ATTEMPTS",
        "GEP_BOT_RETRY_BASE_MS",
        "GEP_BOT_LEASE_MS",
        "GEP_BOT_MAX_CONNECTIONS",
        "GEP_BOT_HEADER_TIMEOUT_MS",
        "GEP_BOT_BODY_BUDGET_MB",
        "GEP_BOT_ADMIN_LISTEN",
        "GEP_BOT_READ_CONCURRENCY",
        "GEP_BOT_WEBHOOK_SECRET",
        "GEP_BOT_GITHUB_TOKEN",
        "GEP_BOT_LOG",
        "GEP_BOT_LOG_FORMAT",
    ];

    /// From `explicit`, else `GEP_BOT_CONFIG`, else `./bot.toml` when it exists; then the environment.
    pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let named = explicit
            .map(Path::to_path_buf)
            .or_else(|| env("GEP_BOT_CONFIG").map(PathBuf::from));
        let path = named.clone().unwrap_or_else(|| PathBuf::from("bot.toml"));
        let mut config = match std::fs::read_to_string(&path) {
            Ok(text) => Config::parse(&text, &path)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && named.is_none() => {
                Config::default()
            }
            Err(source) => return Err(ConfigError::Read { path, source }),
        };
        config.apply_env(&env)?;
        config.server.check()?;
        config.dashboard.check()?;
        if config.agenda.repo.is_none() {
            config.agenda.repo = config.dashboard.repo.clone();
        }
        if let Some(problem) = config.agenda.problem() {
            return Err(ConfigError::Invalid {
                path,
                message: problem,
            });
        }
        Ok(config)
    }

    /// How to authenticate to GitHub: `None` means dry-run (asked for, or no credentials given).
    pub fn credentials(&self) -> Result<Option<Credentials>, ConfigError> {
        if self.github.dry_run {
            return Ok(None);
        }
        self.given_credentials()
    }

    /// The credentials configured, dry-run or not: for what only reads (`gep-bot replay`).
    pub fn given_credentials(&self) -> Result<Option<Credentials>, ConfigError> {
        let problem = |text: String| Err(ConfigError::Credentials(text));
        match (
            &self.github_token,
            self.github.app_id,
            &self.github.private_key_path,
        ) {
            (Some(token), _, _) => Ok(Some(Credentials::Token(token.0.clone()))),
            (None, Some(app_id), Some(path)) => {
                let pem = match std::fs::read(path) {
                    Ok(pem) => pem,
                    Err(e) => {
                        return problem(format!("cannot read the App key {}: {e}", path.display()));
                    }
                };
                match jsonwebtoken::EncodingKey::from_rsa_pem(&pem) {
                    Ok(key) => Ok(Some(Credentials::App { app_id, key })),
                    Err(e) => problem(format!(
                        "{} is not an RSA private key in PEM form: {e}",
                        path.display()
                    )),
                }
            }
            (None, Some(_), None) => {
                problem("GEP_BOT_APP_ID is set but GEP_BOT_PRIVATE_KEY_PATH is not".into())
            }
            (None, None, Some(_)) => {
                problem("GEP_BOT_PRIVATE_KEY_PATH is set but GEP_BOT_APP_ID is not".into())
            }
            (None, None, None) => Ok(None),
        }
    }

    /// `GEP_BOT_*` variables override the file.
    pub fn apply_env(&mut self, env: &impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        fn number<T: std::str::FromStr>(
            name: &'static str,
            value: String,
        ) -> Result<T, ConfigError> {
            value.trim().parse().map_err(|_| ConfigError::BadVariable {
                name,
                value,
                expected: "a whole number",
            })
        }
        if let Some(v) = env("GEP_BOT_LISTEN") {
            self.listen = v;
        }
        if let Some(v) = env("GEP_BOT_DATABASE_URL") {
            self.database_url = v;
        }
        if let Some(v) = env("GEP_BOT_PUBLIC_URL") {
            self.calendar.public_url = Some(v);
        }
        if let Some(v) = env("GEP_BOT_DASHBOARD_REPO") {
            self.dashboard.repo = Some(v);
        }
        if let Some(v) = env("GEP_BOT_SCHEDULE") {
            self.calendar.schedule = PathBuf::from(v);
        }
        if let Some(v) = env("GEP_BOT_GITHUB_API_URL") {
            self.github.api_url = v;
        }
        if let Some(v) = env("GEP_BOT_APP_ID") {
            self.github.app_id = Some(number("GEP_BOT_APP_ID", v)?);
        }
        if let Some(v) = env("GEP_BOT_PRIVATE_KEY_PATH") {
            self.github.private_key_path = Some(PathBuf::from(v));
        }
        if let Some(v) = env("GEP_BOT_WRITE_INTERVAL_MS") {
            self.github.write_interval_ms = number("GEP_BOT_WRITE_INTERVAL_MS", v)?;
        }
        if let Some(v) = env("GEP_BOT_READ_CONCURRENCY") {
            self.github.read_concurrency = number("GEP_BOT_READ_CONCURRENCY", v)?;
        }
        if let Some(v) = env("GEP_BOT_DRY_RUN") {
            self.github.dry_run = match v.trim() {
                "1" | "true" => true,
                "0" | "false" => false,
                _ => {
                    return Err(ConfigError::BadVariable {
                        name: "GEP_BOT_DRY_RUN",
                        value: v,
                        expected: "1 or 0",
                    });
                }
            };
        }
        if let Some(v) = env("GEP_BOT_MAX_ATTEMPTS") {
            self.worker.max_attempts = number("GEP_BOT_MAX_ATTEMPTS", v)?;
        }
        if let Some(v) = env("GEP_BOT_RETRY_BASE_MS") {
            self.worker.retry_base_ms = number("GEP_BOT_RETRY_BASE_MS", v)?;
        }
        if let Some(v) = env("GEP_BOT_LEASE_MS") {
            self.worker.lease_ms = number("GEP_BOT_LEASE_MS", v)?;
        }
        if let Some(v) = env("GEP_BOT_MAX_CONNECTIONS") {
            self.server.max_connections = number("GEP_BOT_MAX_CONNECTIONS", v)?;
        }
        if let Some(v) = env("GEP_BOT_HEADER_TIMEOUT_MS") {
            self.server.header_timeout_ms = number("GEP_BOT_HEADER_TIMEOUT_MS", v)?;
        }
        if let Some(v) = env("GEP_BOT_ADMIN_LISTEN") {
            self.server.admin_listen = Some(v).filter(|v| !v.is_empty());
        }
        if let Some(v) = env("GEP_BOT_BODY_BUDGET_MB") {
            self.server.body_budget_mb = number("GEP_BOT_BODY_BUDGET_MB", v)?;
        }
        if let Some(v) = env("GEP_BOT_WEBHOOK_SECRET") {
            self.webhook_secrets = Secrets::parse(&v);
        }
        self.github_token = env("GEP_BOT_GITHUB_TOKEN").map(Token);
        Ok(())
    }

    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map_or(1, |s| text[..s.start].matches('\n').count() + 1);
            ConfigError::Invalid {
                path: path.to_path_buf(),
                message: format!("line {line}: {}", e.message()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dashboard_repository_must_be_owner_and_name_and_stale_months_positive() {
        let config = |repo: Option<&str>, stale_months| DashboardConfig {
            repo: repo.map(String::from),
            stale_months,
            ..DashboardConfig::default()
        };
        assert!(config(None, 6).check().is_ok());
        assert!(
            config(Some("kubernetes-sigs/gateway-api"), 6)
                .check()
                .is_ok()
        );
        let error = config(Some("gateway-api"), 6)
            .check()
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("GEP_BOT_DASHBOARD_REPO"), "{error}");
        let error = config(None, 0).check().unwrap_err().to_string();
        assert!(error.contains("stale_months"), "{error}");
    }

    #[test]
    fn server_limits_that_would_refuse_everything_are_errors() {
        assert!(ServerConfig::default().check().is_ok());
        let config = ServerConfig {
            header_timeout_ms: 0,
            ..ServerConfig::default()
        };
        let error = config.check().unwrap_err().to_string();
        assert!(error.starts_with("GEP_BOT_HEADER_TIMEOUT_MS"), "{error}");
        assert!(error.contains("at least 100"), "{error}");
        let budget = ServerConfig {
            body_budget_mb: 10,
            ..ServerConfig::default()
        };
        assert!(
            budget
                .check()
                .unwrap_err()
                .to_string()
                .contains("at least 25")
        );
        let config = ServerConfig {
            max_connections: 0,
            ..ServerConfig::default()
        };
        assert!(config.check().is_err());
    }

    #[test]
    fn an_unknown_key_is_reported_with_its_line() {
        let error = Config::parse(
            "listen = \"0.0.0.0:80\"\n[calendar]\nshedule = \"x\"\n",
            Path::new("bot.toml"),
        )
        .unwrap_err();
        let text = error.to_string();
        assert!(
            text.starts_with("bot.toml: line 3: unknown field `shedule`"),
            "{text}"
        );
    }

    #[test]
    fn the_environment_overrides_the_file_and_secrets_come_only_from_it() {
        let mut config = Config::parse(
            "database_url = \"sqlite://a.db\"\n[github]\nwrite_interval_ms = 5\n",
            Path::new("bot.toml"),
        )
        .unwrap();
        let vars = [
            ("GEP_BOT_DATABASE_URL", "sqlite://b.db"),
            ("GEP_BOT_WRITE_INTERVAL_MS", "0"),
            ("GEP_BOT_WEBHOOK_SECRET", "old,new"),
            ("GEP_BOT_GITHUB_TOKEN", "t0ken"),
        ];
        config
            .apply_env(&|name| {
                vars.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.to_string())
            })
            .unwrap();
        assert_eq!(config.database_url, "sqlite://b.db");
        assert_eq!(config.github.write_interval_ms, 0);
        assert!(!config.webhook_secrets.is_empty());
        assert_eq!(config.github_token, Some(Token("t0ken".into())));
        assert!(
            !format!("{config:?}").contains("t0ken"),
            "secrets stay out of debug output"
        );
        assert!(Config::parse("webhook_secrets = \"x\"\n", Path::new("bot.toml")).is_err());
        let bad =
            config.apply_env(&|name| (name == "GEP_BOT_APP_ID").then(|| "twelve".to_string()));
        assert_eq!(
            bad.unwrap_err().to_string(),
            "GEP_BOT_APP_ID=\"twelve\" is not a whole number"
        );
    }

    #[test]
    fn the_file_sets_what_it_names_and_defaults_fill_the_rest() {
        let config = Config::parse(
            "[calendar]\npublic_url = \"https://bot.example.org\"\n",
            Path::new("bot.toml"),
        )
        .unwrap();
        assert_eq!(config.listen, "127.0.0.1:8080");
        assert_eq!(
            config.calendar.schedule,
            PathBuf::from("schedules/gamma.toml")
        );
        assert_eq!(
            config.calendar.public_url.as_deref(),
            Some("https://bot.example.org")
        );
    }
}
