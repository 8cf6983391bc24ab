//! Who the bot is to GitHub: a token, or a GitHub App whose JWT buys installation tokens
//! (octocrab signs the JWT, buys, caches and renews the tokens: see `transport`).

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
