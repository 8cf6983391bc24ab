//! Helpers shared by the integration tests: where the shared fixtures are, and the binary.
#![allow(dead_code)]

pub mod app_key;
pub mod bot;
pub mod github;
pub mod openapi;
pub mod serve;

use std::path::PathBuf;

/// `../shared` (or `GEP_BOT_SHARED`). A test that needs it fails loudly when it is missing:
/// CI must never pass by silently skipping the real corpus.
pub fn shared() -> PathBuf {
    let dir = std::env::var_os("GEP_BOT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    assert!(
        dir.join("SPEC.md").is_file(),
        "shared fixtures not found at {}: set GEP_BOT_SHARED to the shared/ folder",
        dir.display()
    );
    dir
}

pub fn corpus() -> PathBuf {
    shared().join("fixtures/gateway-api/geps")
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_gep-bot"))
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What `gep-bot ARGS` printed on a store (`database_url`), run from the repository with no
/// configuration file and the built-in schedule; it must succeed.
pub fn on_store(database_url: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(bin())
        .current_dir(repo())
        .env("GEP_BOT_DATABASE_URL", database_url)
        .env_remove("GEP_BOT_CONFIG")
        .env_remove("GEP_BOT_SCHEDULE")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// What a command that was used wrongly printed: it must exit 2 with one line on stderr.
pub fn usage_error(out: &std::process::Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    err
}

/// A real webhook body from `../shared/fixtures/octokit-webhooks/<event>/<file>`.
pub fn webhook_body(event: &str, file: &str) -> Vec<u8> {
    let path = shared()
        .join("fixtures/octokit-webhooks")
        .join(event)
        .join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A real `issues.opened` body made about mesh (or not), for installation `installation`.
pub fn issue_body(number: u64, title: &str, installation: u64) -> Vec<u8> {
    let mut body: serde_json::Value =
        serde_json::from_slice(&webhook_body("issues", "opened.payload.json")).unwrap();
    body["issue"]["number"] = number.into();
    body["issue"]["title"] = title.into();
    body["issue"]["labels"] = serde_json::json!([]);
    body["installation"] = serde_json::json!({ "id": installation, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ==" });
    serde_json::to_vec(&body).unwrap()
}

/// A real `pull_request` body (from the `opened` fixture) for pull request `number`, its action,
/// head and base commits set, no labels, installation 7.
pub fn pull_request_body(number: u64, action: &str, head: &str, base: &str) -> Vec<u8> {
    let mut body: serde_json::Value =
        serde_json::from_slice(&webhook_body("pull_request", "opened.payload.json")).unwrap();
    body["action"] = action.into();
    body["number"] = number.into();
    body["pull_request"]["number"] = number.into();
    body["pull_request"]["title"] = format!("Update the GEPs ({number})").into();
    body["pull_request"]["head"]["sha"] = head.into();
    body["pull_request"]["base"]["sha"] = base.into();
    body["pull_request"]["labels"] = serde_json::json!([]);
    body["installation"] = serde_json::json!({ "id": 7 });
    serde_json::to_vec(&body).unwrap()
}

/// The issue number in a REST path such as `/repos/OWNER/REPO/issues/N/labels` (0 if none).
pub fn issue_number(path: &str) -> u64 {
    path.split('/')
        .nth(5)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// A real `issue_comment.created` body: `who` wrote `text` on issue `number` (installation 7).
pub fn comment_body(number: u64, who: &str, text: &str) -> serde_json::Value {
    let mut body: serde_json::Value =
        serde_json::from_slice(&webhook_body("issue_comment", "created.payload.json")).unwrap();
    body["issue"]["number"] = number.into();
    body["comment"]["body"] = text.into();
    body["comment"]["user"] = serde_json::json!({ "login": who, "type": "User" });
    body["sender"] = serde_json::json!({ "login": who, "type": "User" });
    body["installation"] = serde_json::json!({ "id": 7 });
    body
}

/// `GEP_BOT_TEST_DATABASE_URL`, or `None` after saying loudly that PostgreSQL tests are skipped
/// (CI sets `GEP_BOT_REQUIRE_POSTGRES`, and then a missing server fails the test instead).
pub fn postgres_url(test: &str) -> Option<String> {
    match std::env::var("GEP_BOT_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var_os("GEP_BOT_REQUIRE_POSTGRES").is_none(),
                "{test}: GEP_BOT_TEST_DATABASE_URL is not set but PostgreSQL is required"
            );
            eprintln!(
                "SKIPPED {test}: set GEP_BOT_TEST_DATABASE_URL=postgres://... to run it against PostgreSQL"
            );
            None
        }
    }
}

/// A store in a schema of its own on `GEP_BOT_TEST_DATABASE_URL`, with the URL and the schema
/// (to open a second store on it, or drop it), or `None` as [`postgres_url`] says.
pub async fn postgres_store(
    test: &str,
) -> Option<(String, String, gep_bot::machinery::store::PgStore)> {
    let url = postgres_url(test)?;
    let schema = unique_schema(test);
    let store = gep_bot::machinery::store::PgStore::open_in_schema(&url, &schema)
        .await
        .unwrap();
    Some((url, schema, store))
}

/// A schema name no other test run uses. PostgreSQL cuts identifiers at 63 bytes, so the test's
/// name is shortened before the process id and the clock make it unique.
pub fn unique_schema(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let short: String = test.chars().take(24).collect();
    format!(
        "t_{short}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000_000
    )
}

/// Runs git in `dir` as a throwaway identity; a failure fails the test with git's message.
pub fn git(dir: &std::path::Path, args: &[&str]) -> String {
    git_dated(dir, args, None)
}

/// [`git`], with the commits it makes dated `date` (RFC 3339) when given.
pub fn git_dated(dir: &std::path::Path, args: &[&str], date: Option<&str>) -> String {
    let mut command = std::process::Command::new("git");
    if let Some(date) = date {
        command
            .env("GIT_COMMITTER_DATE", date)
            .env("GIT_AUTHOR_DATE", date);
    }
    let out = command
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.org"])
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("git prints UTF-8")
}

/// The fake GitHub's App (id 12345) with a throwaway RSA key, made once per test binary.
pub fn app_credentials() -> gep_bot::machinery::github::Credentials {
    static KEY: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let pem = KEY.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::read(app_key::throwaway_app_key(dir.path())).unwrap()
    });
    gep_bot::machinery::github::Credentials::App {
        app_id: 12345,
        key: jsonwebtoken::EncodingKey::from_rsa_pem(pem).unwrap(),
    }
}

/// Debian's chromium, or `None` (saying so loudly) where it is not installed; CI requires it.
pub fn chromium() -> Option<&'static str> {
    let found = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    if found.is_none() {
        assert!(
            std::env::var_os("GEP_BOT_REQUIRE_CHROMIUM").is_none(),
            "chromium is required here (install Debian's chromium)"
        );
        eprintln!("SKIPPED: chromium not found; the page was not checked in a browser");
    }
    found
}

/// Headless chromium with the flags this closed network needs, `env` set, then `args`.
pub fn chromium_run(chromium: &str, env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    std::process::Command::new(chromium)
        .envs(env.iter().copied())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=5000",
        ])
        .args(args)
        .output()
        .expect("chromium runs")
}

/// The accessibility audit of `pages` (axe-core in the system Chromium, each page also at a
/// 375 px width: `../shared/tools/a11y/check.sh`), one line per page; `None`, said loudly, where
/// Chromium or npm is missing, unless CI requires the browser checks.
pub async fn accessibility_audit(pages: Vec<String>) -> Option<String> {
    let chromium = chromium()?;
    let npm = std::process::Command::new("npm").arg("--version").output();
    if !npm.is_ok_and(|out| out.status.success()) {
        assert!(
            std::env::var_os("GEP_BOT_REQUIRE_CHROMIUM").is_none(),
            "npm is required here (install Debian's nodejs and npm)"
        );
        eprintln!("SKIPPED: npm not found; the pages were not audited for accessibility");
        return None;
    }
    let check = shared().join("tools/a11y/check.sh");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("bash")
            .arg(check)
            .args(&pages)
            .env("CHROMIUM", chromium)
            .output()
            .expect("bash runs the audit")
    })
    .await
    .unwrap();
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.code() != Some(2),
        "the audit could not run (node and npm are needed): {report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{report}");
    Some(report)
}

/// A Standard GEP's folder lowered to Experimental (metadata.yaml and index.md), as a GEP that
/// lags its release stands.
pub fn lower_to_experimental(gep: &std::path::Path) {
    for file in ["metadata.yaml", "index.md"] {
        let text = std::fs::read_to_string(gep.join(file)).unwrap();
        let lowered = text
            .replace("status: Standard", "status: Experimental")
            .replace("* Status: Standard", "* Status: Experimental");
        std::fs::write(gep.join(file), lowered).unwrap();
    }
}
