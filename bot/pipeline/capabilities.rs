//! The capabilities, in one list: each owns its trigger, what it reads (through the narrow
//! [`Reads`] seam, memoised for the job, and the store), and its pure plan. The pipeline knows
//! none of what they read; `gep-bot replay` plans through this same function.

use std::sync::Arc;

use crate::checks::{self, CheckRules};
use crate::commands::HelpEntry;
use crate::dashboard::served::Served;
use crate::github::action::Action;
use crate::github::{Credentials, Event, ExecError, Memo, Plan, Reads};
use crate::help;
use crate::lifecycle::{self, LifecycleRules};
use crate::mesh::{self, Matcher, MeshRules};
use crate::review::{self, ReviewRules};
use crate::status;
use crate::store::Store;
use crate::validate::Template;

/// Every command's help, by capability, in the order `/gep help` lists them.
pub const HELP: &[&[HelpEntry]] = &[status::HELP, review::HELP, mesh::HELP, help::HELP];

/// What the capabilities are configured with.
pub struct Handlers {
    pub mesh: MeshRules,
    pub matcher: Matcher,
    pub review: ReviewRules,
    pub lifecycle: LifecycleRules,
    /// The GEP template `/gep status` applies.
    pub template: Template,
    /// Where the check run finds the repository's template, and more section names.
    pub checks: CheckRules,
    /// Whether check runs can be written (a GitHub App); with a token the check's result is a
    /// commit status and a comment instead.
    pub check_runs: bool,
    /// The served dashboard, when there is one: `/gep status` takes the conformance reports and
    /// the history it read (not read per request).
    pub dashboard: Option<Arc<Served>>,
}

impl Handlers {
    pub fn new(
        mesh: MeshRules,
        review: ReviewRules,
        checks: CheckRules,
        lifecycle: LifecycleRules,
    ) -> Result<Handlers, mesh::BadPattern> {
        let matcher = Matcher::new(&mesh)?;
        Ok(Handlers {
            mesh,
            matcher,
            review,
            lifecycle,
            template: Template::builtin(),
            checks,
            check_runs: true,
            dashboard: None,
        })
    }

    /// `/gep status` on the dashboard's repository reads what the dashboard read.
    pub fn with_dashboard(mut self, dashboard: Option<Arc<Served>>) -> Handlers {
        self.dashboard = dashboard;
        self
    }

    /// Plans as the credentials can publish: check runs with an App (or none, planning as one
    /// would), a commit status and a comment with a token.
    pub fn publishing_with(mut self, credentials: Option<&Credentials>) -> Handlers {
        self.check_runs = credentials.is_none_or(Credentials::can_write_check_runs);
        self
    }
}

/// Every capability's plan for one event. Reads only: nothing is executed.
pub async fn plan(
    event: &Event,
    handlers: &Handlers,
    reads: impl Reads,
    store: &impl Store,
) -> Result<Plan, ExecError> {
    // The bot's own timed work has no subject: the agenda before a meeting.
    if event.name == crate::agenda::EVENT {
        return crate::agenda::handle(event, &handlers.review, &reads, store).await;
    }
    if event.subject.is_none() {
        return Ok(Plan::default());
    }
    // Several capabilities need the same pull request's files: read once for the job.
    let reads = Memo::new(reads);
    let h = handlers;
    let mut plan = Plan::default();
    plan.extend(mesh::handle(event, &h.mesh, &h.matcher, &reads, store).await?);
    let dashboard = h.dashboard.as_ref().and_then(|d| d.page_of(&event.repo));
    plan.extend(
        status::handle(
            event,
            &h.review,
            &h.template,
            dashboard.as_deref(),
            &reads,
            store,
        )
        .await?,
    );
    plan.extend(checks::handle(event, &h.review.geps_dir, &h.checks, &reads).await?);
    plan.extend(review::handle(event, &h.review, &reads, store).await?);
    plan.extend(help::handle(event, HELP, &h.review, &reads).await?);
    plan.extend(lifecycle::handle(event, &h.lifecycle, &h.review.geps_dir, &reads, store).await?);
    if !h.check_runs {
        checks::as_commit_status(&mut plan);
    }
    merge_replies(&mut plan);
    Ok(plan)
}

/// One comment gets at most one reply: what several capabilities answer to it is said together.
fn merge_replies(plan: &mut Plan) {
    let mut merged: Vec<Action> = Vec::with_capacity(plan.actions.len());
    for action in plan.actions.drain(..) {
        if let Action::Reply { repo, issue, body } = &action
            && let Some(Action::Reply { body: earlier, .. }) = merged.iter_mut().find(
                |a| matches!(a, Action::Reply { repo: r, issue: i, .. } if r == repo && i == issue),
            )
        {
            earlier.push_str("\n\n");
            earlier.push_str(body);
            continue;
        }
        merged.push(action);
    }
    plan.actions = merged;
}
