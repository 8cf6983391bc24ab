//! `gep-bot status N --repo-dir DIR`: the status report, offline, on real GEPs.

mod common;

use std::process::Command;

fn checkout() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(common::corpus(), dir.path().join("geps")).unwrap();
    dir
}

fn status(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(common::bin())
        .arg("status")
        .args(args)
        .arg("--repo-dir")
        .arg(dir)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn an_implementable_gep_says_what_experimental_requires() {
    let dir = checkout();
    let (code, out, _) = status(dir.path(), &["3949"]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "GEP-3949: Mesh Resource");
    assert_eq!(lines[1], "Status: Implementable");
    assert!(lines[2].starts_with("Next: Experimental - needs "), "{out}");
    assert!(
        lines[2].ends_with("a feature name in metadata.yaml"),
        "{out}"
    );
    assert!(out.contains("Findings: 0 errors"), "{out}");
}

#[test]
fn json_carries_the_same_report() {
    let dir = checkout();
    let (code, out, _) = status(dir.path(), &["1686", "--format", "json"]);
    assert_eq!(code, 0);
    let report: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(report["number"], 1686);
    assert_eq!(report["title"], "Mesh conformance testing plan");
    assert_eq!(report["status"], "Standard");
    assert_eq!(report["next"][0]["status"], "Completed");
    assert!(report["findings"].is_array());
}

#[test]
fn a_declined_gep_is_final_and_its_errors_are_listed() {
    let dir = checkout();
    let (_, out, _) = status(dir.path(), &["1651"]);
    assert!(
        out.contains("Status: Declined\nNext: none (this status is final)"),
        "{out}"
    );
    assert!(out.contains("error[GEP010]"), "{out}");
}

#[test]
fn a_repo_dir_without_geps_exits_two_saying_where_it_looked() {
    let empty = tempfile::tempdir().unwrap();
    let (code, out, err) = status(empty.path(), &["1686"]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(
        err.contains(&format!("no {}/geps folder", empty.path().display())),
        "{err}"
    );
    assert!(err.contains("--repo-dir"), "{err}");
}

#[test]
fn an_unknown_gep_exits_one_with_a_reason() {
    let dir = checkout();
    let (code, out, err) = status(dir.path(), &["9999"]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.contains("GEP-9999 does not exist"), "{err}");
}

#[test]
fn an_unreadable_gep_folder_says_why_not_that_it_does_not_exist() {
    let dir = tempfile::tempdir().unwrap();
    let geps = dir.path().join("geps");
    std::fs::create_dir(&geps).unwrap();
    std::os::unix::fs::symlink("gep-2", geps.join("gep-2")).unwrap();
    let (code, _, err) = status(dir.path(), &["2"]);
    assert_eq!(code, 2, "{err}");
    assert!(!err.contains("does not exist"), "{err}");
    assert!(
        err.contains("cannot read") && err.contains("symbolic links"),
        "{err}"
    );
}

#[test]
fn an_empty_template_is_a_usage_error_not_a_pass() {
    let dir = checkout();
    let (code, out, err) = status(dir.path(), &["1686", "--template", "/dev/null"]);
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(err.contains("would check nothing"), "{err}");
}

/// In a git checkout with upstream's features and conformance reports, `status --format json`
/// carries the readiness: each feature's implementations by their newest reports (a Go constant
/// read as the feature it names), the criteria, and the time in status from the history of
/// metadata.yaml (a later commit that keeps the status does not restart it).
#[test]
fn readiness_comes_from_features_conformance_reports_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let upstream = common::corpus().parent().unwrap().to_path_buf();
    std::os::unix::fs::symlink(upstream.join("pkg"), root.join("pkg")).unwrap();
    std::os::unix::fs::symlink(upstream.join("conformance"), root.join("conformance")).unwrap();
    let gep = root.join("geps/gep-1731");
    std::fs::create_dir_all(&gep).unwrap();
    std::fs::copy(
        common::corpus().join("gep-1731/index.md"),
        gep.join("index.md"),
    )
    .unwrap();
    let real = std::fs::read_to_string(common::corpus().join("gep-1731/metadata.yaml")).unwrap();
    common::git(root, &["init", "-q"]);
    let commit = |status: &str, extra: &str, day: &str| {
        std::fs::write(
            gep.join("metadata.yaml"),
            real.replace("status: Experimental", &format!("status: {status}")) + extra,
        )
        .unwrap();
        common::git(root, &["add", "geps"]);
        let date = format!("{day}T12:00:00Z");
        common::git_dated(root, &["commit", "-qm", status], Some(&date));
    };
    assert!(real.contains("status: Experimental"));
    commit("Implementable", "", "2025-01-10");
    commit("Experimental", "", "2025-03-05");
    commit("Experimental", "# a note\n", "2025-04-01");

    let (code, out, err) = status(root, &["1731", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let readiness = &report["readiness"];
    assert_eq!(readiness["in_status_since"], "2025-03-05", "{readiness:#}");
    assert_eq!(readiness["probation_ends"], "2025-09-05");
    let retry = &readiness["features"][0];
    assert_eq!(retry["name"], "SupportHTTPRouteRetry");
    assert_eq!(retry["known"], false);
    assert_eq!(retry["read_as"], "HTTPRouteRetry");
    let passing = retry["implementations"].as_array().unwrap();
    assert_eq!(retry["implementations_passing"], passing.len());
    assert!(passing.iter().any(|i| i == "envoy-gateway"), "{retry}");
    let criteria: Vec<(String, bool)> = readiness["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["criterion"].as_str().unwrap().to_owned(),
                c["met"].as_bool().unwrap(),
            )
        })
        .collect();
    assert!(
        criteria.contains(&("6-month probationary period over".into(), true)),
        "{criteria:?}"
    );
    assert!(criteria.contains(&("feature names defined in pkg/features".into(), false)));
    let (_, human, _) = status(root, &["1731"]);
    assert!(human.contains("In status since: 2025-03-05"), "{human}");
    assert!(
        human.contains("[x] 6-month probationary period over"),
        "{human}"
    );
}
