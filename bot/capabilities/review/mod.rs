//! Lead review of GEP pull requests (SPEC section 8): who of the initiative leads approved, who
//! asked for changes, which concerns are open, and so whether the pull request has its quorum.
//!
//! Pure: the pull request, the rules, the stored state and one event in; the new state and the
//! actions (one status comment edited in place, a commit status, two labels) out. The same fold
//! rebuilds the state from GitHub's reviews and comments when the store has none.

mod render;

use serde::Deserialize;

use crate::domain::commands::{Command, HelpEntry, usage};
pub use crate::core::Happening;
use chrono::{DateTime, Utc};

use super::capability::Capability;
use crate::core::{
    Action, Event, EventAction, EventKind, ExecError, LabelTarget, Plan, Reads, Remembered,
};
use crate::core::state::{Activity, ActivityKind};
pub use crate::core::state::{Concern, ReviewState, StateChange, Vote};

use crate::domain::text::sanitize;

pub const HELP: &[HelpEntry] = &[
    HelpEntry {
        usage: usage::GEP_APPROVE,
        description: "approves the GEP pull request as a lead (counts toward the quorum)",
        who: "GEP leads, not on their own pull request",
    },
    HelpEntry {
        usage: usage::GEP_APPROVE_CANCEL,
        description: "withdraws your approval",
        who: "GEP leads",
    },
    HelpEntry {
        usage: usage::GEP_CONCERN,
        description: "raises a named concern that blocks the pull request until resolved",
        who: "GEP leads",
    },
    HelpEntry {
        usage: usage::GEP_RESOLVE,
        description: "resolves a concern",
        who: "GEP leads",
    },
];

pub const STATUS_CONTEXT: &str = "gep/lead-review";
pub const NEEDS_REVIEW: &str = "gep/needs-lead-review";
pub const APPROVED: &str = "gep/lead-approved";
/// The marker kind of the status comment.
pub const MARKER_KIND: &str = "lead-review";

/// Who reviews GEPs and how many approvals a pull request needs. `bot.toml`: `[review]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReviewRules {
    /// The leads when the repository names none (no `OWNERS_ALIASES`, or no such alias).
    pub leads: Vec<String>,
    /// The alias in the repository's `OWNERS_ALIASES` that lists the leads.
    pub leads_alias: String,
    pub quorum: usize,
    /// Pull requests that change files under this folder are GEP pull requests.
    pub geps_dir: String,
    /// Ask GitHub for a review from each lead who has yet to vote (once per lead and pull
    /// request), so the pull request is in their review queue.
    pub request_reviews: bool,
    /// Where `leads` came from, as the status comment says it.
    #[serde(skip)]
    pub leads_from: String,
}

/// The repository's record of its leads, at the root of the default branch.
pub const OWNERS_ALIASES: &str = "OWNERS_ALIASES";

impl Default for ReviewRules {
    fn default() -> Self {
        ReviewRules {
            // Upstream's `gateway-api-mesh-leads` (keithmattix is emeritus).
            leads: ["howardjohn", "mikemorris", "kflynn", "LiorLieberman"]
                .map(String::from)
                .to_vec(),
            leads_alias: "gateway-api-mesh-leads".into(),
            quorum: 2,
            geps_dir: "geps/".into(),
            request_reviews: true,
            leads_from: "`[review] leads` in the bot's configuration".into(),
        }
    }
}

impl ReviewRules {
    /// The rules with the leads the repository's `OWNERS_ALIASES` names under `leads_alias`,
    /// when it names any; these rules as they are otherwise.
    pub fn with_owners_aliases(&self, owners_aliases: Option<&str>) -> ReviewRules {
        let named: Option<Vec<String>> = owners_aliases
            .and_then(|text| serde_yaml_ng::from_str::<serde_yaml_ng::Value>(text).ok())
            .and_then(|yaml| {
                let list = yaml
                    .get("aliases")?
                    .get(self.leads_alias.as_str())?
                    .as_sequence()?
                    .clone();
                Some(
                    list.iter()
                        .filter_map(|l| l.as_str().map(str::to_owned))
                        .collect(),
                )
            })
            .filter(|leads: &Vec<String>| !leads.is_empty());
        match named {
            Some(leads) => ReviewRules {
                leads,
                leads_from: format!("`{}` in `{OWNERS_ALIASES}`", self.leads_alias),
                ..self.clone()
            },
            None => self.clone(),
        }
    }

    /// The rules with the repository's leads, read from its default branch (a conditional
    /// request, so reading it on every event costs no rate limit, and a push that changes the
    /// file is seen at the next event).
    pub async fn of_repository(
        &self,
        repo: &str,
        reads: &impl crate::core::Trees,
    ) -> Result<ReviewRules, ExecError> {
        let text = reads.file_at(repo, OWNERS_ALIASES, "").await?;
        Ok(self.with_owners_aliases(text.as_deref()))
    }

    pub fn is_lead(&self, login: &str) -> bool {
        self.leads.iter().any(|l| l.eq_ignore_ascii_case(login))
    }

    pub fn touches_geps(&self, paths: &[String]) -> bool {
        paths.iter().any(|p| p.starts_with(&self.geps_dir))
    }
}

/// The pull request as the plan needs it (read by the gathering when the event lacks it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    pub repo: String,
    pub number: u64,
    pub author: String,
    pub head_sha: String,
    pub labels: Vec<String>,
    pub changed_paths: Vec<String>,
}

impl ReviewState {
    /// The state GitHub's history implies: every review and comment folded in order.
    pub fn rebuild(history: &[Happening], pr: &PullRequest, rules: &ReviewRules) -> ReviewState {
        let mut state = ReviewState::default();
        for happening in history {
            state.apply(happening, pr, rules);
        }
        state
    }

    /// Folds one happening in; returns the replies owed (a command someone may not use, help).
    fn apply(
        &mut self,
        happening: &Happening,
        pr: &PullRequest,
        rules: &ReviewRules,
    ) -> Vec<String> {
        let is_reviewing_lead =
            |login: &str| rules.is_lead(login) && !login.eq_ignore_ascii_case(&pr.author);
        match happening {
            Happening::Review { author, state } if is_reviewing_lead(author) => {
                match state.as_str() {
                    "APPROVED" | "approved" => {
                        self.votes.insert(author.to_lowercase(), Vote::Approved);
                    }
                    "CHANGES_REQUESTED" | "changes_requested" => {
                        self.votes
                            .insert(author.to_lowercase(), Vote::ChangesRequested);
                    }
                    // A comment-only review changes nobody's standing.
                    _ => {}
                }
                Vec::new()
            }
            Happening::ReviewDismissed { author } => {
                self.votes.remove(&author.to_lowercase());
                Vec::new()
            }
            Happening::Comment {
                author,
                commands,
                url,
            } if !author.is_bot() => {
                let mut replies = Vec::new();
                for command in commands.iter().cloned() {
                    if let Some(reply) = self.command(command, &author.login, url, pr, rules) {
                        replies.push(reply);
                    }
                }
                replies
            }
            _ => Vec::new(),
        }
    }

    fn command(
        &mut self,
        command: Command,
        login: &str,
        url: &str,
        pr: &PullRequest,
        rules: &ReviewRules,
    ) -> Option<String> {
        let lead_only = matches!(
            command,
            Command::GepApprove
                | Command::GepApproveCancel
                | Command::GepConcern(_)
                | Command::GepResolve(_)
        );
        if lead_only && !rules.is_lead(login) {
            return Some(render::not_allowed(&command, rules));
        }
        let who = login.to_lowercase();
        match command {
            Command::GepApprove if login.eq_ignore_ascii_case(&pr.author) => Some(
                "Your own approval of your pull request does not count toward the quorum.".into(),
            ),
            Command::GepApprove => {
                self.votes.insert(who, Vote::Approved);
                None
            }
            Command::GepApproveCancel => {
                if self.votes.get(&who) == Some(&Vote::Approved) {
                    self.votes.remove(&who);
                }
                None
            }
            Command::GepConcern(name) => {
                match self
                    .concerns
                    .iter_mut()
                    .find(|c| c.name.eq_ignore_ascii_case(&name))
                {
                    Some(concern) => {
                        concern.open = true;
                        concern.raised_by = login.to_owned();
                        concern.url = url.to_owned();
                    }
                    None => self.concerns.push(Concern {
                        name,
                        raised_by: login.to_owned(),
                        url: url.to_owned(),
                        open: true,
                    }),
                }
                None
            }
            Command::GepResolve(name) => match self
                .concerns
                .iter_mut()
                .find(|c| c.name.eq_ignore_ascii_case(&name) && c.open)
            {
                Some(concern) => {
                    concern.open = false;
                    None
                }
                None => Some(format!(
                    "There is no open concern named `{}`.",
                    sanitize(&name, 100)
                )),
            },
            _ => None,
        }
    }

    /// The approvals of those who are leads now (a vote stored while someone was a lead stops
    /// counting when the repository's list no longer names them), excluding withdrawn ones.
    pub fn approvals(&self, rules: &ReviewRules) -> usize {
        self.votes_of_leads(rules)
            .filter(|v| *v == Vote::Approved)
            .count()
    }

    fn votes_of_leads<'s>(&'s self, rules: &'s ReviewRules) -> impl Iterator<Item = Vote> + 's {
        self.votes
            .iter()
            .filter(|(who, _)| rules.is_lead(who))
            .map(|(_, vote)| *vote)
    }

    /// The leads who have not voted, in the repository's order (never the author, who does not
    /// review their own pull request).
    pub fn pending<'r>(&self, rules: &'r ReviewRules, author: &str) -> Vec<&'r str> {
        rules
            .leads
            .iter()
            .map(String::as_str)
            .filter(|lead| !self.votes.contains_key(*lead) && !lead.eq_ignore_ascii_case(author))
            .collect()
    }

    pub fn is_approved(&self, rules: &ReviewRules) -> bool {
        self.approvals(rules) >= rules.quorum
            && !self
                .votes_of_leads(rules)
                .any(|v| v == Vote::ChangesRequested)
            && !self.concerns.iter().any(|c| c.open)
    }
}

/// The commands of the lead review: on a GEP pull request, and for the leads.
pub fn is_review_command(command: &Command) -> bool {
    matches!(
        command,
        Command::GepApprove
            | Command::GepApproveCancel
            | Command::GepConcern(_)
            | Command::GepResolve(_)
    )
}

/// Whether an event can change a pull request's review (so its review is gathered): a `/gep
/// status` or `/area mesh` on a GEP pull request does not.
pub fn concerns_review(event: &Event) -> bool {
    let on_pull_request = event
        .subject
        .as_ref()
        .is_some_and(|s| s.kind == crate::core::event::SubjectKind::PullRequest);
    if !on_pull_request || event.sender.is_bot() {
        return false;
    }
    use EventAction as A;
    match (&event.kind, &event.action) {
        (
            EventKind::PullRequest,
            A::Opened | A::Synchronize | A::Reopened | A::ReadyForReview | A::Closed,
        ) => true,
        (EventKind::PullRequestReview, A::Submitted | A::Dismissed) => true,
        (EventKind::IssueComment, A::Created | A::Edited) => event
            .comment
            .as_ref()
            .is_some_and(|c| c.commands.iter().any(is_review_command)),
        _ => false,
    }
}

/// How a stored review stands, in a few words (`/gep status` lists it beside each pull request).
pub fn standing(state: Option<&ReviewState>, rules: &ReviewRules) -> String {
    match state {
        Some(state) => {
            let word = if state.is_approved(rules) {
                "lead-approved"
            } else {
                "lead review pending"
            };
            format!(
                "{word}, {}/{} approvals",
                state.approvals(rules),
                rules.quorum
            )
        }
        None => "lead review not started".into(),
    }
}

/// The lead review of GEP pull requests.
pub struct LeadReview {
    pub rules: ReviewRules,
}

impl LeadReview {
    pub fn new(rules: &ReviewRules) -> LeadReview {
        LeadReview {
            rules: rules.clone(),
        }
    }
}

/// What the review of a GEP pull request needs: the pull request, the repository's rules, and
/// its review as stored or, when the store has none, rebuilt from GitHub's history.
pub struct Gathered {
    pub pr: PullRequest,
    pub rules: ReviewRules,
    pub state: ReviewState,
    /// The state was rebuilt, not read from the store: it is saved even when the event changes
    /// nothing, so the next event reads it instead of GitHub's history.
    pub rebuilt: bool,
}

impl Capability for LeadReview {
    const NAME: &'static str = "review";
    const HELP: &'static [HelpEntry] = HELP;
    /// Nothing when the pull request changes no GEP.
    type Gathered = Option<Gathered>;

    fn wants(&self, event: &Event) -> bool {
        event.subject.is_some() && concerns_review(event)
    }

    async fn gather(
        &self,
        event: &Event,
        reads: &impl Reads,
        memory: &impl Remembered,
    ) -> Result<Option<Gathered>, ExecError> {
        let Some(subject) = event.subject.as_ref() else {
            return Ok(None);
        };
        let files = reads
            .pull_request_files(&event.repo, subject.number)
            .await?;
        if !self.rules.touches_geps(&files) {
            return Ok(None);
        }
        let from_event = matches!(
            event.kind,
            EventKind::PullRequest | EventKind::PullRequestReview
        );
        let event_head = event.head_sha.as_ref().filter(|_| from_event);
        let (repo, number) = (event.repo.as_str(), subject.number);
        // The store first (no GitHub call); then what GitHub must say, side by side.
        let stored = memory.review(repo, number).await?;
        let (rules, info, history) = futures::future::try_join3(
            self.rules.of_repository(repo, reads),
            async {
                match event_head {
                    Some(_) => Ok(None),
                    None => reads.pull_request(repo, number).await.map(Some),
                }
            },
            async {
                match stored {
                    Some(_) => Ok(None),
                    None => reads.review_history(repo, number).await.map(Some),
                }
            },
        )
        .await?;
        let pr = match (event_head, info) {
            (Some(sha), _) => PullRequest {
                repo: event.repo.clone(),
                number,
                author: subject.author.login.clone(),
                head_sha: sha.clone(),
                labels: subject.labels.clone(),
                changed_paths: files,
            },
            (None, info) => {
                let info = info.unwrap_or_default();
                PullRequest {
                    repo: event.repo.clone(),
                    number,
                    author: info.author,
                    head_sha: info.head_sha,
                    labels: info.labels,
                    changed_paths: files,
                }
            }
        };
        let rebuilt = stored.is_none();
        let state = match (stored, history) {
            (Some(state), _) => state,
            (None, history) => ReviewState::rebuild(&history.unwrap_or_default(), &pr, &rules),
        };
        Ok(Some(Gathered {
            pr,
            rules,
            state,
            rebuilt,
        }))
    }

    fn plan(&self, event: &Event, gathered: Option<Gathered>, _now: DateTime<Utc>) -> Plan {
        let Some(Gathered {
            pr,
            rules,
            state,
            rebuilt,
        }) = gathered
        else {
            return Plan::default();
        };
        let mut planned = plan(event, &pr, &rules, &state);
        let saved = planned
            .state
            .iter()
            .any(|c| matches!(c, StateChange::SaveReview { .. }));
        if rebuilt && !saved {
            planned.state.push(StateChange::SaveReview {
                repo: pr.repo.clone(),
                number: pr.number,
                state,
            });
        }
        planned
    }
}

/// The handler: an event on a GEP pull request, with the stored state (or the one rebuilt from
/// GitHub), to the new state and the actions that publish it.
pub fn plan(event: &Event, pr: &PullRequest, rules: &ReviewRules, state: &ReviewState) -> Plan {
    let mut plan = Plan::default();
    if event.sender.is_bot() || !rules.touches_geps(&pr.changed_paths) {
        return plan;
    }
    let mut next = state.clone();
    use EventAction as A;
    let happening = match (&event.kind, &event.action) {
        (EventKind::PullRequestReview, A::Submitted) => event.review.as_ref().map(|r| Happening::Review {
            author: r.author.clone(),
            state: r.state.clone(),
        }),
        (EventKind::PullRequestReview, A::Dismissed) => {
            event.review.as_ref().map(|r| Happening::ReviewDismissed {
                author: r.author.clone(),
            })
        }
        (EventKind::IssueComment, A::Created | A::Edited) => {
            event.comment.as_ref().map(|c| Happening::Comment {
                author: c.author.clone(),
                commands: c.commands.clone(),
                url: c.url.clone(),
            })
        }
        (
            EventKind::PullRequest,
            A::Opened | A::Synchronize | A::Reopened | A::ReadyForReview,
        ) => None,
        (EventKind::PullRequest, A::Closed) => {
            plan.state.push(StateChange::Record(Activity {
                repo: pr.repo.clone(),
                kind: ActivityKind::PullClosed,
                number: pr.number,
                detail: String::new(),
                at_ms: event.at_ms,
            }));
            return plan;
        }
        _ => return plan,
    };
    let mut replies = happening
        .map(|h| next.apply(&h, pr, rules))
        .unwrap_or_default();
    // One comment gets one reply, each thing said once: a comment of a hundred commands someone
    // may not use must not make the bot write a hundred comments.
    let mut said = std::collections::BTreeSet::new();
    replies.retain(|reply| said.insert(reply.clone()));
    if !replies.is_empty() {
        plan.actions.push(Action::Reply {
            repo: pr.repo.clone(),
            issue: pr.number,
            body: replies.join("\n\n"),
        });
    }
    // The leads who have yet to vote, asked once each (remembered: a re-check, a lead's vote or
    // a person taking the request back asks nobody again).
    if rules.request_reviews && !next.is_approved(rules) {
        let ask: Vec<String> = next
            .pending(rules, &pr.author)
            .into_iter()
            .map(str::to_lowercase)
            .filter(|lead| !next.requested.contains(lead))
            .collect();
        // One request per lead: GitHub refuses a whole request when one reviewer cannot be
        // asked (not a collaborator), and the others must not go unasked for it.
        for lead in ask {
            next.requested.insert(lead.clone());
            plan.actions.push(Action::RequestReview {
                repo: pr.repo.clone(),
                pull: pr.number,
                reviewer: lead,
            });
        }
    }
    if next != *state {
        plan.state.push(StateChange::SaveReview {
            repo: pr.repo.clone(),
            number: pr.number,
            state: next.clone(),
        });
    }
    // For the report and the agenda: when review began (the earliest event kept), and when it
    // reached quorum.
    let activity = |kind| {
        StateChange::Record(Activity {
            repo: pr.repo.clone(),
            kind,
            number: pr.number,
            detail: String::new(),
            at_ms: event.at_ms,
        })
    };
    plan.state.push(activity(ActivityKind::ReviewStarted));
    if next.is_approved(rules) && !state.is_approved(rules) {
        plan.state.push(activity(ActivityKind::ReviewQuorum));
    }
    publish(&mut plan, pr, rules, &next);
    plan
}

/// The status comment, the commit status and the labels for a state.
fn publish(plan: &mut Plan, pr: &PullRequest, rules: &ReviewRules, state: &ReviewState) {
    let approved = state.is_approved(rules);
    plan.actions.push(Action::CreateComment {
        repo: pr.repo.clone(),
        issue: pr.number,
        marker: Action::marker(MARKER_KIND),
        body: render::status_comment(state, rules, pr),
    });
    plan.actions.push(Action::SetCommitStatus {
        repo: pr.repo.clone(),
        sha: pr.head_sha.clone(),
        context: STATUS_CONTEXT.into(),
        state: if approved { "success" } else { "pending" }.into(),
        description: render::status_line(state, rules),
    });
    let (want, drop) = if approved {
        (APPROVED, NEEDS_REVIEW)
    } else {
        (NEEDS_REVIEW, APPROVED)
    };
    let target = LabelTarget::Issue { number: pr.number };
    if !pr.labels.iter().any(|l| l == want) {
        plan.actions.push(Action::AddLabels {
            repo: pr.repo.clone(),
            target: target.clone(),
            labels: vec![want.into()],
        });
    }
    if pr.labels.iter().any(|l| l == drop) {
        plan.actions.push(Action::RemoveLabel {
            repo: pr.repo.clone(),
            target,
            label: drop.into(),
        });
    }
}

#[cfg(test)]
mod tests;
