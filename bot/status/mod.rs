//! The GEP status report (SPEC section 9): a GEP's title and status, what its next status
//! requires (from the lifecycle and the template's rules), and the validator's findings.
//! `gep-bot status N` prints it offline from a checkout; `/gep status [N]` answers with it in one
//! comment, edited on the next request, with the open pull requests that touch the GEP.

pub mod readiness;

use serde::Serialize;

use crate::commands::{Command, HelpEntry};
use crate::gep::Status;
use crate::github::{Action, Event, ExecError, Plan, Reads};
use crate::review::{self, ReviewRules};
use crate::store::Store;
use crate::text::sanitize;
use crate::validate::{self, Finding, GepFiles, GepSet, Options, Severity, SourceText, Template};

pub const HELP: &[HelpEntry] = &[HelpEntry {
    usage: "/gep status [N]",
    description: "reports GEP-N (in issue N, that GEP): its status, what its next status needs, the open pull requests that touch it, its findings",
    who: "anyone",
}];

/// The GEP a comment asks about with `/gep status [N]` (in issue N when no number is given).
pub fn wants(event: &Event) -> Option<u32> {
    let comment = event.comment.as_ref()?;
    if event.name != "issue_comment" || !matches!(event.action.as_str(), "created" | "edited") {
        return None;
    }
    let issue = event.subject.as_ref()?.number;
    comment.commands.iter().find_map(|command| match command {
        Command::GepStatus(n) => u32::try_from(n.unwrap_or(issue)).ok(),
        _ => None,
    })
}

/// `/gep status [N]`: the report on GEP-N as the default branch has it, with the open pull
/// requests that touch it and their lead-review standing, in one comment.
pub async fn handle(
    event: &Event,
    rules: &ReviewRules,
    template: &Template,
    dashboard: Option<&crate::dashboard::served::Page>,
    reads: &impl Reads,
    store: &impl Store,
) -> Result<Plan, ExecError> {
    let (Some(number), Some(subject)) = (wants(event), &event.subject) else {
        return Ok(Plan::default());
    };
    let repo = event.repo.as_str();
    let dir = &rules.geps_dir;
    let folder = format!("{dir}gep-{number}");
    let read = async |name: &str| -> Result<Option<SourceText>, ExecError> {
        let path = format!("{folder}/{name}");
        Ok(reads
            .file_at(repo, &path, "")
            .await?
            .map(|t| SourceText::new(path, t)))
    };
    let (index, metadata) = (read("index.md").await?, read("metadata.yaml").await?);
    let report = if index.is_none() && metadata.is_none() {
        None
    } else {
        let set = GepSet {
            geps: vec![GepFiles {
                dir: folder.clone().into(),
                number: Some(number),
                index,
                metadata,
                checked: true,
            }],
            only_files: None,
        };
        let known = reads
            .folder_at(repo, dir.trim_end_matches('/'), "")
            .await?
            .iter()
            .filter_map(|name| crate::gep::folder_number(name))
            .collect();
        let options = Options {
            known_elsewhere: known,
            features: crate::checks::features_if_listed(reads, repo, dir, &set, "").await?,
            ..Options::default()
        };
        report(&set, number, template, &options).map(|mut report| {
            // What the default branch says. The conformance reports and the history are not
            // read per request: they are the served dashboard's, where it has read them, and
            // otherwise implementations and time in status are left unsaid.
            let gep = &set.geps[0];
            let summary = validate::summarize(gep, template);
            let around = readiness::Around {
                features: options.features.as_ref(),
                conformance: dashboard.map(|page| &page.conformance),
                in_status_since: dashboard
                    .and_then(|page| page.history.get(&number))
                    .and_then(|history| history.in_status_since),
                today: chrono::Utc::now().date_naive(),
            };
            let facts = readiness::Facts::of(gep, &summary, report.next.last(), around);
            report.readiness = Some(readiness::readiness(&facts));
            report
        })
    };
    let mut pulls = Vec::new();
    let open = reads.open_pulls_touching(repo, &folder).await?;
    // Whose approvals count is the repository's word, needed only when there are pull requests.
    let rules = &if open.is_empty() {
        rules.clone()
    } else {
        rules.of_repository(repo, reads).await?
    };
    for pull in open {
        let state = store.review(repo, pull).await?;
        pulls.push(OpenPull {
            number: pull,
            review: review::standing(state.as_ref(), rules),
        });
    }
    let mut plan = Plan::default();
    plan.actions.push(Action::CreateComment {
        repo: repo.to_owned(),
        issue: subject.number,
        marker: Action::marker(&format!("gep-status-{number}")),
        body: reply(number, report.as_ref(), &pulls),
    });
    Ok(plan)
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::{GepFiles, SourceText};

    fn set(title: &str) -> GepSet {
        GepSet {
            geps: vec![GepFiles {
                dir: "geps/gep-7".into(),
                number: Some(7),
                index: Some(SourceText::new(
                    "geps/gep-7/index.md",
                    format!(
                        "---\ntitle: \"GEP-7: {title}\"\n---\n\n* Issue: [#7](u/7)\n* Status: Provisional\n\n## TLDR\n\nx\n"
                    ),
                )),
                metadata: None,
                checked: true,
            }],
            only_files: None,
        }
    }

    #[test]
    fn the_reply_reports_status_next_steps_pulls_and_findings() {
        let report = report(&set("Mesh"), 7, &Template::builtin(), &Options::default()).unwrap();
        let text = reply(
            7,
            Some(&report),
            &[OpenPull {
                number: 12,
                review: "approved 2/2".into(),
            }],
        );
        assert!(
            text.starts_with("### GEP-7: Mesh\n\n**Status:** Provisional"),
            "{text}"
        );
        assert!(
            text.contains("**Next: Implementable** — needs section *Goals*"),
            "{text}"
        );
        assert!(
            text.contains("**Open pull requests**: #12 (approved 2/2)"),
            "{text}"
        );
        assert!(
            text.contains("`GEP001`"),
            "the missing metadata.yaml: {text}"
        );
        assert!(reply(8, None, &[]).contains("no GEP-8"));
    }

    #[test]
    fn a_hostile_title_cannot_ping_and_is_cut() {
        let long = format!("@team {}", "x".repeat(10_000));
        let report = report(&set(&long), 7, &Template::builtin(), &Options::default()).unwrap();
        let text = reply(7, Some(&report), &[]);
        assert!(!text.contains("@team"), "mention survived");
        assert!(
            text.lines().next().unwrap().chars().count() < 400,
            "title not cut"
        );
    }
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
    fn lacks(&self, section: impl Fn(&str) -> String, feature_name: &str) -> Vec<String> {
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

/// An open pull request that touches the GEP, with its lead-review standing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenPull {
    pub number: u64,
    pub review: String,
}

/// The `/gep status` reply: the report as markdown, or why there is none. Text from documents is
/// sanitised (it cannot ping anyone or break the comment) and cut.
pub fn reply(number: u32, report: Option<&Report>, pulls: &[OpenPull]) -> String {
    let Some(report) = report else {
        return format!(
            "There is no GEP-{number} on the default branch (no `geps/gep-{number}/`)."
        );
    };
    let mut out = format!(
        "### GEP-{number}: {}\n\n**Status:** {}\n\n",
        sanitize(report.title.as_deref().unwrap_or("(no title)"), 300),
        report.status.map_or("unknown", Status::as_str)
    );
    if report.next.is_empty() {
        out.push_str("**Next:** none, this status is final.\n");
    }
    for step in &report.next {
        let lacks = step.lacks(
            |s| format!("section *{}*", sanitize(s, 100)),
            "a feature name in `metadata.yaml`",
        );
        if lacks.is_empty() {
            out.push_str(&format!(
                "**Next: {}** — the template requires nothing more.\n",
                step.status
            ));
        } else {
            out.push_str(&format!(
                "**Next: {}** — needs {}.\n",
                step.status,
                lacks.join(", ")
            ));
        }
    }
    if let Some(readiness) = &report.readiness
        && !readiness.criteria.is_empty()
    {
        let next = report
            .next
            .last()
            .map_or("the next status", |n| n.status.as_str());
        out.push_str(&format!("\n**Ready for {next}?**\n"));
        for criterion in &readiness.criteria {
            out.push_str(&format!(
                "- [{}] {}: {}\n",
                if criterion.met { "x" } else { " " },
                sanitize(&criterion.criterion, 200),
                sanitize(&criterion.detail, 300)
            ));
        }
    }
    out.push_str("\n**Open pull requests**: ");
    if pulls.is_empty() {
        out.push_str("none.\n");
    } else {
        let listed: Vec<String> = pulls
            .iter()
            .map(|p| format!("#{} ({})", p.number, sanitize(&p.review, 100)))
            .collect();
        out.push_str(&listed.join(", "));
        out.push('\n');
    }
    let errors = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    out.push_str(&format!(
        "\n**Findings on the default branch:** {errors} error{}, {} warning{}\n",
        if errors == 1 { "" } else { "s" },
        report.findings.len() - errors,
        if report.findings.len() - errors == 1 {
            ""
        } else {
            "s"
        }
    ));
    for f in report.findings.iter().take(20) {
        out.push_str(&format!(
            "- `{}` {}:{} — {}\n",
            f.code,
            sanitize(&f.file.to_string_lossy(), 200),
            f.line,
            sanitize(&f.message, 300)
        ));
    }
    if report.findings.len() > 20 {
        out.push_str(&format!(
            "- … and {} more: run `gep-bot status {number}` in a checkout.\n",
            report.findings.len() - 20
        ));
    }
    out
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

#[cfg(test)]
mod gathering {
    use super::*;
    use crate::github::event::{Comment, SubjectKind};
    use crate::github::{Actor, MemoryPull, MemoryRepo, Subject};
    use crate::memory::{ReviewState, StateChange, Vote};
    use crate::store::SqliteStore;

    fn asking(body: &str) -> Event {
        let person = Actor {
            login: "someone".into(),
            kind: "User".into(),
        };
        Event {
            name: "issue_comment".into(),
            action: "created".into(),
            repo: "o/r".into(),
            installation: None,
            sender: person.clone(),
            subject: Some(Subject {
                kind: SubjectKind::Issue,
                number: 3949,
                node_id: String::new(),
                title: String::new(),
                body: String::new(),
                labels: Vec::new(),
                author: person.clone(),
            }),
            comment: Some(Comment::new(1, body.into(), None, person, String::new())),
            ..Event::default()
        }
    }

    #[tokio::test]
    async fn status_reads_the_default_branch_and_the_open_pull_requests_standing() {
        let mut repo = MemoryRepo::default();
        repo.put(
            "",
            "geps/gep-3949/index.md",
            "---\ntitle: \"GEP-3949: Mesh Resource\"\n---\n\n* Issue: [#3949](https://github.com/o/r/issues/3949)\n* Status: Provisional\n\n## TLDR\n\nA Mesh resource.\n",
        );
        repo.put(
            "",
            "geps/gep-3949/metadata.yaml",
            "apiVersion: internal.gateway.networking.k8s.io/v1alpha1\nkind: GEPDetails\nnumber: 3949\nname: Mesh Resource\nstatus: Provisional\nauthors: [mikemorris]\n",
        );
        for open in [12, 13] {
            repo.pulls.insert(
                open,
                MemoryPull {
                    files: vec!["geps/gep-3949/index.md".into()],
                    open: true,
                    ..MemoryPull::default()
                },
            );
        }
        let store = SqliteStore::open("sqlite::memory:").await.unwrap();
        let mut state = ReviewState::default();
        state.votes.insert("howardjohn".into(), Vote::Approved);
        store
            .apply(&[StateChange::SaveReview {
                repo: "o/r".into(),
                number: 12,
                state,
            }])
            .await
            .unwrap();
        let rules = ReviewRules::default();
        let plan = handle(
            &asking("/gep status"),
            &rules,
            &Template::builtin(),
            None,
            &repo,
            &store,
        )
        .await
        .unwrap();
        let [
            Action::CreateComment {
                issue: 3949,
                marker,
                body,
                ..
            },
        ] = plan.actions.as_slice()
        else {
            panic!("{plan:?}");
        };
        assert_eq!(marker, "<!-- gep-bot:gep-status-3949 -->");
        assert!(body.contains("### GEP-3949: Mesh Resource"), "{body}");
        assert!(
            body.contains("#12 (lead review pending, 1/2 approvals)"),
            "{body}"
        );
        assert!(body.contains("#13 (lead review not started)"), "{body}");
        // Another GEP by number, which the default branch does not have.
        let plan = handle(
            &asking("/gep status 1"),
            &rules,
            &Template::builtin(),
            None,
            &repo,
            &store,
        )
        .await
        .unwrap();
        let [Action::CreateComment { body, .. }] = plan.actions.as_slice() else {
            panic!("{plan:?}");
        };
        assert!(
            body.starts_with("There is no GEP-1 on the default branch"),
            "{body}"
        );
        assert!(
            handle(
                &asking("/gep help"),
                &rules,
                &Template::builtin(),
                None,
                &repo,
                &store
            )
            .await
            .unwrap()
            .is_empty()
        );
    }
}
