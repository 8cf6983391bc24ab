//! The page a person sees who opens the bot's address (`GET /`, SPEC 4): what gep-bot is, and
//! links to the meeting calendar, the GEP dashboard, the commands' help and the bot's health.
//! Made once at start (nothing on it changes while the process runs) and served from memory.
//!
//! Not the dashboard's or the calendar's own pages: it only points at them.

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::domain::commands::HelpEntry;
use crate::domain::text::html_escape as escape;

/// How the running bot talks to GitHub, as the page says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A GitHub App: check runs, comments, labels.
    App,
    /// A token (development): the template result is a commit status instead of a check run.
    Token,
    /// No credentials, or `GEP_BOT_DRY_RUN=1`: actions are logged, nothing is written.
    DryRun,
}

/// What the page shows.
pub struct Front<'a> {
    /// Every command, by capability, as `/gep help` lists them.
    pub help: &'a [&'a [HelpEntry]],
    /// The repository the dashboard shows, where one is configured.
    pub dashboard: Option<&'a str>,
    pub mode: Mode,
}

impl Front<'_> {
    pub fn html(&self) -> String {
        let dashboard = match self.dashboard {
            Some(repo) => format!(
                r#"<li><a href="/geps">GEP dashboard</a>: where every GEP of {} stands, what each needs to graduate (<a href="/geps.json">JSON</a>)</li>"#,
                escape(repo)
            ),
            None => "<li>GEP dashboard: not configured here (set <code>GEP_BOT_DASHBOARD_REPO</code>)</li>".to_owned(),
        };
        let mode = match self.mode {
            Mode::App => {
                "Runs as a GitHub App: it labels, checks and comments on the repositories it is installed on."
            }
            Mode::Token => {
                "Runs with a token (development): the GEP template result is a commit status, not a check run."
            }
            Mode::DryRun => {
                "Runs in dry-run: it plans what it would do and logs it, and writes nothing to GitHub."
            }
        };
        let mut rows = String::new();
        for entry in self.help.iter().flat_map(|entries| entries.iter()) {
            rows.push_str(&format!(
                "      <tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>\n",
                escape(entry.usage),
                escape(entry.description),
                escape(entry.who)
            ));
        }
        format!(
            r##"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>gep-bot</title>
  <style>{css}</style>
</head>
<body>
  <header>
    <h1>gep-bot</h1>
    <p>The bot of the Kubernetes Gateway API's design process (Gateway Enhancement Proposals, GEPs)
    and its GAMMA mesh workstream: it labels mesh issues, pull requests and discussions, checks
    every pull request that changes a GEP against the GEP template, tracks the initiative leads'
    review, answers <code>/gep</code> commands, and publishes the meeting calendar.</p>
  </header>
  <main>
    <nav aria-label="Pages">
      <h2>Pages</h2>
      <ul>
        <li><a href="/calendar">Meeting calendar</a>: the next meetings in your own time zone, and how to subscribe (<a href="/calendar.ics">iCalendar feed</a>)</li>
        {dashboard}
        <li><a href="#commands">Commands</a> to use in comments on GitHub</li>
        <li>Health: <a href="/healthz">alive</a>, <a href="/readyz">ready</a>, <a href="/metrics">metrics</a></li>
      </ul>
    </nav>
    <section aria-labelledby="commands">
      <h2 id="commands">Commands</h2>
      <p>A command is a line that starts with <code>/</code> in a comment, outside code blocks and quotes.</p>
      <table>
        <thead><tr><th scope="col">Command</th><th scope="col">What it does</th><th scope="col">Who may use it</th></tr></thead>
        <tbody>
{rows}        </tbody>
      </table>
    </section>
  </main>
  <footer>
    <p>{mode}</p>
  </footer>
</body>
</html>
"##,
            css = crate::products::style::CSS,
        )
    }
}

/// `GET /`: the page, made once; each answer shares its bytes.
pub fn router(html: String) -> Router {
    let html = Bytes::from(html);
    Router::new().route(
        "/",
        get(move || {
            let html = html.clone();
            async move {
                let html_type = HeaderValue::from_static("text/html; charset=utf-8");
                ([(header::CONTENT_TYPE, html_type)], html).into_response()
            }
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_lists_every_command_and_links_what_is_served() {
        const HELP: &[HelpEntry] = &[HelpEntry {
            usage: "/gep <status>",
            description: "reports & more",
            who: "anyone",
        }];
        let page = Front {
            help: &[HELP],
            dashboard: Some("kubernetes-sigs/gateway-api"),
            mode: Mode::DryRun,
        }
        .html();
        assert!(page.contains("<code>/gep &lt;status&gt;</code>"), "{page}");
        assert!(page.contains("reports &amp; more"), "{page}");
        for link in ["/calendar", "/calendar.ics", "/geps", "/healthz", "/readyz"] {
            assert!(page.contains(&format!("href=\"{link}\"")), "{link}");
        }
        assert!(page.contains("writes nothing to GitHub"));
        let without = Front {
            help: &[HELP],
            dashboard: None,
            mode: Mode::App,
        }
        .html();
        assert!(!without.contains("href=\"/geps\""));
        assert!(without.contains("GEP_BOT_DASHBOARD_REPO"));
    }
}
