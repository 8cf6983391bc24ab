//! The pages people open, audited in the real browser: axe-core in Debian's Chromium (through
//! `../shared/tools/a11y/check.sh`, puppeteer-core from npm driving the system browser, no
//! browser download) finds no violation on `/` and `/calendar`, and at 375 px neither page is
//! wider than the screen.

mod common;

#[tokio::test]
async fn the_front_page_and_the_calendar_pass_an_accessibility_audit_and_fit_a_phone() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::serve::free_port();
    let db = format!("sqlite://{}", dir.path().join("bot.db").display());
    let mut command = common::serve::command(port, &db, "http://127.0.0.1:9", "s3cret");
    command.env("GEP_BOT_DRY_RUN", "1");
    let _bot = common::serve::KillOnDrop(command.spawn().unwrap());
    common::serve::wait_until_answers(&reqwest::Client::new(), port, "/healthz").await;
    let pages = ["/", "/calendar"].map(|path| format!("http://127.0.0.1:{port}{path}"));
    let Some(report) = common::accessibility_audit(pages.to_vec()).await else {
        return;
    };
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
