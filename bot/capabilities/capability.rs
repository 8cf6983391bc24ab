//! The one shape every capability has (SPEC 14): a name, its commands' help, a trigger that
//! reads nothing, a gathering through the narrow read seams, and a pure plan that takes the time
//! as an input. The pipeline runs them all the same way and never knows what one reads.
//!
//! Kept apart from the list (`capabilities/mod.rs`) so that a capability, which implements this
//! trait, does not import the list and, through it, the configuration that names its rules.

use chrono::{DateTime, Utc};

use crate::core::{Event, ExecError, Plan, Reads, Remembered};
use crate::domain::commands::HelpEntry;

/// The time capability tests plan at: fixed, as a plan takes the time as an input.
#[cfg(test)]
pub fn test_now() -> DateTime<Utc> {
    "2026-12-01T12:00:00Z".parse().expect("a fixed time")
}

pub trait Capability: Send + Sync {
    /// Its name, as logs give it.
    const NAME: &'static str;

    /// Its commands, each usage written once: `/gep help`, the refusals and the README's table
    /// derive from these.
    const HELP: &'static [HelpEntry] = &[];

    /// What [`Capability::gather`] read for [`Capability::plan`].
    type Gathered: Send;

    /// Whether the event is one it may act on, from the event alone (no reads): the events it
    /// does not want cost nothing.
    fn wants(&self, event: &Event) -> bool;

    /// Reads what the plan needs: GitHub through `reads` (memoised for the job), the store
    /// through `memory`. A capability that finds nothing to do says so in what it returns.
    fn gather(
        &self,
        event: &Event,
        reads: &impl Reads,
        memory: &impl Remembered,
    ) -> impl Future<Output = Result<Self::Gathered, ExecError>> + Send;

    /// The actions and state changes, from the event, what was gathered and the time: pure.
    fn plan(&self, event: &Event, gathered: Self::Gathered, now: DateTime<Utc>) -> Plan;

    /// The capability alone on one event, as the list runs each: nothing when it does not want
    /// the event, else what it gathers, planned.
    fn run(
        &self,
        event: &Event,
        reads: &impl Reads,
        memory: &impl Remembered,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Plan, ExecError>> + Send
    where
        Self: Sized,
    {
        async move {
            if !self.wants(event) {
                return Ok(Plan::default());
            }
            let gathered = self
                .gather(event, reads, memory)
                .await
                .inspect_err(|error| {
                    tracing::warn!(capability = Self::NAME, %error, "cannot gather");
                })?;
            Ok(self.plan(event, gathered, now))
        }
    }
}
