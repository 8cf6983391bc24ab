//! Table tests of the check run: (files at head, statuses at base) -> check run.

use super::*;
use crate::validate::{GepFiles, SourceText};

const METADATA: &str = "apiVersion: internal.gateway.networking.k8s.io/v1alpha1\nkind: GEPDetails\nnumber: 42\nname: Mesh retries\nstatus: STATUS\nauthors:\n  - keithmattix\nFEATURES";

fn index(status: &str, body: &str) -> String {
    format!(
        "---\ntitle: \"GEP-42: Mesh retries\"\n---\n\n* Issue: [#42](https://github.com/o/r/issues/42)\n* Status: {status}\n\n## TLDR\n\nRetries.\n\n## Goals\n\n* a\n\n## Non-Goals\n\n* b\n\n## Introduction/Overview\n\nc\n\n## Purpose (Why and Who)\n\nd\n{body}"
    )
}

fn head(status: &str, body: &str, features: &str) -> GepSet {
    GepSet {
        geps: vec![GepFiles {
            dir: "geps/gep-42".into(),
            number: Some(42),
            index: Some(SourceText::new("geps/gep-42/index.md", index(status, body))),
            metadata: Some(SourceText::new(
                "geps/gep-42/metadata.yaml",
                METADATA
                    .replace("STATUS", status)
                    .replace("FEATURES", features),
            )),
            checked: true,
        }],
        only_files: None,
    }
}

fn run(set: &GepSet, base: Option<Status>, changed: &[&str]) -> (String, String, Vec<Annotation>) {
    let base_status: BTreeMap<u32, Status> = base.map(|b| (42, b)).into_iter().collect();
    let changed: Vec<String> = changed.iter().map(|s| s.to_string()).collect();
    let template = Template::builtin();
    let plan = plan(&Input {
        repo: "o/r",
        head_sha: "abc",
        changed_paths: &changed,
        head: set,
        base_status: &base_status,
        known: &BTreeSet::new(),
        template: &template,
    });
    match &plan.actions[..] {
        [
            Action::CreateCheckRun {
                conclusion,
                title,
                annotations,
                name,
                head_sha,
                ..
            },
        ] => {
            assert_eq!((name.as_str(), head_sha.as_str()), (CHECK_NAME, "abc"));
            (conclusion.clone(), title.clone(), annotations.clone())
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_clean_provisional_gep_passes() {
    let (conclusion, title, annotations) = run(
        &head("Provisional", "", ""),
        None,
        &["geps/gep-42/index.md"],
    );
    assert_eq!(conclusion, "success", "{annotations:?}");
    assert_eq!(title, "0 errors, 0 warnings in 1 GEP");
}

#[test]
fn a_warning_in_a_changed_file_fails_but_not_in_an_unchanged_one() {
    let set = head("Implementable", "", "");
    // API, Request flow, ... missing at Implementable: warnings by default.
    let (conclusion, _, annotations) =
        run(&set, Some(Status::Implementable), &["geps/gep-42/index.md"]);
    assert_eq!(conclusion, "failure");
    assert!(annotations.iter().all(|a| a.annotation_level == "failure"));
    assert!(
        annotations
            .iter()
            .any(|a| a.title == "GEP011" && a.path == "geps/gep-42/index.md" && a.start_line == 6)
    );
    let (conclusion, _, annotations) = run(
        &set,
        Some(Status::Implementable),
        &["geps/gep-42/metadata.yaml"],
    );
    assert_eq!(conclusion, "success");
    assert!(annotations.iter().all(|a| a.annotation_level == "warning"));
}

#[test]
fn skipping_from_provisional_to_standard_fails_on_the_status_line() {
    let (conclusion, _, annotations) = run(
        &head("Standard", "", "featureNames:\n  - HTTPRouteMeshRetry\n"),
        Some(Status::Provisional),
        &["geps/gep-42/metadata.yaml"],
    );
    assert_eq!(conclusion, "failure");
    let skip = annotations
        .iter()
        .find(|a| a.title == "GEP050")
        .expect("a lifecycle finding");
    assert_eq!(
        (skip.path.as_str(), skip.start_line),
        ("geps/gep-42/metadata.yaml", 5)
    );
    assert!(skip.message.contains("from Provisional to Standard"));
}

#[test]
fn moving_to_experimental_needs_a_feature_name() {
    let (_, _, annotations) = run(
        &head("Experimental", "", ""),
        Some(Status::Implementable),
        &["geps/gep-42/metadata.yaml"],
    );
    assert!(annotations.iter().any(|a| a.title == "GEP051"));
}

#[test]
fn related_geps_are_read_from_relationships() {
    let text = "relationships:\n  extends:\n    - number: 1324\n      name: x\n  seeAlso:\n    - number: 713\n      name: y\n";
    assert_eq!(related_geps(text), BTreeSet::from([713, 1324]));
    assert_eq!(related_geps("not: [valid"), BTreeSet::new());
}

#[test]
fn an_obsoletes_the_other_gep_does_not_answer_fails_the_check() {
    let mut set = head(
        "Provisional",
        "",
        "relationships:\n  obsoletes:\n    - number: 1\n      name: Old\n",
    );
    set.geps.push(GepFiles {
        dir: "geps/gep-1".into(),
        number: Some(1),
        index: None,
        metadata: Some(SourceText::new(
            "geps/gep-1/metadata.yaml",
            METADATA
                .replace("42", "1")
                .replace("STATUS", "Standard")
                .replace("FEATURES", ""),
        )),
        checked: false,
    });
    let (conclusion, _, annotations) = run(
        &set,
        Some(Status::Provisional),
        &["geps/gep-42/metadata.yaml"],
    );
    assert_eq!(conclusion, "failure");
    assert!(
        annotations
            .iter()
            .any(|a| a.title == "GEP041" && a.path == "geps/gep-42/metadata.yaml"),
        "{annotations:?}"
    );
    assert!(
        !annotations
            .iter()
            .any(|a| a.path.starts_with("geps/gep-1/")),
        "the neighbour is not checked"
    );
}

#[test]
fn changed_geps_are_read_from_paths() {
    let paths = [
        "geps/gep-42/index.md",
        "geps/gep-7/metadata.yaml",
        "geps/overview.md",
        "site/gep-9/x",
    ]
    .map(String::from);
    assert_eq!(changed_geps(&paths, "geps/"), BTreeSet::from([7, 42]));
}
