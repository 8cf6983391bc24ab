//! The `GEP template` check run on pull requests that change GEPs (SPEC section 7): the changed
//! GEPs validated at the head against the same GEPs at the base ([`judge`]), so the check fails
//! only on what the pull request introduces, and says what it found that was there before. The
//! status change from the base is checked against the lifecycle. Findings become annotations on
//! the exact lines, at most [`MAX_ANNOTATIONS`] (errors first, then the lines the pull request
//! changed); the summary lists the rest.
//!
//! Pure: the files as read at head and base in, one check-run action out; [`gather`] reads them.

pub mod gather;
pub mod judge;

use std::collections::BTreeSet;

use crate::domain::gep::folder_number;
use chrono::{DateTime, Utc};

use super::capability::Capability;
use crate::capabilities::review::ReviewRules;
use crate::core::{
    Action, Annotation, Event, EventAction, EventKind, ExecError, Plan, Reads, Remembered,
    ReviewComment,
};
use crate::domain::validate::{Finding, Severity};

pub use gather::{
    CheckRules, Gathered, MAX_RELATED_READS, PullRequestTrees, features_if_listed, gather,
};
pub use judge::{Change, Evaluation, GepChange, Judged, evaluate};

pub const CHECK_NAME: &str = "GEP template";

/// The commit status that carries the result where check runs cannot be written (a token).
pub const STATUS_CONTEXT: &str = "gep/template";

/// The marker of the comment that carries the findings where check runs cannot be written.
const MARKER_KIND: &str = "gep-template";

/// Where check runs cannot be written (only a GitHub App's installation token may; a personal
/// token gets 403), the check run becomes a commit status `gep/template` and a comment of its own
/// with the summary and the findings, edited in place on the next check. (Its own comment, not
/// the lead review's: a review event, which runs no check, would edit the findings out again.)
/// Nothing else in the plan waits on it.
pub fn as_commit_status(plan: &mut Plan) {
    for action in &mut plan.actions {
        let Action::CreateCheckRun {
            repo,
            pull,
            head_sha,
            conclusion,
            title,
            summary,
            annotations,
            ..
        } = action
        else {
            continue;
        };
        let comment = Action::CreateComment {
            repo: repo.clone(),
            issue: *pull,
            marker: Action::marker(MARKER_KIND),
            body: findings_text(summary, annotations),
        };
        *action = Action::SetCommitStatus {
            repo: repo.clone(),
            sha: head_sha.clone(),
            context: STATUS_CONTEXT.into(),
            state: if conclusion == "failure" {
                "failure"
            } else {
                "success"
            }
            .into(),
            description: title.chars().take(140).collect(),
        };
        plan.actions.push(comment);
        return;
    }
}

fn findings_text(summary: &str, annotations: &[Annotation]) -> String {
    let mut out = format!("### {CHECK_NAME}\n\n{summary}\n");
    if !annotations.is_empty() {
        out.push_str("\n**Findings**\n\n");
        for a in annotations {
            let message = a.message.lines().next().unwrap_or_default();
            out.push_str(&format!(
                "- `{}:{}` {} {}: {}\n",
                crate::domain::text::sanitize(&a.path, 200),
                a.start_line,
                a.annotation_level,
                crate::domain::text::sanitize(&a.title, 100),
                crate::domain::text::sanitize(message, 300)
            ));
        }
    }
    out
}

/// Annotations a check run carries at most (one request's worth): a mass edit of ten GEPs with
/// old gaps once made 243, which no reviewer reads.
pub const MAX_ANNOTATIONS: usize = 50;

/// What the check needs: where to publish, and the pull request's GEPs on both sides.
pub struct Input<'a> {
    pub repo: &'a str,
    pub pull: u64,
    pub head_sha: &'a str,
    pub change: Change<'a>,
}

/// Whether an event asks for a check run: a pull request opened, reopened or given new commits
/// (whether it changes GEPs is known once its files are read).
pub fn wants(event: &Event) -> bool {
    event.kind == EventKind::PullRequest
        && matches!(
            event.action,
            EventAction::Opened | EventAction::Synchronize | EventAction::Reopened
        )
}

/// The `GEP template` check: where GEPs live, where the repository's template is, and whether
/// the result can be a check run (an App) or must be a commit status and a comment (a token).
pub struct TemplateCheck {
    pub geps_dir: String,
    pub rules: CheckRules,
    pub check_runs: bool,
}

impl TemplateCheck {
    pub fn new(review: &ReviewRules, rules: &CheckRules, check_runs: bool) -> TemplateCheck {
        TemplateCheck {
            geps_dir: review.geps_dir.clone(),
            rules: rules.clone(),
            check_runs,
        }
    }
}

impl Capability for TemplateCheck {
    const NAME: &'static str = "checks";
    /// Both sides of the pull request's GEPs, when it changes any.
    type Gathered = Option<Gathered>;

    fn wants(&self, event: &Event) -> bool {
        wants(event) && event.subject.is_some() && event.head_sha.is_some() && event.base_sha.is_some()
    }

    async fn gather(
        &self,
        event: &Event,
        reads: &impl Reads,
        _memory: &impl Remembered,
    ) -> Result<Option<Gathered>, ExecError> {
        let (Some(subject), Some(head), Some(base)) =
            (&event.subject, &event.head_sha, &event.base_sha)
        else {
            return Ok(None);
        };
        let files = reads
            .pull_request_files(&event.repo, subject.number)
            .await?;
        if !files.iter().any(|p| p.starts_with(&self.geps_dir)) {
            return Ok(None);
        }
        let pull = PullRequestTrees {
            repo: &event.repo,
            head_sha: head,
            base_sha: base,
            changed_paths: &files,
        };
        Ok(Some(gather(reads, &pull, &self.geps_dir, &self.rules).await?))
    }

    fn plan(&self, event: &Event, gathered: Option<Gathered>, _now: DateTime<Utc>) -> Plan {
        let (Some(gathered), Some(subject), Some(head)) =
            (gathered, &event.subject, &event.head_sha)
        else {
            return Plan::default();
        };
        let mut planned = plan(&Input {
            repo: &event.repo,
            pull: subject.number,
            head_sha: head,
            change: gathered.change(),
        });
        if !self.check_runs {
            as_commit_status(&mut planned);
        }
        planned
    }
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
    let evaluation = evaluate(&input.change);
    let errors = evaluation.errors();
    let before = evaluation.before();
    let new_notices = evaluation.count(|j| !j.before && j.finding.severity == Severity::Notice);
    let geps = evaluation.geps.len();
    let mut title = format!(
        "{errors} error{} in {geps} GEP{}",
        plural(errors),
        plural(geps)
    );
    if new_notices > 0 {
        title.push_str(&format!(", {new_notices} notice{}", plural(new_notices)));
    }
    if before > 0 {
        title.push_str(&format!(
            "; {before} finding{} existed before",
            plural(before)
        ));
    }
    let annotated = annotated(&evaluation);
    let mut plan = Plan::default();
    plan.actions.push(Action::CreateCheckRun {
        repo: input.repo.to_owned(),
        pull: input.pull,
        head_sha: input.head_sha.to_owned(),
        name: CHECK_NAME.into(),
        conclusion: if errors > 0 { "failure" } else { "success" }.into(),
        title,
        summary: summary(&evaluation, &annotated, &input.change.template.origin),
        annotations: annotated.iter().map(|j| annotation(j)).collect(),
    });
    plan.actions.extend(suggestions(input, &evaluation));
    plan
}

/// Suggestions a review carries at most: a pull request is not a place for a hundred.
pub const MAX_SUGGESTIONS: usize = 20;

/// The review that offers the fixes of what the pull request introduced, as GitHub suggestions
/// on the lines of its diff (GitHub takes review comments there only), once per head.
fn suggestions(input: &Input<'_>, evaluation: &Evaluation) -> Option<Action> {
    let comments: Vec<ReviewComment> = evaluation
        .findings
        .iter()
        .filter(|j| !j.before)
        .filter_map(|j| Some((&j.finding, j.finding.fix.as_ref()?)))
        .filter(|(_, fix)| {
            let changed = evaluation.changed_lines.get(&fix.file);
            (fix.line..=fix.last_line()).all(|n| changed.is_some_and(|c| c.contains(&n)))
        })
        .take(MAX_SUGGESTIONS)
        .map(|(finding, fix)| ReviewComment {
            path: fix.file.to_string_lossy().into_owned(),
            start_line: (fix.last_line() > fix.line).then_some(fix.line),
            line: fix.last_line(),
            body: suggestion(finding, &fix.with),
        })
        .collect();
    if comments.is_empty() {
        return None;
    }
    let n = comments.len();
    Some(Action::SuggestChanges {
        repo: input.repo.to_owned(),
        pull: input.pull,
        head_sha: input.head_sha.to_owned(),
        marker: Action::marker(&format!("suggestions {}", input.head_sha)),
        body: format!(
            "The `{CHECK_NAME}` check found {n} problem{} this pull request introduces that \
             need{} no judgement to fix: each suggestion below applies with a click \
             (\"Commit suggestion\"), or run `gep-bot validate --fix` in a checkout.",
            plural(n),
            if n == 1 { "s" } else { "" }
        ),
        comments,
    })
}

/// A review comment's text: the finding, then the lines that fix it in a fence GitHub reads as
/// a suggestion (longer than any backtick run in them, so the lines cannot close it).
fn suggestion(finding: &Finding, with: &[String]) -> String {
    let longest = with
        .iter()
        .flat_map(|l| l.split(|c| c != '`'))
        .map(str::len)
        .max()
        .unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    format!(
        "**{}** {}\n\n{fence}suggestion\n{}\n{fence}",
        finding.code,
        crate::domain::text::sanitize(&finding.message, 300),
        with.join("\n")
    )
}

/// The findings a check run annotates: errors first, then those on lines the pull request
/// changed, then the rest, at most [`MAX_ANNOTATIONS`]. Within each, every kind of finding is
/// shown once before any is shown twice, so sixty placeholders do not crowd out the one
/// lifecycle error.
pub fn annotated(evaluation: &Evaluation) -> Vec<&Judged> {
    let rank = |j: &Judged| (j.finding.severity != Severity::Error, !j.on_changed_line);
    let mut seen: std::collections::BTreeMap<_, usize> = std::collections::BTreeMap::new();
    let mut ranked: Vec<(_, usize, &Judged)> = evaluation
        .findings
        .iter()
        .map(|j| {
            let count = seen.entry((rank(j), j.finding.code)).or_default();
            *count += 1;
            (rank(j), *count, j)
        })
        .collect();
    ranked.sort_by_key(|(rank, occurrence, _)| (*rank, *occurrence));
    ranked
        .into_iter()
        .take(MAX_ANNOTATIONS)
        .map(|(_, _, j)| j)
        .collect()
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn summary(evaluation: &Evaluation, annotated: &[&Judged], origin: &str) -> String {
    let mut out =
        String::from("| GEP | Status | New errors | Existed before |\n|---|---|---|---|\n");
    for gep in &evaluation.geps {
        let of_gep = |which: &dyn Fn(&Judged) -> bool| {
            evaluation.count(|j| judge::gep_of(&j.finding.file) == Some(gep.number) && which(j))
        };
        let to = gep.to.map_or("no status".to_owned(), |s| s.to_string());
        let mut status = match gep.from {
            Some(from) if Some(from) != gep.to => format!("{from} → {to}"),
            Some(_) => to,
            None if gep.renamed_from.is_some() => to,
            None => format!("new, {to}"),
        };
        if let Some(old) = gep.renamed_from {
            status.push_str(&format!(" (renamed from GEP-{old})"));
        }
        out.push_str(&format!(
            "| GEP-{} | {status} | {} | {} |\n",
            gep.number,
            of_gep(&|j| j.finding.severity == Severity::Error),
            of_gep(&|j| j.before),
        ));
    }
    out.push_str(&format!("\nRules: {origin}.\n\n"));
    out.push_str(
        "Only what this pull request introduces fails the check: a finding the base commit \
         did not have. Sections a status promotion asks for that were missing before are \
         warnings. ",
    );
    let before = evaluation.before();
    if before > 0 {
        out.push_str(&format!(
            "{before} finding{} existed before this pull request; {} shown as notices and do \
             not fail it.",
            plural(before),
            if before == 1 { "it is" } else { "they are" }
        ));
    }
    for gep in &evaluation.geps {
        let owed: Vec<String> = evaluation
            .findings
            .iter()
            .filter(|j| j.owed_before && judge::gep_of(&j.finding.file) == Some(gep.number))
            .filter_map(|j| j.finding.message.split('`').nth(1))
            .map(|section| format!("`{section}`"))
            .collect();
        if let (false, Some(to)) = (owed.is_empty(), gep.to) {
            out.push_str(&format!(
                "\n\nGEP-{} moves to {to}, which asks for {} section{} that {} missing before \
                 this pull request too: {}. They are warnings, not failures: write them when the \
                 GEP is next revised.",
                gep.number,
                owed.len(),
                plural(owed.len()),
                if owed.len() == 1 { "was" } else { "were" },
                owed.join(", ")
            ));
        }
    }
    let rest: Vec<&Judged> = evaluation
        .findings
        .iter()
        .filter(|j| !annotated.iter().any(|a| std::ptr::eq(*a, *j)))
        .collect();
    if !rest.is_empty() {
        out.push_str(&format!(
            "\n\n{} more finding{} not annotated (a check run shows at most {MAX_ANNOTATIONS}):\n\n",
            rest.len(),
            plural(rest.len())
        ));
        for judged in rest.iter().take(100) {
            let f = &judged.finding;
            out.push_str(&format!(
                "- `{}:{}` {} {}: {}\n",
                f.file.display(),
                f.line,
                f.severity,
                f.code,
                f.message.replace('\n', " ")
            ));
        }
        if rest.len() > 100 {
            out.push_str(&format!("- ... and {} more\n", rest.len() - 100));
        }
    }
    out.push_str(
        "\n\nRun `gep-bot validate --base <base branch>` in a checkout to see the same judgement locally.\n",
    );
    out
}

fn annotation(judged: &Judged) -> Annotation {
    let finding: &Finding = &judged.finding;
    let title = if judged.before {
        format!("{} (existed before this pull request)", finding.code)
    } else {
        finding.code.as_str().to_owned()
    };
    Annotation {
        path: finding.file.to_string_lossy().into_owned(),
        start_line: finding.line,
        end_line: finding.line,
        start_column: finding.column,
        end_column: finding.column,
        annotation_level: match finding.severity {
            Severity::Error => "failure",
            Severity::Warning => "warning",
            Severity::Notice => "notice",
        }
        .into(),
        title,
        message: format!("{}\nhelp: {}", finding.message, finding.hint),
    }
}

#[cfg(test)]
mod tests;
