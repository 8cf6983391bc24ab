//! Installation tokens for a GitHub App, bought with the App's JWT and cached per installation
//! until five minutes before they expire; a token's credentials are used as they are.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::auth::{Credentials, app_jwt};
use super::transport::{API_VERSION, GitHub, classify};
use crate::core::ExecError;

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
            .header("X-GitHub-Api-Version", API_VERSION)
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
