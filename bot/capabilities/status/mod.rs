//! The GEP status report (SPEC section 9): a GEP's title and status, what its next status
//! requires (from the lifecycle and the template's rules), and the validator's findings.
//! `gep-bot status N` prints it offline from a checkout; `/gep status [N]` answers with it in one
//! comment, edited on the next request, with the open pull requests that touch the GEP.




use crate::domain::commands::{Command, HelpEntry, usage};
use crate::domain::gep::Status;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::capability::Capability;
use crate::capabilities::checks::features_if_listed;
use crate::capabilities::review::{self, ReviewRules};
use crate::core::{Action, Event, EventAction, EventKind, ExecError, Plan, Reads, Remembered};
use crate::domain::gep::features::Features;
use crate::domain::standing::{Report, readiness, report};
use crate::domain::text::sanitize;
use crate::domain::validate::{self, GepFiles, GepSet, Options, SourceText, Template};
use crate::products::dashboard::served::{Page, Served};

pub const HELP: &[HelpEntry] = &[HelpEntry {
    usage: usage::GEP_STATUS,
    description: "reports GEP-N (in issue N, that GEP): its status, what its next status needs, the open pull requests that touch it, its findings",
    who: "anyone",
}];

/// The GEP a comment asks about with `/gep status [N]` (in issue N when no number is given).
pub fn wants(event: &Event) -> Option<u32> {
    let comment = event.comment.as_ref()?;
    if event.kind != EventKind::IssueComment
        || !matches!(event.action, EventAction::Created | EventAction::Edited)
    {
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
pub struct GepStatus {
    pub rules: ReviewRules,
    pub template: Template,
    /// The served dashboard, when there is one: its conformance reports and history.
    pub dashboard: Option<Arc<Served>>,
}

impl GepStatus {
    pub fn new(rules: &ReviewRules, dashboard: Option<Arc<Served>>) -> GepStatus {
        GepStatus {
            rules: rules.clone(),
            template: Template::builtin(),
            dashboard,
        }
    }
}

/// What the reply is made of: the GEP as the default branch has it, and the open pull requests
/// that touch it.
pub struct Gathered {
    pub number: u32,
    /// The GEP's report (without readiness, which depends on the day), its files and summary.
    pub found: Option<Found>,
    /// The dashboard's page of the repository, for conformance reports and time in status.
    pub page: Option<Arc<Page>>,
    pub pulls: Vec<OpenPull>,
}

pub struct Found {
    pub report: Report,
    pub gep: GepFiles,
    pub summary: validate::GepSummary,
    pub features: Option<Features>,
}

impl Capability for GepStatus {
    const NAME: &'static str = "status";
    const HELP: &'static [HelpEntry] = HELP;
    type Gathered = Gathered;

    fn wants(&self, event: &Event) -> bool {
        event.subject.is_some() && wants(event).is_some()
    }

    async fn gather(
        &self,
        event: &Event,
        reads: &impl Reads,
        memory: &impl Remembered,
    ) -> Result<Gathered, ExecError> {
        let number = wants(event).unwrap_or_default();
        let repo = event.repo.as_str();
        let dir = &self.rules.geps_dir;
        let folder = format!("{dir}gep-{number}");
        let read = async |name: &str| -> Result<Option<SourceText>, ExecError> {
            let path = format!("{folder}/{name}");
            Ok(reads
                .file_at(repo, &path, "")
                .await?
                .map(|t| SourceText::new(path, t)))
        };
        let (index, metadata) =
            futures::future::try_join(read("index.md"), read("metadata.yaml")).await?;
        let found = if index.is_none() && metadata.is_none() {
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
                .filter_map(|name| crate::domain::gep::folder_number(name))
                .collect();
            let options = Options {
                known_elsewhere: known,
                features: features_if_listed(reads, repo, dir, &set, "").await?,
                ..Options::default()
            };
            report(&set, number, &self.template, &options).map(|report| {
                let gep = set.geps.into_iter().next().expect("the set holds the GEP");
                let summary = validate::summarize(&gep, &self.template);
                Found {
                    report,
                    gep,
                    summary,
                    features: options.features,
                }
            })
        };
        let mut pulls = Vec::new();
        let open = reads.open_pulls_touching(repo, &folder).await?;
        // Whose approvals count is the repository's word, needed only when there are pull
        // requests.
        let rules = &if open.is_empty() {
            self.rules.clone()
        } else {
            self.rules.of_repository(repo, reads).await?
        };
        for pull in open {
            let state = memory.review(repo, pull).await?;
            pulls.push(OpenPull {
                number: pull,
                review: review::standing(state.as_ref(), rules),
            });
        }
        let page = self.dashboard.as_ref().and_then(|d| d.page_of(repo));
        Ok(Gathered {
            number,
            found,
            page,
            pulls,
        })
    }

    fn plan(&self, event: &Event, gathered: Gathered, now: DateTime<Utc>) -> Plan {
        let Some(subject) = &event.subject else {
            return Plan::default();
        };
        let Gathered {
            number,
            found,
            page,
            pulls,
        } = gathered;
        let report = found.map(|found| {
            let Found {
                mut report,
                gep,
                summary,
                features,
            } = found;
            // What the default branch says. The conformance reports and the history are not
            // read per request: they are the served dashboard's, where it has read them, and
            // otherwise implementations and time in status are left unsaid.
            let around = readiness::Around {
                features: features.as_ref(),
                conformance: page.as_deref().map(|page| &page.conformance),
                in_status_since: page
                    .as_deref()
                    .and_then(|page| page.history.get(&number))
                    .and_then(|history| history.in_status_since),
                today: now.date_naive(),
            };
            let facts = readiness::Facts::of(&gep, &summary, report.next.last(), around);
            report.readiness = Some(readiness::readiness(&facts));
            report
        });
        let mut plan = Plan::default();
        plan.actions.push(Action::CreateComment {
            repo: event.repo.clone(),
            issue: subject.number,
            marker: Action::marker(&format!("gep-status-{number}")),
            body: reply(number, report.as_ref(), &pulls),
        });
        plan
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
            out.push_str(&criterion.checklist_line());
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
    out.push_str(&format!(
        "\n**Findings on the default branch:** {}\n",
        report.finding_counts()
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


#[cfg(test)]
mod gathering {
    use super::*;
    use crate::core::event::SubjectKind;
    use crate::core::{Actor, MemoryPull, MemoryRepo, Subject};
    use crate::core::state::{ReviewState, StateChange, Vote};
    use crate::machinery::store::{SqliteStore, Store};

    fn asking(body: &str) -> Event {
        let person = Actor {
            login: "someone".into(),
            kind: "User".into(),
        };
        Event::new(EventKind::IssueComment, EventAction::Created, "o/r")
            .sent_by(person.clone())
            .on(Subject::new(SubjectKind::Issue, 3949, person))
            .with_comment(1, body, None)
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
        let plan = GepStatus::new(&rules, None).run(&asking("/gep status"), &repo, &store, crate::capabilities::capability::test_now())
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
        let plan = GepStatus::new(&rules, None).run(&asking("/gep status 1"), &repo, &store, crate::capabilities::capability::test_now())
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
            GepStatus::new(&rules, None).run(&asking("/gep help"), &repo, &store, crate::capabilities::capability::test_now())
            .await
            .unwrap()
            .is_empty()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::validate::{GepFiles, SourceText};

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
