//! Who the bot is to GitHub: a token, or a GitHub App whose JWT buys installation tokens
//! (cached until five minutes before they expire).

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::transport::{ExecError, GitHub, classify};

/// How the bot authenticates to GitHub.
#[derive(Clone)]
pub enum Credentials {
    /// A token (development, or a GitHub Actions token).
    Token(String),
    /// A GitHub App: a JWT signed with the App's key buys installation tokens.
    App {
        app_id: u64,
        key: jsonwebtoken::EncodingKey,
    },
}

impl Credentials {
    /// Only an App's installation token may create or update check runs (a personal access
    /// token gets 403).
    pub fn can_write_check_runs(&self) -> bool {
        matches!(self, Credentials::App { .. })
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Token(_) => f.write_str("Token(<redacted>)"),
            Credentials::App { app_id, .. } => {
                write!(f, "App {{ app_id: {app_id}, key: <redacted> }}")
            }
        }
    }
}

#[derive(Deserialize)]
struct InstallationToken {
    token: String,
    expires_at: DateTime<Utc>,
}

impl GitHub {
    pub(super) async fn token(&self, installation: Option<u64>) -> Result<String, ExecError> {
        let (app_id, key) = match &self.credentials {
            Credentials::Token(token) => return Ok(token.clone()),
            Credentials::App { app_id, key } => (*app_id, key),
        };
        let installation = installation.ok_or_else(|| {
            ExecError::Permanent("the event names no installation: is the App installed?".into())
        })?;
        let mut tokens = self.tokens.lock().await;
        if let Some((token, expires)) = tokens.get(&installation)
            && *expires - chrono::Duration::minutes(5) > Utc::now()
        {
            return Ok(token.clone());
        }
        let jwt = app_jwt(app_id, key, Utc::now())?;
        let response = self
            .http
            .post(format!(
                "{}/app/installations/{installation}/access_tokens",
                self.api
            ))
            .bearer_auth(jwt)
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", super::transport::API_VERSION)
            .send()
            .await
            .map_err(|e| ExecError::Transient(format!("installation token: {e}")))?;
        let status = response.status();
        metrics::counter!("gep_bot_github_calls_total", "status" => status.as_u16().to_string())
            .increment(1);
        let headers = response.headers().clone();
        let text = response
            .text()
            .await
            .map_err(|e| ExecError::Transient(format!("installation token: {e}")))?;
        if !status.is_success() {
            return Err(classify(
                status,
                &headers,
                &text,
                "installation token",
                Utc::now(),
            ));
        }
        let issued: InstallationToken = serde_json::from_str(&text)
            .map_err(|e| ExecError::Transient(format!("installation token: {e}")))?;
        tokens.insert(installation, (issued.token.clone(), issued.expires_at));
        Ok(issued.token)
    }
}

/// A JWT for the App, valid ten minutes (GitHub's maximum), issued a minute in the past for clock drift.
pub fn app_jwt(
    app_id: u64,
    key: &jsonwebtoken::EncodingKey,
    now: DateTime<Utc>,
) -> Result<String, ExecError> {
    #[derive(serde::Serialize)]
    struct Claims {
        iat: i64,
        exp: i64,
        iss: String,
    }
    let claims = Claims {
        iat: now.timestamp() - 60,
        exp: now.timestamp() + 540,
        iss: app_id.to_string(),
    };
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        &claims,
        key,
    )
    .map_err(|e| ExecError::Permanent(format!("cannot sign the App JWT: {e}")))
}
