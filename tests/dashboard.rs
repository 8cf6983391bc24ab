//! `gep-bot dashboard` on upstream's real GEPs, features and conformance reports: the JSON, and
//! the page in headless Chromium (filters applied in place, counts right, a screenshot).

mod common;

use std::path::Path;
use std::process::Command;

fn dashboard(out: &Path) -> serde_json::Value {
    let upstream = common::corpus().parent().unwrap().to_path_buf();
    let run = Command::new(common::bin())
        .args(["dashboard", "--repo-dir"])
        .arg(&upstream)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(String::from_utf8_lossy(&run.stdout).contains("wrote 36 GEPs"));
    serde_json::from_str(&std::fs::read_to_string(out.join("geps.json")).unwrap()).unwrap()
}

#[test]
fn every_gep_is_listed_with_status_mesh_readiness_and_links() {
    let out = tempfile::tempdir().unwrap();
    let json = dashboard(out.path());
    let geps = json["geps"].as_array().unwrap();
    assert_eq!(geps.len(), 36);
    let by_status: u64 = json["counts"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(by_status, 36);
    let gep = |n: u64| geps.iter().find(|g| g["number"] == n).unwrap();
    let mesh: Vec<u64> = geps
        .iter()
        .filter(|g| g["mesh"] == true)
        .map(|g| g["number"].as_u64().unwrap())
        .collect();
    assert_eq!(mesh, [1294, 1686, 3949]);
    let retries = gep(1731);
    assert_eq!(retries["status"], "Experimental");
    assert_eq!(
        retries["issue_url"],
        "https://github.com/kubernetes-sigs/gateway-api/issues/1731"
    );
    assert_eq!(
        retries["readiness"]["features"][0]["read_as"],
        "HTTPRouteRetry"
    );
    assert!(
        retries["errors"].as_u64().unwrap() >= 3,
        "the GEP034s: {retries}"
    );
}

fn dom(chromium: &str, page: &Path, query: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let profile_arg = format!("--user-data-dir={}", profile.path().display());
    let url = format!("file://{}{query}", page.display());
    let output = common::chromium_run(chromium, &[], &[&profile_arg, "--dump-dom", &url]);
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Rows the browser shows (not hidden), and the count the page says it shows.
fn shown(dom: &str) -> (usize, String) {
    let rows = dom
        .lines()
        .filter(|l| l.starts_with("<tr data-status") && !l.contains(" hidden"))
        .count();
    let said = dom
        .split("<span id=\"shown\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or("")
        .to_owned();
    (rows, said)
}

#[test]
fn the_page_filters_by_status_and_mesh_in_the_browser_and_renders() {
    let Some(chromium) = common::chromium() else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let json = dashboard(out.path());
    let page = out.path().join("index.html");
    let experimental = json["counts"]["Experimental"].as_u64().unwrap() as usize;
    assert_eq!(shown(&dom(chromium, &page, "")), (36, "36".into()));
    assert_eq!(
        shown(&dom(chromium, &page, "?status=Experimental")),
        (experimental, experimental.to_string())
    );
    assert_eq!(shown(&dom(chromium, &page, "?mesh=1")), (3, "3".into()));
    let standard_mesh = json["geps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["mesh"] == true && g["status"] == "Standard")
        .count();
    assert_eq!(
        shown(&dom(chromium, &page, "?status=Standard&mesh=1")).0,
        standard_mesh
    );

    // A screenshot: the page renders (a PNG of real size, not a blank error page).
    let profile = tempfile::tempdir().unwrap();
    let shot = out.path().join("dashboard.png");
    let output = common::chromium_run(
        chromium,
        &[],
        &[
            &format!("--user-data-dir={}", profile.path().display()),
            "--window-size=1280,1600",
            &format!("--screenshot={}", shot.display()),
            &format!("file://{}", page.display()),
        ],
    );
    let png = std::fs::read(&shot).unwrap_or_else(|e| {
        panic!(
            "no screenshot ({e}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(png.len() > 20_000, "{} bytes: a blank page?", png.len());
}

/// In a git checkout, a GEP still moving whose folder has not changed for the configured months
/// is stale; with more months it is not.
#[test]
fn stale_follows_the_history_and_the_configured_months() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let gep = root.join("geps/gep-3388");
    std::fs::create_dir_all(&gep).unwrap();
    for name in ["index.md", "metadata.yaml"] {
        std::fs::copy(common::corpus().join("gep-3388").join(name), gep.join(name)).unwrap();
    }
    common::git(root, &["init", "-q"]);
    common::git(root, &["add", "geps"]);
    common::git_dated(
        root,
        &["commit", "-qm", "GEP-3388"],
        Some("2025-04-01T12:00:00Z"),
    );
    let stale = |months: &str| {
        let out = tempfile::tempdir().unwrap();
        let run = Command::new(common::bin())
            .args(["dashboard", "--repo-dir"])
            .arg(root)
            .arg("--out")
            .arg(out.path())
            .args(["--stale-months", months])
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.path().join("geps.json")).unwrap())
                .unwrap();
        let row = &json["geps"][0];
        assert_eq!(row["last_changed"], "2025-04-01");
        row["stale"].as_bool().unwrap()
    };
    assert!(stale("6"));
    assert!(!stale("1000"));
    let refused = Command::new(common::bin())
        .args([
            "dashboard",
            "--out",
            "/nonexistent-out",
            "--stale-months",
            "0",
        ])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--stale-months"));
}
