//! Why a read or a write to GitHub did not happen, in the terms the worker decides on: wait,
//! try again, or give up. The transport classifies GitHub's answers into it; the core and the
//! capabilities only pass it on.

use std::time::Duration;

/// Why an action did not happen, and so what the worker does next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    /// GitHub asked us to wait: run again after `wait`. A primary limit says when it resets;
    /// a secondary one (abuse detection) does not promise that waiting once is enough, so the
    /// worker backs off further each time it meets one again, and counts it as an attempt.
    #[error("rate limited for {wait:?}: {reason}")]
    RateLimited {
        wait: Duration,
        reason: String,
        secondary: bool,
    },
    /// May work on another attempt (5xx, network, timeouts).
    #[error("transient: {0}")]
    Transient(String),
    /// Will not work however often it is tried (4xx, bad configuration).
    #[error("permanent: {0}")]
    Permanent(String),
}

impl ExecError {
    /// Of two failures of one job, the one that decides what happens next: a rate limit (the
    /// longer wait) over one that may pass over one that will not.
    pub fn graver(self, other: ExecError) -> ExecError {
        use ExecError::*;
        match (self, other) {
            (a @ RateLimited { .. }, b @ RateLimited { .. }) => {
                let wait = |e: &ExecError| match e {
                    RateLimited { wait, .. } => *wait,
                    _ => Duration::ZERO,
                };
                if wait(&a) >= wait(&b) { a } else { b }
            }
            (limited @ RateLimited { .. }, _) | (_, limited @ RateLimited { .. }) => limited,
            (transient @ Transient(_), _) | (_, transient @ Transient(_)) => transient,
            (permanent, _) => permanent,
        }
    }
}
