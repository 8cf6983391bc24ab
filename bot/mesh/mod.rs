//! Mesh labels (SPEC section 6): the `area/mesh` label on issues, pull requests and discussions
//! that are about mesh, the `/area mesh` and `/remove-area mesh` commands, and the promise that a
//! label a person removed is never added back by the bot.
//!
//! Pure: an event, the rules and what the store remembers about the issue in, a plan out.

mod words;

use serde::Deserialize;

use crate::commands::{Command, HelpEntry};
use crate::github::event::SubjectKind;
use crate::github::{Action, Event, ExecError, LabelTarget, Plan, Reads, Subject};
use crate::memory::{Activity, ActivityKind, StateChange};
use crate::store::Store;

pub use words::{BadPattern, Matcher};

pub const HELP: &[HelpEntry] = &[
    HelpEntry {
        usage: "/area mesh",
        description: "adds the mesh label, and lets the bot manage it again",
        who: "anyone",
    },
    HelpEntry {
        usage: "/remove-area mesh",
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

/// The inputs the handler needs beyond the event, fetched by the worker.
#[derive(Debug, Clone, Default)]
pub struct Context<'a> {
    pub state: IssueState,
    /// For pull requests: the paths the pull request changes.
    pub changed_paths: &'a [String],
}

/// Whether the plan needs the paths a pull request changes: a pull request event the label may
/// follow from, when path rules exist and nothing else already decided.
fn wants_paths(event: &Event, rules: &MeshRules, subject: &Subject, decided: bool) -> bool {
    event.name == "pull_request"
        && matches!(
            event.action.as_str(),
            "opened" | "synchronize" | "reopened" | "edited"
        )
        && !rules.paths.is_empty()
        && !subject.labels.contains(&rules.label)
        && !decided
        && !event.sender.is_bot()
}

/// Gathers what the plan needs (whether a person removed the label, a pull request's paths)
/// and plans.
pub async fn handle(
    event: &Event,
    rules: &MeshRules,
    matcher: &Matcher,
    reads: &impl Reads,
    store: &impl Store,
) -> Result<Plan, ExecError> {
    let Some(subject) = &event.subject else {
        return Ok(Plan::default());
    };
    let memory = store
        .label_memory(&event.repo, subject.number, &rules.label)
        .await?;
    let paths = if wants_paths(event, rules, subject, memory.suppressed || memory.on) {
        reads
            .pull_request_files(&event.repo, subject.number)
            .await?
    } else {
        Vec::new()
    };
    let context = Context {
        state: IssueState {
            label_suppressed: memory.suppressed,
            label_on: memory.on,
        },
        changed_paths: &paths,
    };
    Ok(plan(event, rules, matcher, &context))
}

pub fn plan(event: &Event, rules: &MeshRules, matcher: &Matcher, context: &Context<'_>) -> Plan {
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
    let item = match subject.kind {
        SubjectKind::Issue => "issue",
        SubjectKind::PullRequest => "pull_request",
        SubjectKind::Discussion => "discussion",
    };
    let activity = |kind| {
        StateChange::Record(Activity {
            repo: event.repo.clone(),
            kind,
            number: subject.number,
            detail: item.to_owned(),
            at_ms: event.at_ms,
        })
    };
    match (event.name.as_str(), event.action.as_str()) {
        ("issues" | "pull_request" | "discussion", "closed") if has_label => {
            plan.state.push(activity(ActivityKind::MeshClosed));
        }
        ("issues" | "pull_request" | "discussion", "unlabeled")
            if event.label.as_deref() == Some(rules.label.as_str()) =>
        {
            plan.state.push(remember(false));
            plan.state.push(label_state(false));
        }
        ("issues" | "pull_request" | "discussion", "labeled")
            if event.label.as_deref() == Some(rules.label.as_str()) =>
        {
            if !context.state.label_on {
                plan.state.push(label_state(true));
            }
            plan.state.push(activity(ActivityKind::MeshOpened));
        }
        ("issues", "opened" | "edited" | "reopened")
        | ("pull_request", "opened" | "edited" | "synchronize" | "reopened")
        | ("discussion", "created" | "edited") => {
            let about_mesh = matcher.matches(&subject.title)
                || matcher.matches(&subject.body)
                || context
                    .changed_paths
                    .iter()
                    .any(|p| matcher.matches_path(p));
            if about_mesh && !has_label && !context.state.label_suppressed {
                add(&mut plan);
            }
            let opened = matches!(event.action.as_str(), "opened" | "created");
            if opened && (has_label || (about_mesh && !context.state.label_suppressed)) {
                plan.state.push(activity(ActivityKind::MeshOpened));
            }
        }
        ("issue_comment" | "discussion_comment", "created" | "edited") => {
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
