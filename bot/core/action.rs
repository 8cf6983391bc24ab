//! What handlers ask for: plain data, executed by one executor (or printed by dry-run and replay).
//! Every action is idempotent when executed, so a job may safely run again after a crash.

use serde::Serialize;

use crate::core::event::{Event, SubjectKind};
use crate::core::state::StateChange;

/// What a label attaches to. Discussions take labels through GraphQL, by node id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LabelTarget {
    Issue { number: u64 },
    Discussion { number: u64, node_id: String },
}

impl LabelTarget {
    pub fn number(&self) -> u64 {
        match self {
            LabelTarget::Issue { number } | LabelTarget::Discussion { number, .. } => *number,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    AddLabels {
        repo: String,
        target: LabelTarget,
        labels: Vec<String>,
    },
    RemoveLabel {
        repo: String,
        target: LabelTarget,
        label: String,
    },
    /// The bot's comment of a kind on an issue: created once, then edited (found by its marker).
    CreateComment {
        repo: String,
        issue: u64,
        marker: String,
        body: String,
    },
    UpdateComment {
        repo: String,
        comment_id: u64,
        body: String,
    },
    /// A check run keyed by head SHA and name. GitHub appends the annotations of every update to
    /// a run, so a changed result is a new run on the SHA (the newest is what GitHub shows), and
    /// a result the newest run already shows is not written again.
    CreateCheckRun {
        repo: String,
        /// The pull request checked (where the result goes when check runs cannot be written).
        pull: u64,
        head_sha: String,
        name: String,
        conclusion: String,
        title: String,
        summary: String,
        annotations: Vec<Annotation>,
    },
    UpdateCheckRun {
        repo: String,
        check_run_id: u64,
        conclusion: String,
        title: String,
        summary: String,
    },
    SetCommitStatus {
        repo: String,
        sha: String,
        context: String,
        state: String,
        description: String,
    },
    /// A short answer to a command (who may use it, help).
    Reply {
        repo: String,
        issue: u64,
        body: String,
    },
    /// The same in a discussion, which takes comments through GraphQL, by node id.
    DiscussionReply {
        repo: String,
        number: u64,
        node_id: String,
        body: String,
    },
    /// The bot's comment of a kind in a discussion, by number: created once, then edited (found
    /// by its marker among the discussion's latest 100 comments).
    CreateDiscussionComment {
        repo: String,
        discussion: u64,
        marker: String,
        body: String,
    },
    /// A GitHub review request for `reviewer` on a pull request (asking again for someone asked
    /// already changes nothing on GitHub). One reviewer each: GitHub refuses a whole request when
    /// one reviewer cannot be asked.
    RequestReview {
        repo: String,
        pull: u64,
        reviewer: String,
    },
    /// A review of a pull request's head (event `COMMENT`) whose comments suggest changes on
    /// lines of its diff: posted once per head (found by its marker among the reviews).
    SuggestChanges {
        repo: String,
        pull: u64,
        head_sha: String,
        marker: String,
        body: String,
        comments: Vec<ReviewComment>,
    },
}

/// A review comment on lines `start_line..=line` of `path` (one line when `start_line` is
/// `None`) at the head of a pull request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReviewComment {
    pub path: String,
    pub start_line: Option<usize>,
    pub line: usize,
    pub body: String,
}

impl Action {
    pub fn kind(&self) -> &'static str {
        match self {
            Action::AddLabels { .. } => "add_labels",
            Action::RemoveLabel { .. } => "remove_label",
            Action::CreateComment { .. } => "create_comment",
            Action::UpdateComment { .. } => "update_comment",
            Action::CreateCheckRun { .. } => "create_check_run",
            Action::UpdateCheckRun { .. } => "update_check_run",
            Action::SetCommitStatus { .. } => "set_commit_status",
            Action::Reply { .. } => "reply",
            Action::DiscussionReply { .. } => "discussion_reply",
            Action::CreateDiscussionComment { .. } => "create_discussion_comment",
            Action::SuggestChanges { .. } => "suggest_changes",
            Action::RequestReview { .. } => "request_review",
        }
    }

    /// What identifies this action among a job's: a retry skips the actions whose key it has
    /// recorded as done. (Two equal actions in one plan are one.)
    /// What the bot knows once this action is done: a label it added is on, one it removed is
    /// off. Recorded by the worker after the write succeeds, so a job queued behind this one
    /// sees it whatever its older payload says.
    pub fn effects(&self) -> Vec<StateChange> {
        match self {
            Action::AddLabels {
                repo,
                target,
                labels,
            } => labels
                .iter()
                .map(|label| StateChange::LabelOn {
                    repo: repo.clone(),
                    number: target.number(),
                    label: label.clone(),
                })
                .collect(),
            Action::RemoveLabel {
                repo,
                target,
                label,
            } => vec![StateChange::LabelOff {
                repo: repo.clone(),
                number: target.number(),
                label: label.clone(),
            }],
            _ => Vec::new(),
        }
    }

    /// What the bot remembers when GitHub refuses this action for good (`why`, as GitHub said
    /// it): a review request names a lead who cannot be asked, so later plans say so instead of
    /// asking again.
    pub fn refused(&self, why: &str) -> Vec<StateChange> {
        match self {
            Action::RequestReview {
                repo,
                pull,
                reviewer,
            } => vec![StateChange::ReviewRequestRefused {
                repo: repo.clone(),
                number: *pull,
                reviewer: reviewer.to_lowercase(),
                why: why.to_owned(),
            }],
            _ => Vec::new(),
        }
    }

    pub fn key(&self) -> String {
        use sha2::Digest as _;
        let json = serde_json::to_vec(self).unwrap_or_default();
        hex::encode(&sha2::Sha256::digest(&json)[..12])
    }

    /// A short answer in the thread of the event's subject: a comment on an issue or a pull
    /// request, a GraphQL comment in a discussion.
    pub fn reply_to(event: &Event, body: String) -> Option<Action> {
        let subject = event.subject.as_ref()?;
        Some(match subject.kind {
            SubjectKind::Discussion => Action::DiscussionReply {
                repo: event.repo.clone(),
                number: subject.number,
                node_id: subject.node_id.clone(),
                body,
            },
            SubjectKind::Issue | SubjectKind::PullRequest => Action::Reply {
                repo: event.repo.clone(),
                issue: subject.number,
                body,
            },
        })
    }

    /// The marker the bot puts in a comment of a kind, so it finds and edits it later.
    pub fn marker(kind: &str) -> String {
        format!("<!-- gep-bot:{kind} -->")
    }
}

/// A line-level note on a check run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Annotation {
    pub path: String,
    pub start_line: usize,
    pub end_line: usize,
    pub start_column: usize,
    pub end_column: usize,
    /// `failure`, `warning` or `notice`.
    pub annotation_level: String,
    pub title: String,
    pub message: String,
}

/// A handler's answer: the actions to execute and the state to remember.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub actions: Vec<Action>,
    pub state: Vec<StateChange>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty() && self.state.is_empty()
    }

    pub fn extend(&mut self, other: Plan) {
        self.actions.extend(other.actions);
        self.state.extend(other.state);
    }
}
