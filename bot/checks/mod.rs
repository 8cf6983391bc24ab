//! The `GEP template` check run on pull requests that change GEPs (SPEC section 7): the validator
//! on the changed GEPs as they are at the head commit (strict on the files the pull request
//! changes, default severities elsewhere, so old GEPs are no wall), and the status change from the
//! base commit checked against the lifecycle. Findings become annotations on the exact lines.
//!
//! Pure: the files as read at head and base in, one check-run action out. The worker reads them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::gep::{Status, folder_number};
use crate::github::{Action, Annotation, Plan};
use crate::validate::{
    self, Finding, GepSet, Options, Position, Severity, Template, check_transition,
};

pub const CHECK_NAME: &str = "GEP template";

/// What the check needs, read by the worker at the pull request's head and base commits.
pub struct Input<'a> {
    pub repo: &'a str,
    pub head_sha: &'a str,
    pub changed_paths: &'a [String],
    /// The changed GEPs as they are at the head (paths relative to the repository).
    pub head: &'a GepSet,
    /// Each changed GEP's status at the base commit; absent for a GEP the pull request adds.
    pub base_status: &'a BTreeMap<u32, Status>,
    /// Every GEP number at the head, for relationships to GEPs the pull request does not change.
    pub known: &'a BTreeSet<u32>,
    pub template: &'a Template,
}

/// The GEP numbers a pull request touches, from its changed paths under `geps_dir`.
pub fn changed_geps(paths: &[String], geps_dir: &str) -> BTreeSet<u32> {
    paths
        .iter()
        .filter_map(|p| p.strip_prefix(geps_dir))
        .filter_map(|rest| rest.split('/').next())
        .filter_map(folder_number)
        .collect()
}

/// The GEP numbers a `metadata.yaml` names under `relationships` (nothing if it does not parse:
/// the validator reports that).
pub fn related_geps(metadata: &str) -> BTreeSet<u32> {
    let Ok(value) = serde_yaml_ng::from_str::<serde_yaml_ng::Value>(metadata) else {
        return BTreeSet::new();
    };
    let Some(relationships) = value.get("relationships").and_then(|r| r.as_mapping()) else {
        return BTreeSet::new();
    };
    relationships
        .values()
        .filter_map(|list| list.as_sequence())
        .flatten()
        .filter_map(|item| item.get("number")?.as_u64())
        .filter_map(|n| u32::try_from(n).ok())
        .collect()
}

pub fn plan(input: &Input<'_>) -> Plan {
    let options = Options {
        strict: false,
        known_elsewhere: input.known.clone(),
    };
    let changed: BTreeSet<&Path> = input.changed_paths.iter().map(Path::new).collect();
    let validate::Validated {
        mut findings,
        summaries,
    } = validate::validate_and_summarize(input.head, input.template, &options);
    for finding in &mut findings {
        // Strict where the pull request writes: a warning there is something it can fix now.
        if changed.contains(finding.file.as_path()) {
            finding.severity = Severity::Error;
        }
    }
    let mut transitions = Vec::new();
    for gep in input.head.geps.iter().filter(|g| g.checked) {
        let (Some(number), Some(metadata)) = (gep.number, &gep.metadata) else {
            continue;
        };
        let Some(head) = summaries.get(&gep.dir) else {
            continue;
        };
        let Some(to) = head.status else { continue };
        let from = input.base_status.get(&number).copied();
        let at = status_line(metadata.text());
        findings.extend(check_transition(
            from,
            to,
            &head.feature_names,
            metadata.path(),
            at,
        ));
        transitions.push((number, from, to));
    }
    findings.sort_by(|a, b| (&a.file, a.line, a.code).cmp(&(&b.file, b.line, b.code)));
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = findings.len() - errors;
    let geps = transitions.len();
    let title = format!(
        "{errors} error{}, {warnings} warning{} in {geps} GEP{}",
        plural(errors),
        plural(warnings),
        plural(geps)
    );
    let mut plan = Plan::default();
    plan.actions.push(Action::CreateCheckRun {
        repo: input.repo.to_owned(),
        head_sha: input.head_sha.to_owned(),
        name: CHECK_NAME.into(),
        conclusion: if errors > 0 { "failure" } else { "success" }.into(),
        title,
        summary: summary(&transitions, &findings),
        annotations: findings.iter().map(annotation).collect(),
    });
    plan
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn status_line(metadata: &str) -> Position {
    metadata
        .lines()
        .position(|l| l.starts_with("status:"))
        .map_or(Position::START, |i| Position::line(i + 1))
}

fn summary(transitions: &[(u32, Option<Status>, Status)], findings: &[Finding]) -> String {
    let mut out = String::from("| GEP | Status | Errors | Warnings |\n|---|---|---|---|\n");
    for (number, from, to) in transitions {
        let prefix = format!("geps/gep-{number}/");
        let of_gep = |severity| {
            findings
                .iter()
                .filter(|f| f.severity == severity && f.file.to_string_lossy().starts_with(&prefix))
                .count()
        };
        let status = match from {
            Some(from) if from != to => format!("{from} → {to}"),
            Some(_) => to.to_string(),
            None => format!("new, {to}"),
        };
        out.push_str(&format!(
            "| GEP-{number} | {status} | {} | {} |\n",
            of_gep(Severity::Error),
            of_gep(Severity::Warning)
        ));
    }
    out.push_str(
        "\nFiles this pull request changes are checked strictly: every finding there is an error. ",
    );
    out.push_str("Run `gep-bot validate --strict` on them to see the same findings locally.\n");
    out
}

fn annotation(finding: &Finding) -> Annotation {
    Annotation {
        path: finding.file.to_string_lossy().into_owned(),
        start_line: finding.line,
        end_line: finding.line,
        start_column: finding.column,
        end_column: finding.column,
        annotation_level: match finding.severity {
            Severity::Error => "failure",
            Severity::Warning => "warning",
        }
        .into(),
        title: finding.code.as_str().into(),
        message: format!("{}\nhelp: {}", finding.message, finding.hint),
    }
}

#[cfg(test)]
mod tests;
