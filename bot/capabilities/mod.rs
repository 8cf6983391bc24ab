//! The capabilities: what reacts to events. Each owns a folder and implements [`Capability`]
//! (a trigger, a gathering through the narrow read seams, a pure plan, its commands' help); this
//! file lists them once. Serve, replay, the tests and the benches build them all through
//! [`Capabilities::new`] and plan through [`Capabilities::plan`]; nothing else names them.
//!
//! Not here: what the bot publishes without an event (`products`), the GEP process's own rules
//! (`domain`), and the IO that runs the plans (`machinery`).

pub mod capability;

use std::sync::Arc;

use chrono::{DateTime, Utc};

pub use capability::Capability;

use crate::core::{Action, Event, ExecError, Memo, Plan, Reads, Remembered};
use crate::domain::commands::HelpEntry;
use crate::machinery::config::Config;
use crate::machinery::github::Credentials;
use crate::products::dashboard::served::Served;

/// What the capabilities are built from: the configuration, and what the running bot adds to it.
pub struct Setup<'a> {
    pub config: &'a Config,
    /// Whether check runs can be written (a GitHub App, or none, planning as one would); with a
    /// token the check's result is a commit status and a comment instead.
    pub check_runs: bool,
    /// The served dashboard, when there is one: `/gep status` takes the conformance reports and
    /// the history it read (not read per request).
    pub dashboard: Option<Arc<Served>>,
}

impl<'a> Setup<'a> {
    /// As `config` says, publishing as `credentials` can, with no dashboard.
    pub fn new(config: &'a Config, credentials: Option<&Credentials>) -> Setup<'a> {
        Setup {
            config,
            check_runs: credentials.is_none_or(Credentials::can_write_check_runs),
            dashboard: None,
        }
    }

    pub fn with_dashboard(mut self, dashboard: Option<Arc<Served>>) -> Setup<'a> {
        self.dashboard = dashboard;
        self
    }
}

/// The list: each line a capability's field, its type, and how it is built from the [`Setup`].
/// The order is the order their actions are planned in, and `/gep help` lists their commands.
macro_rules! capabilities {
    ($setup:ident => $($field:ident: $module:ident::$kind:ident = $build:expr),* $(,)?) => {
        $(pub mod $module;)*

        /// Every capability, built from the configuration.
        pub struct Capabilities {
            $(pub $field: $module::$kind,)*
        }

        impl Capabilities {
            /// Every command's help, by capability, in the order `/gep help` lists them.
            pub const HELP: &'static [&'static [HelpEntry]] =
                &[$(<$module::$kind as Capability>::HELP),*];

            pub fn new($setup: &Setup<'_>) -> anyhow::Result<Capabilities> {
                Ok(Capabilities { $($field: $build,)* })
            }

            /// Every capability's plan for one event, at `now`. Reads only: nothing is executed.
            pub async fn plan(
                &self,
                event: &Event,
                reads: impl Reads,
                memory: &impl Remembered,
                now: DateTime<Utc>,
            ) -> Result<Plan, ExecError> {
                // Several capabilities need the same pull request's files: read once for the job.
                let reads = Memo::new(reads);
                // They gather at the same time: their reads overlap (as many at once as the
                // client lets one installation have), and each plan comes out in list order.
                let ($($field,)*) = futures::join!($(self.$field.run(event, &reads, memory, now)),*);
                let mut plan = Plan::default();
                $(plan.extend($field?);)*
                merge_replies(&mut plan);
                feedback_first(&mut plan);
                Ok(plan)
            }
        }
    };
}

capabilities! { setup =>
    mesh: mesh::Mesh = mesh::Mesh::new(&setup.config.mesh)?,
    status: status::GepStatus = status::GepStatus::new(&setup.config.review, setup.dashboard.clone()),
    checks: checks::TemplateCheck = checks::TemplateCheck::new(&setup.config.review, &setup.config.checks, setup.check_runs),
    review: review::LeadReview = review::LeadReview::new(&setup.config.review),
    nominate: nominate::Nominate = nominate::Nominate::new(&setup.config.review),
    help: help::Help = help::Help::new(&setup.config.review, Capabilities::HELP),
    lifecycle: lifecycle::Lifecycle = lifecycle::Lifecycle::new(&setup.config.lifecycle, &setup.config.review),
    agenda: agenda::AgendaComment = agenda::AgendaComment::new(&setup.config.review),
    graduation: graduation::Graduation = graduation::Graduation::new(&setup.config.dashboard.ready_label)
        .with_agenda(setup.config.agenda.target().is_some()),
}

/// The order the writes go out in, one installation's a second apart: what the author waits for
/// first (the check run), then the status comment and replies, the commit status, the labels.
/// Stable: actions of one rank keep the order their capabilities planned them in.
fn feedback_first(plan: &mut Plan) {
    plan.actions.sort_by_key(|action| match action {
        Action::CreateCheckRun { .. } | Action::UpdateCheckRun { .. } => 0,
        // The fixes for what the check run found, beside it.
        Action::SuggestChanges { .. } => 1,
        Action::CreateComment { .. }
        | Action::UpdateComment { .. }
        | Action::Reply { .. }
        | Action::CreateDiscussionComment { .. }
        | Action::DiscussionReply { .. } => 2,
        Action::SetCommitStatus { .. } => 3,
        Action::AddLabels { .. } | Action::RemoveLabel { .. } => 4,
        Action::RequestReview { .. } => 5,
    });
}

/// One comment gets at most one reply: what several capabilities answer to it is said together.
fn merge_replies(plan: &mut Plan) {
    /// The reply's thread and text, for either kind of reply.
    fn reply(action: &mut Action) -> Option<((&str, u64), &mut String)> {
        match action {
            Action::Reply { repo, issue, body } => Some(((repo, *issue), body)),
            Action::DiscussionReply {
                repo, number, body, ..
            } => Some(((repo, *number), body)),
            _ => None,
        }
    }
    let mut merged: Vec<Action> = Vec::with_capacity(plan.actions.len());
    for mut action in plan.actions.drain(..) {
        if let Some((thread, body)) = reply(&mut action)
            && let Some((_, earlier)) = merged
                .iter_mut()
                .filter_map(reply)
                .find(|(other, _)| *other == thread)
        {
            earlier.push_str("\n\n");
            earlier.push_str(body);
            continue;
        }
        merged.push(action);
    }
    plan.actions = merged;
}
