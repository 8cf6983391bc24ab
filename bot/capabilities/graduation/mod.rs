//! Graduation nudges (SPEC 12): when the dashboard's refresh finds a GEP meeting every criterion
//! of its next status, the bot says so on the GEP's tracking issue (GEP numbers are issue
//! numbers) in one marked comment, edited when the facts change, and adds the label
//! `gep/ready-for-STATUS` (`[dashboard] ready_label`); when the GEP no longer meets them, the
//! comment says what is missing and the label comes off. The next agenda lists the GEP.
//!
//! The refresh does not write: for each GEP ready for its next status, or that the bot has spoken
//! of before, whose facts differ from what the bot last said ([`Standing::to_say`]), it stores
//! the [`Standing`] as timed work named by the facts and what was said before, so replicas and
//! restarts store each change once and one worker acts on it once (SPEC 5.4). The plan remembers
//! what it says (`StateChange::Said`), so the next refresh with the same facts stores nothing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::capability::Capability;
use crate::core::state::{Activity, ActivityKind};
use crate::core::{
    Action, Event, EventKind, ExecError, LabelTarget, Plan, Reads, Remembered, StateChange,
};
use crate::domain::standing::readiness::Criterion;
use crate::domain::text::sanitize;

/// The event name of the timed work (never a webhook's: intake refuses it).
pub const EVENT: &str = "gep-bot.graduation";
/// The label, by default: `{status}` is the next status, in lower case.
pub const READY_LABEL: &str = "gep/ready-for-{status}";
/// The comment's marker, and what the bot remembers saying.
pub const ABOUT: &str = "graduation";

/// A GEP's readiness for its next status, as a refresh of the dashboard found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standing {
    pub repo: String,
    pub gep: u32,
    pub title: String,
    /// Its status, and the next one it was judged for.
    pub status: String,
    /// None where its status is the last (the criteria are then none).
    pub next: Option<String>,
    pub criteria: Vec<Criterion>,
}

impl Standing {
    /// Whether it meets every criterion of its next status.
    pub fn ready(&self) -> bool {
        !self.criteria.is_empty() && self.criteria.iter().all(|c| c.met)
    }

    /// The facts, named: what the bot remembers having said ([`StateChange::Said`]).
    pub fn digest(&self) -> String {
        use sha2::Digest as _;
        let facts = serde_json::to_vec(self).expect("a standing is JSON");
        hex::encode(&sha2::Sha256::digest(&facts)[..8])
    }

    /// Whether a refresh that finds this standing has something to say, the bot having last
    /// said `said`: a GEP ready for its next status that the bot has not said so of, in these
    /// facts; or new facts about one it has spoken of.
    pub fn to_say(&self, said: Option<&str>) -> bool {
        said != Some(self.digest().as_str()) && (self.ready() || said.is_some())
    }

    /// The delivery's name: the GEP, the facts and what the bot last said before them, so
    /// replicas store each change once, and facts that come back after others are a change.
    pub fn delivery_id(&self, said: Option<&str>) -> String {
        format!(
            "graduation:{}:{}:{}:after:{}",
            self.repo,
            self.gep,
            self.digest(),
            said.unwrap_or("none")
        )
    }

    pub fn body(&self, installation: Option<u64>) -> Vec<u8> {
        crate::core::event::scheduled_body(&self.repo, installation, self)
    }

    /// The comment on the tracking issue (the executor puts the marker first); `arrived`: it
    /// has reached the status the bot said it was ready for.
    fn comment(&self, label: &str, arrived: bool, agenda: bool) -> String {
        let (gep, title) = (self.gep, sanitize(&self.title, 120));
        let mut out = match (&self.next, self.ready()) {
            (Some(next), true) => format!(
                "**GEP-{gep} ({title}) meets every criterion of {next}**, as the repository \
                 shows it now:\n\n"
            ),
            _ if arrived => format!("**GEP-{gep} ({title}) is {} now.**\n\n", self.status),
            (Some(next), false) => format!(
                "**GEP-{gep} ({title}) no longer meets every criterion of {next}**:\n\n"
            ),
            (None, _) => format!("**GEP-{gep} ({title}) is {}.**\n\n", self.status),
        };
        if !self.ready()
            && arrived
            && let Some(next) = &self.next
        {
            out.push_str(&format!("For {next}:\n\n"));
        }
        for criterion in &self.criteria {
            out.push_str(&criterion.checklist_line());
        }
        if let (Some(next), true) = (&self.next, self.ready()) {
            out.push_str(&format!(
                "\nA maintainer may propose the move: a pull request that sets `status: {next}` \
                 in this GEP's `metadata.yaml`.{}\n",
                if agenda {
                    " The next community meeting's agenda lists it."
                } else {
                    ""
                }
            ));
        }
        out.push_str(&format!(
            "\n<sub>gep-bot keeps this comment up to date; the label `{label}` follows it.</sub>\n"
        ));
        out
    }
}

/// Says on a GEP's tracking issue that it is ready for its next status, or no longer is.
pub struct Graduation {
    /// The label's pattern (`{status}` is the status, in lower case); empty: no nudges.
    pub label: String,
    /// Whether an agenda is kept (`[agenda]`): the comment then says it lists the GEP.
    pub agenda: bool,
}

impl Graduation {
    pub fn new(label: &str) -> Graduation {
        Graduation {
            label: label.to_owned(),
            agenda: false,
        }
    }

    pub fn with_agenda(mut self, agenda: bool) -> Graduation {
        self.agenda = agenda;
        self
    }

    /// The label saying a GEP is ready for `status`, when there are nudges at all.
    pub fn label_for(&self, status: &str) -> Option<String> {
        (!self.label.is_empty()).then(|| self.label.replace("{status}", &status.to_lowercase()))
    }
}

/// The standing a timed event carries.
fn standing_of(event: &Event) -> Option<Standing> {
    event.scheduled_as(EventKind::Graduation)
}

/// What the plan needs: the standing, and whether the label of the GEP's present status (put on
/// when it was ready for it) is still on.
pub struct Gathered {
    standing: Option<Standing>,
    earlier_label_on: bool,
}

impl Capability for Graduation {
    const NAME: &'static str = "graduation";
    type Gathered = Gathered;

    fn wants(&self, event: &Event) -> bool {
        !self.label.is_empty() && standing_of(event).is_some()
    }

    async fn gather(
        &self,
        event: &Event,
        _reads: &impl Reads,
        memory: &impl Remembered,
    ) -> Result<Gathered, ExecError> {
        let standing = standing_of(event);
        let mut earlier_label_on = false;
        if let Some((standing, label)) = standing
            .as_ref()
            .and_then(|s| Some((s, self.label_for(&s.status)?)))
        {
            earlier_label_on = memory
                .label_memory(&standing.repo, u64::from(standing.gep), &label)
                .await?
                .on;
        }
        Ok(Gathered {
            standing,
            earlier_label_on,
        })
    }

    fn plan(&self, _event: &Event, gathered: Gathered, _now: DateTime<Utc>) -> Plan {
        let mut plan = Plan::default();
        let Some(standing) = gathered.standing else {
            return plan;
        };
        let arrived = gathered.earlier_label_on;
        let (repo, issue) = (standing.repo.clone(), u64::from(standing.gep));
        plan.state.push(StateChange::Said {
            repo: repo.clone(),
            number: issue,
            about: ABOUT.to_owned(),
            digest: standing.digest(),
        });
        let target = LabelTarget::Issue { number: issue };
        let next_label = standing.next.as_deref().and_then(|n| self.label_for(n));
        let Some(shown) = next_label.clone().or_else(|| self.label_for(&standing.status)) else {
            return plan;
        };
        plan.actions.push(Action::CreateComment {
            repo: repo.clone(),
            issue,
            marker: Action::marker(ABOUT),
            body: standing.comment(&shown, arrived, self.agenda),
        });
        match (next_label, &standing.next) {
            (Some(label), Some(next)) if standing.ready() => {
                plan.actions.push(Action::AddLabels {
                    repo: repo.clone(),
                    target: target.clone(),
                    labels: vec![label],
                });
                plan.state.push(StateChange::Record(Activity {
                    repo: repo.clone(),
                    kind: ActivityKind::ReadyToGraduate,
                    number: issue,
                    detail: next.clone(),
                    at_ms: None,
                }));
            }
            (Some(label), _) => plan.actions.push(Action::RemoveLabel {
                repo: repo.clone(),
                target: target.clone(),
                label,
            }),
            (None, _) => {}
        }
        // It reached the status it was ready for: that label has done its work.
        if arrived && let Some(earlier) = self.label_for(&standing.status) {
            plan.actions.push(Action::RemoveLabel {
                repo,
                target,
                label: earlier,
            });
        }
        plan
    }
}

#[cfg(test)]
mod tests;
