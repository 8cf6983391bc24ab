//! The GEP status lifecycle (upstream `geps/overview.md`): a ladder that API GEPs climb, and the
//! states that stand beside it.

use std::fmt;
use std::str::FromStr;

/// A GEP status. The first six form the ladder in this order; the others stand beside it.
/// `Accepted` is the one stage of a Memorandum GEP ("Memorandums have only a single stage -
/// `Accepted`", upstream's overview); older Memorandum GEPs say `Memorandum` as their status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    Provisional,
    Prototyping,
    Implementable,
    Experimental,
    Standard,
    Completed,
    Memorandum,
    Accepted,
    Deferred,
    Declined,
    Withdrawn,
}

impl Status {
    pub const ALL: [Status; 11] = [
        Status::Provisional,
        Status::Prototyping,
        Status::Implementable,
        Status::Experimental,
        Status::Standard,
        Status::Completed,
        Status::Memorandum,
        Status::Accepted,
        Status::Deferred,
        Status::Declined,
        Status::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Provisional => "Provisional",
            Status::Prototyping => "Prototyping",
            Status::Implementable => "Implementable",
            Status::Experimental => "Experimental",
            Status::Standard => "Standard",
            Status::Completed => "Completed",
            Status::Memorandum => "Memorandum",
            Status::Accepted => "Accepted",
            Status::Deferred => "Deferred",
            Status::Declined => "Declined",
            Status::Withdrawn => "Withdrawn",
        }
    }

    /// The position on the ladder, or `None` for the states beside it.
    pub fn rung(self) -> Option<u8> {
        match self {
            Status::Provisional => Some(0),
            Status::Prototyping => Some(1),
            Status::Implementable => Some(2),
            Status::Experimental => Some(3),
            Status::Standard => Some(4),
            Status::Completed => Some(5),
            _ => None,
        }
    }

    /// Whether a GEP at this status is at `floor` or above on the ladder.
    pub fn is_at_least(self, floor: Status) -> bool {
        matches!((self.rung(), floor.rung()), (Some(s), Some(f)) if s >= f)
    }

    /// The statuses a GEP may move to next from this one, following the lifecycle diagram.
    /// Deferred, Declined and Withdrawn can be reached from anywhere.
    pub fn next(self) -> &'static [Status] {
        use Status::*;
        match self {
            Provisional => &[Prototyping, Implementable],
            Prototyping => &[Implementable],
            Implementable => &[Experimental],
            Experimental => &[Standard],
            Standard => &[Completed],
            Memorandum => &[Accepted],
            Completed | Accepted | Declined | Withdrawn => &[],
            // A deferred GEP is picked up again where it stopped; the ladder's first step is the
            // only one we can tell is safe without its history.
            Deferred => &[Provisional],
        }
    }

    /// Whether `self -> to` is a move the lifecycle allows (staying put is always allowed).
    pub fn may_move_to(self, to: Status) -> bool {
        self == to
            || matches!(to, Status::Deferred | Status::Declined | Status::Withdrawn)
            || self.next().contains(&to)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not one of the statuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown GEP status {0:?}")]
pub struct UnknownStatus(pub String);

impl FromStr for Status {
    type Err = UnknownStatus;

    /// Exact names only: a status is a fixed vocabulary, and "standard" in lower case is more
    /// likely a typo worth a finding than an intent.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ladder_is_ordered_and_side_states_are_off_it() {
        assert!(Status::Standard.is_at_least(Status::Experimental));
        assert!(Status::Experimental.is_at_least(Status::Experimental));
        assert!(!Status::Provisional.is_at_least(Status::Implementable));
        assert!(!Status::Memorandum.is_at_least(Status::Provisional));
        assert!(!Status::Declined.is_at_least(Status::Provisional));
    }

    #[test]
    fn lifecycle_forbids_skipping_rungs() {
        assert!(Status::Provisional.may_move_to(Status::Implementable));
        assert!(Status::Provisional.may_move_to(Status::Prototyping));
        assert!(!Status::Provisional.may_move_to(Status::Standard));
        assert!(!Status::Implementable.may_move_to(Status::Standard));
        assert!(Status::Experimental.may_move_to(Status::Declined));
        assert!(!Status::Standard.may_move_to(Status::Experimental));
        assert!(Status::Memorandum.may_move_to(Status::Accepted));
        assert!(!Status::Accepted.is_at_least(Status::Provisional));
    }

    #[test]
    fn parses_exact_names_only() {
        assert_eq!("Standard".parse::<Status>(), Ok(Status::Standard));
        assert!("standard".parse::<Status>().is_err());
        assert_eq!("Accepted".parse::<Status>(), Ok(Status::Accepted));
        assert!("Rejected".parse::<Status>().is_err());
    }
}
