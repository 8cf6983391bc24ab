//! `gep-bot validate --fix` on a copy of upstream's GEPs: the mechanical defects fixed as line
//! edits, what is left reported as before, a second run a no-op, and the YAML still the same data
//! to a parser other than ours (Python's, as upstream's tools read it).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn validate(dir: &Path, args: &[&str]) -> Output {
    Command::new(common::bin())
        .current_dir(dir)
        .arg("validate")
        .args(args)
        .output()
        .expect("gep-bot runs")
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A copy of the shared corpus (36 of upstream's GEPs and `pkg/features`) to fix.
fn corpus_copy() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let from = common::shared().join("fixtures/gateway-api");
    let status = Command::new("cp")
        .args([
            "-r",
            from.join("geps").to_str().unwrap(),
            from.join("pkg").to_str().unwrap(),
        ])
        .arg(tmp.path())
        .status()
        .unwrap();
    assert!(status.success());
    tmp
}

fn errors(dir: &Path) -> Vec<Value> {
    text(&validate(dir, &["--format", "json", "geps"]))
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|f| f["severity"] == "error")
        .collect()
}

fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut all = Vec::new();
    for gep in std::fs::read_dir(dir.join("geps")).unwrap() {
        let gep = gep.unwrap().path();
        for file in ["index.md", "metadata.yaml"] {
            if let Ok(bytes) = std::fs::read(gep.join(file)) {
                all.push((gep.join(file), bytes));
            }
        }
    }
    all.sort();
    all
}

/// A YAML file as Python's PyYAML reads it, as JSON; None (said loudly) where Python or PyYAML
/// is missing, unless CI requires them.
fn python_yaml(file: &Path) -> Option<Value> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        ])
        .arg(file)
        .output();
    match out {
        Ok(out) if out.status.success() => Some(serde_json::from_slice(&out.stdout).unwrap()),
        other => {
            let why = format!(
                "python3 with PyYAML cannot read {}: {other:?}",
                file.display()
            );
            assert!(
                std::env::var_os("GEP_BOT_REQUIRE_PYTHON").is_none(),
                "{why}"
            );
            eprintln!("SKIPPED the independent YAML check: {why}");
            None
        }
    }
}

#[test]
fn fix_then_validate_on_the_real_corpus_fixes_the_mechanical_errors_and_only_them() {
    let copy = corpus_copy();
    let dir = copy.path();
    let before_errors = errors(dir);
    let before = files(dir);

    let fixed = validate(dir, &["--fix", "geps"]);
    let said = text(&fixed);
    let lines: Vec<&str> = said.lines().filter(|l| l.starts_with("fixed ")).collect();
    // The defects of this corpus that need no judgement, each fixed where it stands.
    for expected in [
        "fixed geps/gep-1323/index.md:2: GEP003",
        "fixed geps/gep-1651/index.md:6: GEP010",
        "fixed geps/gep-1731/metadata.yaml:40: GEP034",
        "fixed geps/gep-1731/metadata.yaml:41: GEP034",
        "fixed geps/gep-1731/metadata.yaml:44: GEP034",
        "fixed geps/gep-4152/metadata.yaml:8: GEP029",
    ] {
        assert!(
            lines.iter().any(|l| l.starts_with(expected)),
            "{expected} in {said}"
        );
    }
    assert_eq!(lines.len(), 6, "{said}");

    let after_errors = errors(dir);
    let codes = |errors: &[Value]| -> Vec<String> {
        errors
            .iter()
            .map(|e| e["code"].as_str().unwrap().to_owned())
            .collect()
    };
    for gone in ["GEP003", "GEP010", "GEP034", "GEP029"] {
        assert!(codes(&before_errors).contains(&gone.to_owned()));
        assert!(
            !codes(&after_errors).contains(&gone.to_owned()),
            "{gone} left: {after_errors:?}"
        );
    }
    // What needs a person is reported as before: an unknown key, GEPs outside the copy (and
    // GEP-4152's extends, now read as a relationship, names one of those).
    assert!(codes(&after_errors).contains(&"GEP028".to_owned()));
    assert!(
        after_errors
            .iter()
            .all(|e| ["GEP028", "GEP040"].contains(&e["code"].as_str().unwrap())),
        "{after_errors:?}"
    );
    assert_eq!(fixed.status.code(), Some(1), "errors are left: exit 1");

    // Only the fixed files changed, and only on the fixed lines.
    let after = files(dir);
    let changed: Vec<&PathBuf> = before
        .iter()
        .zip(&after)
        .filter(|(b, a)| b.1 != a.1)
        .map(|(b, _)| &b.0)
        .collect();
    assert_eq!(changed.len(), 4, "{changed:?}");
    let lines_changed: usize = before
        .iter()
        .zip(&after)
        .map(|(b, a)| {
            let (b, a) = (String::from_utf8_lossy(&b.1), String::from_utf8_lossy(&a.1));
            similar::TextDiff::from_lines(b.as_ref(), a.as_ref())
                .iter_all_changes()
                .filter(|c| c.tag() != similar::ChangeTag::Equal)
                .count()
        })
        .sum();
    eprintln!(
        "errors {} -> {}; {} lines removed or added in {} files",
        before_errors.len(),
        after_errors.len(),
        lines_changed,
        changed.len()
    );

    // A second run changes nothing.
    let again = validate(dir, &["--fix", "geps"]);
    assert!(!text(&again).contains("fixed "), "{}", text(&again));
    assert_eq!(files(dir), after);

    // Every fixed metadata.yaml is the same data to Python's YAML apart from the keys fixed.
    let original = common::shared().join("fixtures/gateway-api/geps");
    if let (Some(mut was), Some(now)) = (
        python_yaml(&original.join("gep-1731/metadata.yaml")),
        python_yaml(&dir.join("geps/gep-1731/metadata.yaml")),
    ) {
        // The three Go constants of features pkg/features defines; the two names it does not
        // define (warnings: a person decides) stay as written.
        for name in was["featureNames"].as_array_mut().unwrap() {
            let written = name.as_str().unwrap();
            if !written.ends_with("Backoff") && !written.ends_with("Codes") {
                *name = Value::from(written.trim_start_matches("Support"));
            }
        }
        assert_eq!(was, now);
    }
    if let (Some(mut was), Some(now)) = (
        python_yaml(&original.join("gep-4152/metadata.yaml")),
        python_yaml(&dir.join("geps/gep-4152/metadata.yaml")),
    ) {
        let extends = was.as_object_mut().unwrap().remove("extends").unwrap();
        was["relationships"] = serde_json::json!({ "extends": extends });
        assert_eq!(was, now);
    }
}

#[test]
fn dry_run_prints_the_diff_and_writes_nothing() {
    let copy = corpus_copy();
    let dir = copy.path();
    let before = files(dir);
    let out = validate(dir, &["--fix", "--dry-run", "geps"]);
    let said = text(&out);
    assert!(
        said.contains("--- geps/gep-1323/index.md\n+++ geps/gep-1323/index.md\n"),
        "{said}"
    );
    assert!(said.contains("-title: \"GEP 1323: Response Header Filter\"\n+title: \"GEP-1323: Response Header Filter\"\n"), "{said}");
    assert!(
        said.contains("-* Status: Provisional\n+* Status: Declined\n"),
        "{said}"
    );
    assert!(said.contains("-  - SupportHTTPRouteRetry\n"), "{said}");
    assert!(
        said.contains("+relationships:\n+  extends:\n+    - number: 1897\n"),
        "{said}"
    );
    assert_eq!(files(dir), before, "a dry run writes nothing");
    // What is left is what was there: nothing was fixed.
    assert!(said.contains("error[GEP003]"), "{said}");
    assert_eq!(out.status.code(), Some(1));
}

/// The JSON finding of `code` when validating `gep` in `dir`.
fn json_finding(dir: &Path, gep: &str, code: &str) -> Value {
    text(&validate(dir, &["--format", "json", gep]))
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|f| f["code"] == code)
        .unwrap()
}

#[test]
fn json_findings_carry_their_fix_as_data() {
    let copy = corpus_copy();
    let status = json_finding(copy.path(), "geps/gep-1651", "GEP010");
    assert_eq!(
        status["fix"],
        serde_json::json!({
            "file": "geps/gep-1651/index.md",
            "line": 6,
            "was": ["* Status: Provisional"],
            "with": ["* Status: Declined"]
        })
    );
    assert!(
        status["hint"].as_str().unwrap().contains("tools/geps"),
        "{status}"
    );
    // A finding that needs a person carries none.
    let key = json_finding(copy.path(), "geps/gep-2659", "GEP028");
    assert!(key.get("fix").is_none(), "{key}");
}

/// An `extends` the other GEP does not answer is answered there, and Python's YAML reads the
/// answer as upstream's tools will.
#[test]
fn an_unanswered_relationship_is_answered_in_the_other_gep() {
    let copy = corpus_copy();
    let dir = copy.path();
    // GEP-1294 extends GEP-1324, which the copy lacks: give it one that does not answer.
    let other = dir.join("geps/gep-1324");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(
        other.join("metadata.yaml"),
        "apiVersion: internal.gateway.networking.k8s.io/v1alpha1\nkind: GEPDetails\nnumber: 1324\nname: Service Mesh in Gateway API\nstatus: Memorandum\nauthors:\n  - keithmattix\nrelationships:\n  extendedBy: {}\n",
    )
    .unwrap();
    std::fs::copy(dir.join("geps/gep-1294/index.md"), other.join("index.md")).unwrap();
    let found = json_finding(dir, "geps/gep-1294", "GEP041");
    assert_eq!(
        found["fix"]["file"], "geps/gep-1324/metadata.yaml",
        "{found}"
    );
    let said = text(&validate(dir, &["--fix", "geps/gep-1294"]));
    assert!(
        said.contains("fixed geps/gep-1294/metadata.yaml:12: GEP041"),
        "{said}"
    );
    let left = text(&validate(dir, &["--format", "json", "geps/gep-1294"]));
    assert!(!left.contains("GEP041"), "{left}");
    if let Some(answer) = python_yaml(&other.join("metadata.yaml")) {
        assert_eq!(answer["relationships"]["extendedBy"][0]["number"], 1294);
        assert_eq!(answer["number"], 1324);
    }
}

/// Drift on real data: no GEP of the shared corpus is behind its features; a copy with GEP-2645
/// (UDPRoute, in the Standard channel) lowered to Experimental gets exactly one GEP036 warning,
/// on that GEP, naming the feature and the status it likely should have.
#[test]
fn a_gep_behind_its_features_is_warned_about_on_real_data() {
    let copy = corpus_copy();
    let dir = copy.path();
    let drift = |dir: &Path| -> Vec<Value> {
        text(&validate(dir, &["--format", "json", "geps"]))
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|f| f["code"] == "GEP036")
            .collect()
    };
    assert_eq!(drift(dir), Vec::<Value>::new());
    let gep = dir.join("geps/gep-2645");
    common::lower_to_experimental(&gep);
    let found = drift(dir);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["file"], "geps/gep-2645/metadata.yaml");
    assert_eq!(found[0]["severity"], "warning");
    let message = found[0]["message"].as_str().unwrap();
    assert!(
        message.contains("UDPRoute (Standard)") && message.contains("is Experimental"),
        "{message}"
    );
    assert!(
        found[0]["hint"]
            .as_str()
            .unwrap()
            .contains("likely should be Standard")
    );
}
