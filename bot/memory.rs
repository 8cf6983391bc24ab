//! What the bot remembers between events, and how a plan asks to change it: the records the
//! store keeps (a label a person removed, a GEP pull request's lead review). Plain data that the
//! capabilities, the plans and the store share, so none of them reaches into another.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

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
    /// A GEP pull request's lead review, as it now stands.
    SaveReview {
        repo: String,
        number: u64,
        state: ReviewState,
    },
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
}
