//! What the bot remembers between events, and how a plan asks to change it: the records the
//! store keeps (a label a person removed, a GEP pull request's lead review). Plain data that the
//! capabilities, the plans and the store share, so none of them reaches into another.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::ExecError;

/// The few stored facts capabilities read, and nothing else of the store: what the bot remembers
/// of a label, a pull request's lead review, a repository's activity. The store implements it;
/// tests of a capability may implement it in memory.
pub trait Remembered: Sync {
    /// What the bot remembers of `label` on the issue.
    fn label_memory(
        &self,
        repo: &str,
        number: u64,
        label: &str,
    ) -> impl Future<Output = Result<LabelMemory, ExecError>> + Send;

    /// A pull request's lead review, if one was stored.
    fn review(
        &self,
        repo: &str,
        number: u64,
    ) -> impl Future<Output = Result<Option<ReviewState>, ExecError>> + Send;

    /// A repository's activity in `[from_ms, to_ms)`, in time order.
    fn activity(
        &self,
        repo: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> impl Future<Output = Result<Vec<Activity>, ExecError>> + Send;
}

/// What the bot remembers about an issue between events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StateChange {
    /// A person removed the label: the bot never adds it again by itself.
    SuppressLabel {
        repo: String,
        number: u64,
        label: String,
    },
    /// A person asked for the label back (`/area mesh`).
    AllowLabel {
        repo: String,
        number: u64,
        label: String,
    },
    /// The label is on the issue: the bot added it, or an event showed it.
    LabelOn {
        repo: String,
        number: u64,
        label: String,
    },
    /// The label is off the issue: the bot removed it, or an event said a person did.
    LabelOff {
        repo: String,
        number: u64,
        label: String,
    },
    /// GitHub refused for good to request a review of the pull request from `reviewer` (lower
    /// case): read back with the review ([`ReviewState::refused`]).
    ReviewRequestRefused {
        repo: String,
        number: u64,
        reviewer: String,
        why: String,
    },
    /// A GEP pull request's lead review, as it now stands.
    SaveReview {
        repo: String,
        number: u64,
        state: ReviewState,
    },
    /// Something the initiative's report and the agenda count (kept beyond deliveries).
    Record(Activity),
    /// What the bot now says `about` the issue, as a digest of the facts (a graduation nudge):
    /// timed work that would say the same again is not stored.
    Said {
        repo: String,
        number: u64,
        about: String,
        digest: String,
    },
}

/// What happened, when, to which issue, pull request or discussion: one row per (repo, kind,
/// number, detail), at the earliest time it was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    pub repo: String,
    /// `activity` in JSON: beside a [`StateChange`]'s own `kind`.
    #[serde(rename = "activity")]
    pub kind: ActivityKind,
    pub number: u64,
    /// What kind of item (`issue`, `pull_request`, `discussion`), or what changed
    /// (`Experimental -> Standard`).
    pub detail: String,
    /// When it happened (by the payload), in ms; `None` until the worker stamps the delivery's time.
    pub at_ms: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    /// An item about mesh was opened (or got the mesh label).
    MeshOpened,
    /// An item about mesh was closed.
    MeshClosed,
    /// The first event of a GEP pull request's lead review.
    ReviewStarted,
    /// A GEP pull request reached the leads' quorum.
    ReviewQuorum,
    /// A GEP's status changed on the default branch.
    StatusChanged,
    /// A GEP pull request was closed (merged or not): no longer awaiting review.
    PullClosed,
    /// An item was nominated for the next meeting's agenda (`detail`: a [`Nomination`] in JSON).
    Nominated,
    /// An item's nominations were taken back (`detail`: a [`Nomination`] in JSON, no reason).
    NominationCancelled,
    /// A GEP met every criterion of its next status (`detail`: that status).
    ReadyToGraduate,
}

impl ActivityKind {
    pub const ALL: [ActivityKind; 9] = [
        ActivityKind::MeshOpened,
        ActivityKind::MeshClosed,
        ActivityKind::ReviewStarted,
        ActivityKind::ReviewQuorum,
        ActivityKind::StatusChanged,
        ActivityKind::PullClosed,
        ActivityKind::Nominated,
        ActivityKind::NominationCancelled,
        ActivityKind::ReadyToGraduate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActivityKind::MeshOpened => "mesh_opened",
            ActivityKind::MeshClosed => "mesh_closed",
            ActivityKind::ReviewStarted => "review_started",
            ActivityKind::ReviewQuorum => "review_quorum",
            ActivityKind::StatusChanged => "status_changed",
            ActivityKind::PullClosed => "pull_closed",
            ActivityKind::Nominated => "nominated",
            ActivityKind::NominationCancelled => "nomination_cancelled",
            ActivityKind::ReadyToGraduate => "ready_to_graduate",
        }
    }

    pub fn parse(text: &str) -> Option<ActivityKind> {
        ActivityKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// Who put an item on the agenda (or took it off), why, and with which comment: an activity's
/// `detail`, so each command is its own row (a nomination after a cancellation is new).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nomination {
    /// `issue`, `pull_request` or `discussion`.
    pub item: String,
    pub by: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// The comment that said it.
    pub comment: u64,
}

/// What the bot remembers of one label on one issue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LabelMemory {
    /// A person removed it: the bot does not add it back by itself.
    pub suppressed: bool,
    /// It is on the issue as far as the bot knows (it wrote it, or saw it), whatever an older
    /// payload still in the queue says.
    pub on: bool,
}

/// A lead's standing on a pull request: the latest of their reviews and commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Vote {
    Approved,
    ChangesRequested,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Concern {
    pub name: String,
    pub raised_by: String,
    /// Where it was raised (the comment's URL), for the status comment.
    pub url: String,
    pub open: bool,
}

/// What the bot remembers about one pull request's review.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewState {
    pub votes: BTreeMap<String, Vote>,
    pub concerns: Vec<Concern>,
    /// The leads the bot asked GitHub for a review (lower case), never asked twice.
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub requested: std::collections::BTreeSet<String>,
    /// Of those, the ones GitHub refused (lower case), with what it said: kept by the store
    /// beside the review (not in it), since they are learnt after the review is saved.
    #[serde(skip)]
    pub refused: BTreeMap<String, String>,
}
