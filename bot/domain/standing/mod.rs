//! Where a GEP stands: its title and status, the statuses it may move to next and what each
//! still lacks by the template's rules, the validator's findings about it, and its graduation
//! readiness by the repository's features, conformance reports and history ([`readiness`]).
//! `gep-bot status`, `/gep status` and the dashboard all report from here.

pub mod readiness;

use serde::Serialize;

use crate::domain::gep::Status;
use crate::domain::validate::{self, Finding, GepFiles, GepSet, Options, Severity, Template};

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub number: u32,
    pub title: Option<String>,
    pub status: Option<Status>,
    pub next: Vec<NextStep>,
    pub findings: Vec<Finding>,
    /// What the next status needs by the template's graduation criteria, where the repository's
    /// features, conformance reports and history could be read (`gep-bot status` in a checkout).
    pub readiness: Option<readiness::Readiness>,
}

/// A status the GEP may move to next, and what it still lacks for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NextStep {
    pub status: Status,
    /// Sections the template requires at that status that are missing or still template text.
    pub sections: Vec<String>,
    /// Experimental (and beyond) needs a feature name in metadata.yaml.
    pub needs_feature_name: bool,
}

impl NextStep {
    /// What the step still needs, in words: each section as `section` names it, then the
    /// feature name (as `feature_name`) when one is missing.
    pub fn lacks(&self, section: impl Fn(&str) -> String, feature_name: &str) -> Vec<String> {
        let sections = self.sections.iter().map(|s| section(s));
        let feature = self.needs_feature_name.then(|| feature_name.to_owned());
        sections.chain(feature).collect()
    }
}

impl Serialize for Status {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// The report for GEP `number` of a set, or `None` if the set has no such GEP. `known` are GEP
/// numbers that exist though the set does not hold them (read from a folder listing).
pub fn report(set: &GepSet, number: u32, template: &Template, options: &Options) -> Option<Report> {
    let gep = set.geps.iter().find(|g| g.number == Some(number))?;
    let validate::Validated {
        mut findings,
        mut summaries,
    } = validate::validate_and_summarize(set, template, options);
    // A GEP the set only holds as a neighbour is not summarized by the validation: read it alone.
    let summary = summaries
        .remove(&gep.dir)
        .unwrap_or_else(|| validate::summarize(gep, template));
    let next = next_steps(gep, &summary, template);
    findings.retain(|f| f.file.starts_with(&gep.dir));
    Some(Report {
        number,
        title: summary.title,
        status: summary.status,
        next,
        findings,
        readiness: None,
    })
}

/// The statuses a GEP may move to next, each with what it still lacks.
pub fn next_steps(
    gep: &GepFiles,
    summary: &validate::GepSummary,
    template: &Template,
) -> Vec<NextStep> {
    match (summary.status, &gep.index) {
        (Some(status), Some(index)) => status
            .next()
            .iter()
            .map(|&to| NextStep {
                status: to,
                sections: validate::sections_owed(index, template, to),
                needs_feature_name: to.is_at_least(Status::Experimental)
                    && summary.feature_names.is_empty(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

impl Report {
    /// "N errors, M warnings": the findings counted by severity, as the reports say it.
    pub fn finding_counts(&self) -> String {
        let errors = self
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count();
        let warnings = self.findings.len() - errors;
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        format!(
            "{errors} error{}, {warnings} warning{}",
            plural(errors),
            plural(warnings)
        )
    }

    /// For people at a terminal.
    pub fn human(&self) -> String {
        let mut out = format!(
            "GEP-{}: {}\nStatus: {}\n",
            self.number,
            self.title.as_deref().unwrap_or("(no title)"),
            self.status.map_or("unknown", Status::as_str)
        );
        if self.next.is_empty() {
            out.push_str("Next: none (this status is final)\n");
        }
        for step in &self.next {
            let lacks = step.lacks(
                |s| format!("section `{s}`"),
                "a feature name in metadata.yaml",
            );
            if lacks.is_empty() {
                out.push_str(&format!(
                    "Next: {} - the template requires nothing more\n",
                    step.status
                ));
            } else {
                out.push_str(&format!(
                    "Next: {} - needs {}\n",
                    step.status,
                    lacks.join(", ")
                ));
            }
        }
        if let Some(readiness) = &self.readiness {
            if let Some(since) = readiness.in_status_since {
                out.push_str(&format!("In status since: {since}\n"));
            }
            for feature in &readiness.features {
                let passing = match (feature.implementations_passing, &feature.implementations) {
                    (Some(n), Some(names)) if !names.is_empty() => format!(
                        "; {n} implementation{} pass it ({})",
                        if n == 1 { "" } else { "s" },
                        names.join(", ")
                    ),
                    (Some(_), _) => "; no implementation passes it".to_owned(),
                    (None, _) => String::new(),
                };
                let what = match (&feature.read_as, feature.known) {
                    (Some(real), _) => format!(": the Go constant of `{real}`"),
                    (None, Some(false)) => ": not in pkg/features".to_owned(),
                    _ => String::new(),
                };
                out.push_str(&format!("Feature {}{what}{passing}\n", feature.name));
            }
            for criterion in &readiness.criteria {
                out.push_str(&format!(
                    "[{}] {}: {}\n",
                    if criterion.met { "x" } else { " " },
                    criterion.criterion,
                    criterion.detail
                ));
            }
        }
        out.push_str(&format!("Findings: {}\n", self.finding_counts()));
        for f in &self.findings {
            out.push_str(&format!(
                "  {}[{}] {}:{}: {}\n",
                f.severity,
                f.code,
                f.file.display(),
                f.line,
                f.message
            ));
        }
        out
    }
}
