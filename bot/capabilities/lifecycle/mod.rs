//! Frozen while alive (issue 14): a GEP's tracking issue (the issue whose number is the GEP's)
//! that Prow's lifecycle automation marks `lifecycle/stale` or `lifecycle/rotten` while the GEP
//! is still moving gets `lifecycle/frozen`, once, with one comment that says why. Upstream froze
//! such issues by hand (#1291, #1324, #1686), and #3949 rotted while scheduled for a release.
//!
//! Pure core: the event, the rules, the GEP's status on the default branch and what the store
//! remembers of the frozen label in; a plan out. [`Lifecycle`]'s gathering reads the two inputs.

use serde::Deserialize;

use crate::domain::gep::Status;
use chrono::{DateTime, Utc};

use super::capability::Capability;
use crate::capabilities::review::ReviewRules;
use crate::core::state::{LabelMemory, StateChange};
use crate::core::{
    Action, Event, EventAction, EventKind, ExecError, LabelTarget, Plan, Reads, Remembered,
    SubjectKind,
};

/// The marker kind of the comment that says why the issue was frozen.
pub const MARKER_KIND: &str = "lifecycle-frozen";

/// How the bot freezes an issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FreezeBy {
    /// The bot adds the frozen label itself.
    Label,
    /// The bot's comment starts with `/lifecycle frozen`, for Prow's lifecycle plugin to act on
    /// (where only Prow may write `lifecycle/*` labels).
    Comment,
}

/// `[lifecycle]` in `bot.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LifecycleRules {
    /// Off: the bot never freezes.
    pub enabled: bool,
    /// Labels that mean the issue is on its way to being closed for inactivity.
    pub stale_labels: Vec<String>,
    pub frozen_label: String,
    pub freeze_by: FreezeBy,
}

impl Default for LifecycleRules {
    fn default() -> Self {
        LifecycleRules {
            enabled: true,
            stale_labels: vec!["lifecycle/stale".into(), "lifecycle/rotten".into()],
            frozen_label: "lifecycle/frozen".into(),
            freeze_by: FreezeBy::Label,
        }
    }
}

/// What the GEP of the issue's number says on the default branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gep {
    /// No `geps/gep-N/metadata.yaml`: the issue tracks no GEP.
    None,
    /// The metadata names no status the bot knows: nothing is judged.
    Unreadable,
    Status(Status),
}

/// Whether a GEP in `status` is still moving, so its tracking issue must stay open.
pub fn is_alive(status: Status) -> bool {
    !matches!(
        status,
        Status::Declined | Status::Withdrawn | Status::Completed
    )
}

/// Whether the event is one the capability acts on: a stale label put on an issue, or the frozen
/// label put on or taken off one.
fn wants(event: &Event, rules: &LifecycleRules) -> bool {
    let on_issue = event.kind == EventKind::Issues
        && event
            .subject
            .as_ref()
            .is_some_and(|s| s.kind == SubjectKind::Issue);
    let label = event.label.as_deref().unwrap_or_default();
    rules.enabled
        && on_issue
        && match event.action {
            EventAction::Labeled => {
                label == rules.frozen_label || rules.stale_labels.iter().any(|l| l == label)
            }
            EventAction::Unlabeled => label == rules.frozen_label,
            _ => false,
        }
}

/// Frozen while alive: the rules, and where GEPs live.
pub struct Lifecycle {
    pub rules: LifecycleRules,
    pub geps_dir: String,
}

impl Lifecycle {
    pub fn new(rules: &LifecycleRules, review: &ReviewRules) -> Lifecycle {
        Lifecycle {
            rules: rules.clone(),
            geps_dir: review.geps_dir.clone(),
        }
    }
}

impl Capability for Lifecycle {
    const NAME: &'static str = "lifecycle";
    /// The GEP's status (read only for a stale label) and the frozen label's memory.
    type Gathered = (Gep, LabelMemory);

    fn wants(&self, event: &Event) -> bool {
        wants(event, &self.rules)
    }

    async fn gather(
        &self,
        event: &Event,
        reads: &impl Reads,
        memory: &impl Remembered,
    ) -> Result<(Gep, LabelMemory), ExecError> {
        let Some(subject) = event.subject.as_ref() else {
            return Ok((Gep::None, LabelMemory::default()));
        };
        let frozen = &self.rules.frozen_label;
        let remembered = memory
            .label_memory(&event.repo, subject.number, frozen)
            .await?;
        let stale_label =
            event.action == EventAction::Labeled && event.label.as_ref() != Some(frozen);
        let gep = if stale_label {
            let path = format!("{}gep-{}/metadata.yaml", self.geps_dir, subject.number);
            match reads.file_at(&event.repo, &path, "").await? {
                None => Gep::None,
                Some(text) => metadata_status(&text).map_or(Gep::Unreadable, Gep::Status),
            }
        } else {
            Gep::None
        };
        Ok((gep, remembered))
    }

    fn plan(&self, event: &Event, (gep, memory): (Gep, LabelMemory), _now: DateTime<Utc>) -> Plan {
        plan(event, &self.rules, gep, memory)
    }
}

/// The `status:` of a metadata.yaml, when it is one the bot knows.
pub fn metadata_status(text: &str) -> Option<Status> {
    let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).ok()?;
    yaml.get("status")?.as_str()?.trim().parse().ok()
}

pub fn plan(event: &Event, rules: &LifecycleRules, gep: Gep, memory: LabelMemory) -> Plan {
    let mut plan = Plan::default();
    let Some(subject) = event.subject.as_ref().filter(|_| wants(event, rules)) else {
        return plan;
    };
    let (repo, number, label) = (
        event.repo.clone(),
        subject.number,
        rules.frozen_label.clone(),
    );
    if event.label.as_ref() == Some(&label) {
        if event.action == EventAction::Labeled {
            // Frozen (by the bot, Prow or a person): later stale labels need nothing.
            plan.state.push(StateChange::LabelOn {
                repo,
                number,
                label,
            });
            return plan;
        }
        // Someone unfroze it (a person, or Prow on `/remove-lifecycle frozen`): that is their
        // call, and the bot does not freeze the issue again by itself.
        plan.state.push(StateChange::SuppressLabel {
            repo: repo.clone(),
            number,
            label: label.clone(),
        });
        plan.state.push(StateChange::LabelOff {
            repo,
            number,
            label,
        });
        return plan;
    }
    let Gep::Status(status) = gep else {
        return plan;
    };
    let frozen = memory.on || subject.labels.contains(&rules.frozen_label);
    if !is_alive(status) || frozen || memory.suppressed {
        return plan;
    }
    let stale = event.label.clone().unwrap_or_default();
    let why = format!(
        "This issue tracks GEP-{number}, which is **{status}**: it is still moving through the GEP \
         process, so it stays open although it was marked `{stale}`. It will be closed when the GEP \
         is Completed, Declined or Withdrawn. To let it go stale anyway, remove `{label}`; the bot \
         will not freeze it again."
    );
    let body = match rules.freeze_by {
        FreezeBy::Label => why,
        FreezeBy::Comment => format!("/lifecycle frozen\n\n{why}"),
    };
    if rules.freeze_by == FreezeBy::Label {
        plan.actions.push(Action::AddLabels {
            repo: repo.clone(),
            target: LabelTarget::Issue { number },
            labels: vec![label],
        });
    }
    plan.actions.push(Action::CreateComment {
        repo,
        issue: number,
        marker: Action::marker(MARKER_KIND),
        body,
    });
    plan
}

#[cfg(test)]
mod tests;
