//! The GEP status report (SPEC section 9): a GEP's title and status, what its next status
//! requires (from the lifecycle and the template's rules), and the validator's findings.
//! `gep-bot status N` prints it offline from a checkout; `/gep status` will answer with it.

use serde::Serialize;

use crate::gep::Status;
use crate::validate::{self, Finding, GepSet, Options, Severity, Template};

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub number: u32,
    pub title: Option<String>,
    pub status: Option<Status>,
    pub next: Vec<NextStep>,
    pub findings: Vec<Finding>,
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

impl Serialize for Status {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// The report for GEP `number` of a set, or `None` if the set has no such GEP.
pub fn report(set: &GepSet, number: u32, template: &Template) -> Option<Report> {
    let gep = set.geps.iter().find(|g| g.number == Some(number))?;
    let summary = validate::summarize(gep, template);
    let next = match (summary.status, &gep.index) {
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
    };
    let files: Vec<_> = gep
        .index
        .iter()
        .chain(gep.metadata.iter())
        .map(|s| s.path().to_path_buf())
        .collect();
    let mut findings = validate::validate(set, template, &Options::default());
    findings.retain(|f| files.contains(&f.file));
    Some(Report {
        number,
        title: summary.title,
        status: summary.status,
        next,
        findings,
    })
}

impl Report {
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
            let mut lacks: Vec<String> = step
                .sections
                .iter()
                .map(|s| format!("section `{s}`"))
                .collect();
            if step.needs_feature_name {
                lacks.push("a feature name in metadata.yaml".into());
            }
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
        let errors = self
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count();
        out.push_str(&format!(
            "Findings: {errors} error{}, {} warning{}\n",
            if errors == 1 { "" } else { "s" },
            self.findings.len() - errors,
            if self.findings.len() - errors == 1 {
                ""
            } else {
                "s"
            }
        ));
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
