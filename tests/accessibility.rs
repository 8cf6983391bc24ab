//! The pages people open, audited in the real browser: axe-core in Debian's Chromium (through
//! `../shared/tools/a11y/check.sh`, puppeteer-core from npm driving the system browser, no
//! browser download) finds no violation on `/` and `/calendar`, and at 375 px neither page is
//! wider than the screen.

mod common;

use std::process::Command;

#[tokio::test]
async fn the_front_page_and_the_calendar_pass_an_accessibility_audit_and_fit_a_phone() {
    let Some(chromium) = common::chromium() else {
        return;
    };
    // The audit's tools come from npm: a machine without Node.js skips it, saying so, unless CI
    // (which installs it) requires the browser checks.
    let npm = Command::new("npm").arg("--version").output();
    if !npm.is_ok_and(|out| out.status.success()) {
        assert!(
            std::env::var_os("GEP_BOT_REQUIRE_CHROMIUM").is_none(),
            "npm is required here (install Debian's nodejs and npm)"
        );
        eprintln!("SKIPPED: npm not found; the pages were not audited for accessibility");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = common::serve::free_port();
    let db = format!("sqlite://{}", dir.path().join("bot.db").display());
    let mut command = common::serve::command(port, &db, "http://127.0.0.1:9", "s3cret");
    command.env("GEP_BOT_DRY_RUN", "1");
    let _bot = common::serve::KillOnDrop(command.spawn().unwrap());
    common::serve::wait_until_answers(&reqwest::Client::new(), port, "/healthz").await;
    let pages = ["/", "/calendar"].map(|path| format!("http://127.0.0.1:{port}{path}"));
    let check = common::shared().join("tools/a11y/check.sh");
    let out = tokio::task::spawn_blocking(move || {
        Command::new("bash")
            .arg(check)
            .args(&pages)
            .env("CHROMIUM", chromium)
            .output()
            .expect("bash runs the audit")
    })
    .await
    .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.code() != Some(2),
        "the audit could not run (node and npm are needed): {report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{report}");
    let lines: Vec<&str> = report.lines().filter(|l| l.starts_with("http")).collect();
    assert_eq!(lines.len(), 2, "{report}");
    for line in lines {
        for clean in [
            "serious=0",
            "critical=0",
            "moderate=0",
            "minor=0",
            "width_at_375=375",
        ] {
            assert!(line.contains(clean), "{line}\n{report}");
        }
    }
}
