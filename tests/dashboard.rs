//! `gep-bot dashboard` on upstream's real GEPs, features and conformance reports: the JSON, and
//! the page in headless Chromium (filters applied in place, counts right, a screenshot).

mod common;

use std::path::Path;
use std::process::Command;

fn dashboard(out: &Path) -> serde_json::Value {
    let upstream = common::corpus().parent().unwrap().to_path_buf();
    let (json, said) = dashboard_into(&upstream, out, &[]);
    assert!(said.contains("wrote 36 GEPs"));
    json
}

/// `gep-bot dashboard` of the checkout at `root` into `out` (with `args`): the JSON, and what it
/// said.
fn dashboard_into(root: &Path, out: &Path, args: &[&str]) -> (serde_json::Value, String) {
    let run = Command::new(common::bin())
        .args(["dashboard", "--repo-dir"])
        .arg(root)
        .arg("--out")
        .arg(out)
        .args(args)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let json = std::fs::read_to_string(out.join("geps.json")).unwrap();
    (
        serde_json::from_str(&json).unwrap(),
        String::from_utf8_lossy(&run.stdout).into_owned(),
    )
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
    let mut mesh: Vec<u64> = geps
        .iter()
        .filter(|g| g["mesh"] == true)
        .map(|g| g["number"].as_u64().unwrap())
        .collect();
    mesh.sort_unstable();
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
    let dir = checkout_of_3388("2025-04-01T12:00:00Z");
    let root = dir.path();
    let stale = |months: &str| {
        let json = dashboard_of(root, &["--stale-months", months]);
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

/// A git checkout holding upstream's GEP-3388, committed on `date`.
fn checkout_of_3388(date: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let gep = root.join("geps/gep-3388");
    std::fs::create_dir_all(&gep).unwrap();
    for name in ["index.md", "metadata.yaml"] {
        std::fs::copy(common::corpus().join("gep-3388").join(name), gep.join(name)).unwrap();
    }
    common::git(root, &["init", "-q"]);
    common::git(root, &["add", "geps"]);
    common::git_dated(root, &["commit", "-qm", "GEP-3388"], Some(date));
    dir
}

/// The dashboard of a checkout at `root` (with `args`), as JSON.
fn dashboard_of(root: &Path, args: &[&str]) -> serde_json::Value {
    let out = tempfile::tempdir().unwrap();
    dashboard_into(root, out.path(), args).0
}

/// A status the history starts in (the file was made so, as upstream's bulk move of
/// metadata.yaml files did) is reached "at least" then; one the history shows changing is
/// reached on the day it changed. The page says which.
#[test]
fn a_status_the_history_starts_in_is_a_lower_bound() {
    let dir = checkout_of_3388("2023-12-22T12:00:00Z");
    let root = dir.path();
    let gep = root.join("geps/gep-3388");
    let json = dashboard_of(root, &[]);
    let row = &json["geps"][0];
    assert_eq!(row["status"], "Experimental");
    assert_eq!(row["in_status_since"], "2023-12-22");
    assert_eq!(row["in_status_since_at_least"], true);
    // A GEP still moving, unchanged for years: stale, in the attention area too.
    assert_eq!(json["attention"]["stale"][0]["number"], 3388);

    let metadata = std::fs::read_to_string(gep.join("metadata.yaml")).unwrap();
    std::fs::write(
        gep.join("metadata.yaml"),
        metadata.replace("status: Experimental", "status: Standard"),
    )
    .unwrap();
    common::git_dated(
        root,
        &["commit", "-qam", "Standard"],
        Some("2025-09-01T12:00:00Z"),
    );
    let json = dashboard_of(root, &[]);
    let row = &json["geps"][0];
    assert_eq!(row["in_status_since"], "2025-09-01");
    assert_eq!(row["in_status_since_at_least"], false);
}

/// Drift on real data: no GEP of the shared corpus lags its features; a copy with GEP-2645
/// (UDPRoute, whose feature is in the Standard channel) lowered to Experimental finds exactly it.
#[test]
fn a_gep_behind_its_features_is_found_on_real_data() {
    let out = tempfile::tempdir().unwrap();
    let json = dashboard(out.path());
    assert_eq!(json["attention"]["drift"], serde_json::json!([]));

    let copy = tempfile::tempdir().unwrap();
    let upstream = common::corpus().parent().unwrap().to_path_buf();
    for dir in ["geps", "pkg", "conformance"] {
        let status = Command::new("cp")
            .args(["-r", upstream.join(dir).to_str().unwrap()])
            .arg(copy.path())
            .status()
            .unwrap();
        assert!(status.success());
    }
    let gep = copy.path().join("geps/gep-2645");
    common::lower_to_experimental(&gep);
    let json = dashboard_of(copy.path(), &[]);
    let drift = json["attention"]["drift"].as_array().unwrap();
    assert_eq!(drift.len(), 1, "{drift:?}");
    assert_eq!(drift[0]["number"], 2645);
    assert_eq!(
        drift[0]["features"],
        serde_json::json!(["UDPRoute (Standard)"])
    );
    assert_eq!(drift[0]["likely"], "Standard");
}
