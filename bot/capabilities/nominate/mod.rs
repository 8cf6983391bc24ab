//! `/gep nominate [REASON]` and `/gep nominate cancel` (SPEC 9): a GEP lead, or a member of the
//! organization (`author_association` OWNER, MEMBER or COLLABORATOR), puts an issue, pull
//! request or discussion on the next meeting's agenda with who nominated it and why, or takes it
//! off. Someone else gets one reply saying who may.
//!
//! A nomination is an activity of the store (one row per command, named by its comment), so the
//! agenda, which is computed from the store, lists it until it is cancelled or the meeting has
//! passed; nothing is written on GitHub but the acknowledgement, a short reply (once: replies carry
//! their own marker, SPEC 5.4).

use chrono::{DateTime, Utc};

use super::capability::Capability;
use crate::capabilities::review::ReviewRules;
use crate::core::state::{Activity, ActivityKind, Nomination};
use crate::core::{Action, Comment, Event, ExecError, Plan, Reads, Remembered, StateChange};
use crate::domain::commands::{Command, HelpEntry, usage};
use crate::domain::text::sanitize;

/// Who may nominate, in the words the help and the refusal use.
const WHO: &str = "GEP leads, members of the organization and collaborators";

pub const HELP: &[HelpEntry] = &[
    HelpEntry {
        usage: usage::GEP_NOMINATE,
        description: "puts this issue, pull request or discussion on the next meeting's agenda, with the reason",
        who: WHO,
    },
    HelpEntry {
        usage: usage::GEP_NOMINATE_CANCEL,
        description: "takes it off the agenda",
        who: WHO,
    },
];

/// The longest reason kept and repeated (a comment may hold 65,536 characters; the reason is
/// part of the activity's key, which PostgreSQL's index keeps under 2,700 bytes).
const MAX_REASON: usize = 200;

/// Nominations for the meeting's agenda.
pub struct Nominate {
    pub rules: ReviewRules,
}

impl Nominate {
    pub fn new(rules: &ReviewRules) -> Nominate {
        Nominate {
            rules: rules.clone(),
        }
    }
}

/// The comment's last word on the agenda: a nomination or its cancellation.
fn last_word(comment: &Comment) -> Option<&Command> {
    comment
        .commands
        .iter()
        .rfind(|c| matches!(c, Command::GepNominate(_) | Command::GepNominateCancel))
}

impl Capability for Nominate {
    const NAME: &'static str = "nominate";
    const HELP: &'static [HelpEntry] = HELP;
    /// Whether the comment's author may nominate.
    type Gathered = bool;

    fn wants(&self, event: &Event) -> bool {
        event.subject.is_some() && event.comment.as_ref().and_then(last_word).is_some()
    }

    /// A member is known from the payload; anyone else is looked up among the repository's leads.
    async fn gather(
        &self,
        event: &Event,
        reads: &impl Reads,
        _memory: &impl Remembered,
    ) -> Result<bool, ExecError> {
        let Some(comment) = &event.comment else {
            return Ok(false);
        };
        if comment.association.is_member() {
            return Ok(true);
        }
        let rules = self.rules.of_repository(&event.repo, reads).await?;
        Ok(rules.is_lead(&comment.author.login))
    }

    fn plan(&self, event: &Event, may: bool, _now: DateTime<Utc>) -> Plan {
        let mut plan = Plan::default();
        let (Some(comment), Some(subject)) = (&event.comment, &event.subject) else {
            return plan;
        };
        let Some(command) = last_word(comment) else {
            return plan;
        };
        if !may {
            plan.actions.extend(Action::reply_to(
                event,
                format!(
                    "`{}` is for {WHO} (GitHub's author association OWNER, MEMBER or \
                     COLLABORATOR); ask one of them to nominate this.",
                    command.name()
                ),
            ));
            return plan;
        }
        let (kind, reason, said) = match command {
            Command::GepNominate(reason) => (
                ActivityKind::Nominated,
                reason.trim().chars().take(MAX_REASON).collect(),
                format!(
                    "On the agenda of the next meeting{}. `{}` takes it off.",
                    if reason.trim().is_empty() {
                        String::new()
                    } else {
                        format!(": {}", sanitize(reason.trim(), MAX_REASON))
                    },
                    usage::GEP_NOMINATE_CANCEL
                ),
            ),
            _ => (
                ActivityKind::NominationCancelled,
                String::new(),
                "Taken off the next meeting's agenda.".to_owned(),
            ),
        };
        let nomination = Nomination {
            item: subject.kind.name().to_owned(),
            by: comment.author.login.clone(),
            reason,
            comment: comment.id,
        };
        plan.state.push(StateChange::Record(Activity {
            repo: event.repo.clone(),
            kind,
            number: subject.number,
            detail: serde_json::to_string(&nomination).expect("a nomination is JSON"),
            at_ms: event.at_ms,
        }));
        plan.actions.extend(Action::reply_to(event, said));
        plan
    }
}

#[cfg(test)]
mod tests;
