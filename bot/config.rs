//! The bot's configuration: `bot.toml` (optional), then `GEP_BOT_*` environment variables, which
//! win. Secrets are never read from the file.

use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `GEP_BOT_LISTEN`.
    pub listen: String,
    pub calendar: CalendarConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CalendarConfig {
    pub schedule: PathBuf,
    /// Where the bot is reached from outside, for subscribe links (`GEP_BOT_PUBLIC_URL`).
    pub public_url: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            calendar: CalendarConfig::default(),
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
}

impl Config {
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
        if let Some(listen) = env("GEP_BOT_LISTEN") {
            config.listen = listen;
        }
        if let Some(url) = env("GEP_BOT_PUBLIC_URL") {
            config.calendar.public_url = Some(url);
        }
        if let Some(schedule) = env("GEP_BOT_SCHEDULE") {
            config.calendar.schedule = PathBuf::from(schedule);
        }
        Ok(config)
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
