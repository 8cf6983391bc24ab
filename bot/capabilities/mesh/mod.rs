//! Mesh labels (SPEC section 6): the `area/mesh` label on issues, pull requests and discussions
//! that are about mesh, the `/area mesh` and `/remove-area mesh` commands, and the promise that a
//! label a person removed is never added back by the bot.
//!
//! Pure: an event, the rules and what the store remembers about the issue in, a plan out.

mod words;

use serde::Deserialize;

use crate::domain::commands::{Command, HelpEntry, usage};
use chrono::{DateTime, Utc};

use super::capability::Capability;
use crate::core::{
    Action, Event, EventAction, EventKind, ExecError, LabelTarget, Plan, Reads, Remembered,
    Subject, SubjectKind,
};
use crate::core::state::{Activity, ActivityKind, StateChange};

pub use words::{BadPattern, Matcher};

pub const HELP: &[HelpEntry] = &[
    HelpEntry {
        usage: usage::AREA_MESH,
        description: "adds the mesh label, and lets the bot manage it again",
        who: "anyone",
    },
    HelpEntry {
        usage: usage::REMOVE_AREA_MESH,
        description: "removes the mesh label; the bot will not add it back by itself",
        who: "anyone",
    },
];

/// What makes something about mesh. Configurable in `bot.toml` under `[mesh]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MeshRules {
    pub label: String,
    /// Words and phrases, matched as whole words ("meshes" yes, "enmeshed" no), case-insensitive.
    pub words: Vec<String>,
    /// Globs on the paths a pull request changes.
    pub paths: Vec<String>,
}

impl Default for MeshRules {
    fn default() -> Self {
        MeshRules {
            label: "area/mesh".into(),
            words: [
                "mesh",
                "service mesh",
                "GAMMA",
                "east/west",
                "east-west",
                "sidecar",
            ]
            .map(String::from)
            .to_vec(),
            paths: vec!["conformance/tests/mesh/**".into()],
        }
    }
}

/// What the store remembers about the issue the event is on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IssueState {
    /// A person removed the label (or asked for it gone): the bot does not add it by itself.
    pub label_suppressed: bool,
    /// The label is on as far as the bot knows (it added it, or saw it), though the payload,
    /// older than that, may not show it.
    pub label_on: bool,
}

/// The inputs the plan needs beyond the event.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub state: IssueState,
    /// For pull requests: the paths the pull request changes.
    pub changed_paths: Vec<String>,
}

/// The mesh label's capability: the rules and their compiled matcher.
pub struct Mesh {
    pub rules: MeshRules,
    pub matcher: Matcher,
}

impl Mesh {
    pub fn new(rules: &MeshRules) -> Result<Mesh, BadPattern> {
        Ok(Mesh {
            matcher: Matcher::new(rules)?,
            rules: rules.clone(),
        })
    }
}

impl Capability for Mesh {
    const NAME: &'static str = "mesh";
    const HELP: &'static [HelpEntry] = HELP;
    type Gathered = Context;

    /// Anything on an issue, a pull request or a discussion.
    fn wants(&self, event: &Event) -> bool {
        event.subject.is_some()
    }

    /// Whether a person removed the label, and a pull request's paths when they may decide.
    async fn gather(
        &self,
        event: &Event,
        reads: &impl Reads,
        memory: &impl Remembered,
    ) -> Result<Context, ExecError> {
        let Some(subject) = &event.subject else {
            return Ok(Context::default());
        };
        let rules = &self.rules;
        let remembered = memory
            .label_memory(&event.repo, subject.number, &rules.label)
            .await?;
        let decided = remembered.suppressed || remembered.on;
        let changed_paths = if wants_paths(event, rules, subject, decided) {
            reads
                .pull_request_files(&event.repo, subject.number)
                .await?
        } else {
            Vec::new()
        };
        Ok(Context {
            state: IssueState {
                label_suppressed: remembered.suppressed,
                label_on: remembered.on,
            },
            changed_paths,
        })
    }

    fn plan(&self, event: &Event, context: Context, _now: DateTime<Utc>) -> Plan {
        plan(event, &self.rules, &self.matcher, &context)
    }
}

/// Whether the plan needs the paths a pull request changes: a pull request event the label may
/// follow from, when path rules exist and nothing else already decided.
fn wants_paths(event: &Event, rules: &MeshRules, subject: &Subject, decided: bool) -> bool {
    event.kind == EventKind::PullRequest
        && matches!(
            event.action,
            EventAction::Opened
                | EventAction::Synchronize
                | EventAction::Reopened
                | EventAction::Edited
        )
        && !rules.paths.is_empty()
        && !subject.labels.contains(&rules.label)
        && !decided
        && !event.sender.is_bot()
}

pub fn plan(event: &Event, rules: &MeshRules, matcher: &Matcher, context: &Context) -> Plan {
    let mut plan = Plan::default();
    if event.sender.is_bot() {
        return plan;
    }
    let Some(subject) = &event.subject else {
        return plan;
    };
    let target = match subject.kind {
        SubjectKind::Discussion => LabelTarget::Discussion {
            number: subject.number,
            node_id: subject.node_id.clone(),
        },
        _ => LabelTarget::Issue {
            number: subject.number,
        },
    };
    let shown = subject.labels.iter().any(|l| l == &rules.label);
    // The payload is as old as the event; what the bot wrote since may be newer.
    let has_label = shown || context.state.label_on;
    let add = |plan: &mut Plan| {
        plan.actions.push(Action::AddLabels {
            repo: event.repo.clone(),
            target: target.clone(),
            labels: vec![rules.label.clone()],
        })
    };
    let label_state = |on: bool| {
        let (repo, number, label) = (event.repo.clone(), subject.number, rules.label.clone());
        if on {
            StateChange::LabelOn {
                repo,
                number,
                label,
            }
        } else {
            StateChange::LabelOff {
                repo,
                number,
                label,
            }
        }
    };
    let remember = |allow: bool| {
        let (repo, number, label) = (event.repo.clone(), subject.number, rules.label.clone());
        if allow {
            StateChange::AllowLabel {
                repo,
                number,
                label,
            }
        } else {
            StateChange::SuppressLabel {
                repo,
                number,
                label,
            }
        }
    };
    // For the report and the agenda: mesh items opened (or labelled) and closed.
    let item = subject.kind.name();
    let activity = |kind| {
        StateChange::Record(Activity {
            repo: event.repo.clone(),
            kind,
            number: subject.number,
            detail: item.to_owned(),
            at_ms: event.at_ms,
        })
    };
    use EventAction as A;
    use EventKind as K;
    let about_subject = event.kind.is_about_subject();
    match (&event.kind, &event.action) {
        (_, A::Closed) if about_subject && has_label => {
            plan.state.push(activity(ActivityKind::MeshClosed));
        }
        (_, A::Unlabeled)
            if about_subject && event.label.as_deref() == Some(rules.label.as_str()) =>
        {
            plan.state.push(remember(false));
            plan.state.push(label_state(false));
        }
        (_, A::Labeled)
            if about_subject && event.label.as_deref() == Some(rules.label.as_str()) =>
        {
            if !context.state.label_on {
                plan.state.push(label_state(true));
            }
            plan.state.push(activity(ActivityKind::MeshOpened));
        }
        (K::Issues, A::Opened | A::Edited | A::Reopened)
        | (K::PullRequest, A::Opened | A::Edited | A::Synchronize | A::Reopened)
        | (K::Discussion, A::Created | A::Edited) => {
            let about_mesh = matcher.matches(&subject.title)
                || matcher.matches(&subject.body)
                || context
                    .changed_paths
                    .iter()
                    .any(|p| matcher.matches_path(p));
            if about_mesh && !has_label && !context.state.label_suppressed {
                add(&mut plan);
            }
            let opened = matches!(event.action, A::Opened | A::Created);
            if opened && (has_label || (about_mesh && !context.state.label_suppressed)) {
                plan.state.push(activity(ActivityKind::MeshOpened));
            }
        }
        (kind, A::Created | A::Edited) if kind.is_comment() => {
            let Some(comment) = &event.comment else {
                return plan;
            };
            // The comment's last word on the label is what it asks for: however many commands it
            // holds, the label is written at most once.
            let wanted = comment
                .commands
                .iter()
                .rev()
                .find_map(|command| match command {
                    Command::AreaMesh => Some(true),
                    Command::RemoveAreaMesh => Some(false),
                    _ => None,
                });
            let Some(wanted) = wanted else {
                return plan;
            };
            plan.state.push(remember(wanted));
            match (wanted, has_label) {
                (true, false) => add(&mut plan),
                (false, true) => plan.actions.push(Action::RemoveLabel {
                    repo: event.repo.clone(),
                    target: target.clone(),
                    label: rules.label.clone(),
                }),
                _ => {}
            }
        }
        _ => {}
    }
    plan
}

#[cfg(test)]
mod tests;
