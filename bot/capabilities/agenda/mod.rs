//! The agenda before each meeting (SPEC section 13): one comment in the configured issue (or
//! discussion), written `lead_time_hours` before the meeting and brought up to date
//! `refresh_hours` before it, saying what people nominated (`/gep nominate`), what happened since
//! the previous meeting (mesh items opened, GEP status changes, GEPs found ready to graduate), the
//! GEP pull requests awaiting lead review with the leads still to approve, open concerns, and the
//! meeting's time in UTC and Pacific with the series' slots.
//!
//! Timed work goes through the same durable store as deliveries: the [`Scheduler`] stores each
//! pass as a delivery due at its time, named by repository, meeting and pass, so replicas and
//! restarts store it once and one worker runs it once (a retry does only what is left). The
//! agenda is computed from the store alone (the activity table and the stored reviews), so
//! `gep-bot agenda --for DATE` prints what the comment says.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::products::calendar::{self, Schedule, Status as MeetingStatus};
use super::capability::Capability;
use crate::core::{Action, Event, EventKind, ExecError, Plan, Reads, Remembered, SubjectKind};
use crate::core::state::{Activity, ActivityKind, Nomination, ReviewState, Vote};
use crate::domain::text::sanitize;
use crate::capabilities::review::ReviewRules;
use crate::machinery::store::{NewDelivery, Store, StoreError};

/// The event name of a scheduled agenda pass (never a webhook's: intake refuses it).
pub const EVENT: &str = crate::core::event::AGENDA_EVENT;
/// How far ahead the scheduler stores passes.
pub const LOOKAHEAD_DAYS: i64 = 14;
/// How often the scheduler looks again (a new schedule, a new meeting in the window).
pub const SCHEDULE_EVERY: Duration = Duration::from_secs(15 * 60);

/// `[agenda]` in `bot.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgendaRules {
    /// `OWNER/NAME` (default: `[dashboard] repo`); with no issue, no agenda is written.
    pub repo: Option<String>,
    /// The issue the agenda comments go in ...
    pub issue: Option<u64>,
    /// ... or the discussion.
    pub discussion: Option<u64>,
    pub lead_time_hours: u32,
    /// The last refresh, this long before the meeting.
    pub refresh_hours: u32,
}

impl Default for AgendaRules {
    fn default() -> Self {
        AgendaRules {
            repo: None,
            issue: None,
            discussion: None,
            lead_time_hours: 24,
            refresh_hours: 1,
        }
    }
}

impl AgendaRules {
    /// Where the agenda goes, when it goes anywhere.
    pub fn target(&self) -> Option<Target> {
        match (self.issue, self.discussion) {
            (Some(issue), _) => Some(Target::Issue(issue)),
            (None, Some(discussion)) => Some(Target::Discussion(discussion)),
            (None, None) => None,
        }
    }

    /// What is wrong with the rules, in one line naming the setting.
    pub fn problem(&self) -> Option<String> {
        if self.issue.is_some() && self.discussion.is_some() {
            return Some("[agenda] names both an issue and a discussion: keep one".into());
        }
        if self.target().is_some() && self.repo.is_none() {
            return Some(
                "[agenda] issue is set but no repository: set [agenda] repo or [dashboard] repo"
                    .into(),
            );
        }
        if let Some(repo) = &self.repo
            && !crate::core::event::is_repository_name(repo)
        {
            return Some(format!("[agenda] repo {repo:?} is not OWNER/NAME"));
        }
        if self.lead_time_hours == 0 || self.refresh_hours >= self.lead_time_hours {
            return Some(format!(
                "[agenda] lead_time_hours ({}) must be more than refresh_hours ({})",
                self.lead_time_hours, self.refresh_hours
            ));
        }
        None
    }
}

/// Which of a meeting's two passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pass {
    /// `lead_time_hours` before.
    First,
    /// `refresh_hours` before.
    Refresh,
}

/// Where the agenda comments go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Issue(u64),
    Discussion(u64),
}

/// One agenda pass: the meeting it is for, and where it goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Due {
    pub repo: String,
    pub target: Target,
    pub meeting: DateTime<Utc>,
    /// The previous meeting held (what happened since it is listed).
    pub previous: Option<DateTime<Utc>>,
    /// Which meeting (the series' title, or the calendar's name).
    pub title: String,
    /// The meeting in Pacific time, and the series' slots ("Monday 15:00", "Tuesday 08:00").
    pub local: String,
    pub slots: Vec<String>,
    pub pass: Pass,
}

impl Due {
    /// Names the pass: the dedupe key of its stored delivery.
    pub fn delivery_id(&self) -> String {
        let pass = match self.pass {
            Pass::First => "first",
            Pass::Refresh => "refresh",
        };
        format!(
            "agenda:{}:{}:{pass}",
            self.repo,
            self.meeting.format("%Y-%m-%dT%H:%MZ")
        )
    }

    /// The body stored for the pass, shaped as a webhook's so the worker reads it the same way.
    pub fn body(&self, installation: Option<u64>) -> Vec<u8> {
        crate::core::event::scheduled_body(&self.repo, installation, self)
    }

    pub fn marker(&self) -> String {
        Action::marker(&format!(
            "agenda-{}",
            self.meeting.format("%Y-%m-%dT%H:%MZ")
        ))
    }
}

/// The meetings held (not cancelled) whose start lies in `[from, to)`, with the one before each.
fn held(
    schedule: &Schedule,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<(Option<DateTime<Utc>>, calendar::Occurrence)> {
    // A year back is enough to find the meeting before the first.
    let all: Vec<_> = calendar::occurrences(schedule, from - chrono::Duration::days(366), to)
        .into_iter()
        .filter(|o| o.status != MeetingStatus::Cancelled)
        .collect();
    all.iter()
        .enumerate()
        .filter(|(_, o)| o.start >= from)
        .map(|(i, o)| (i.checked_sub(1).map(|p| all[p].start), o.clone()))
        .collect()
}

fn due_for(
    schedule: &Schedule,
    repo: &str,
    target: Target,
    previous: Option<DateTime<Utc>>,
    meeting: &calendar::Occurrence,
    pass: Pass,
) -> Due {
    let series = schedule.series.iter().find(|s| s.id == meeting.series);
    let slots = series.map_or_else(Vec::new, |s| {
        s.slots
            .iter()
            .map(|slot| {
                format!(
                    "{} {}",
                    calendar::day_name(slot.day),
                    slot.time.format("%H:%M")
                )
            })
            .collect()
    });
    let local = meeting.start.with_timezone(&schedule.timezone);
    Due {
        repo: repo.to_owned(),
        target,
        meeting: meeting.start,
        previous,
        title: meeting.meeting(schedule).to_owned(),
        local: local.format("%A %Y-%m-%d %H:%M %Z").to_string(),
        slots,
        pass,
    }
}

/// The passes to store at `now`: for each meeting held in the next [`LOOKAHEAD_DAYS`], its two
/// passes, each due at its time (or now, when that time has passed and the meeting has not).
pub fn passes(
    schedule: &Schedule,
    rules: &AgendaRules,
    repo: &str,
    target: Target,
    now: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, Due)> {
    let mut out = Vec::new();
    for (previous, meeting) in held(schedule, now, now + chrono::Duration::days(LOOKAHEAD_DAYS)) {
        for (pass, hours) in [
            (Pass::First, rules.lead_time_hours),
            (Pass::Refresh, rules.refresh_hours),
        ] {
            let at = (meeting.start - chrono::Duration::hours(hours as i64)).max(now);
            out.push((
                at,
                due_for(schedule, repo, target, previous, &meeting, pass),
            ));
        }
    }
    out
}

/// The meeting held on `date` (in the calendar's zone) as an agenda would be written for it.
pub fn for_date(schedule: &Schedule, repo: &str, target: Target, date: NaiveDate) -> Option<Due> {
    let zone = schedule.timezone;
    let from = calendar::local_to_utc(zone, date.and_hms_opt(0, 0, 0)?);
    let to = calendar::local_to_utc(zone, date.succ_opt()?.and_hms_opt(0, 0, 0)?);
    let (previous, meeting) = held(schedule, from, to).into_iter().next()?;
    Some(due_for(
        schedule,
        repo,
        target,
        previous,
        &meeting,
        Pass::Refresh,
    ))
}

/// A GEP pull request awaiting lead review.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Awaiting {
    pub pull: u64,
    pub approvals: usize,
    pub quorum: usize,
    /// Leads who have not approved (the author excluded when known).
    pub pending: Vec<String>,
    pub open_concerns: Vec<String>,
}

/// An item nominated for the meeting (`/gep nominate`): its number, and who nominated it, why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Nominated {
    pub number: u64,
    #[serde(flatten)]
    pub of: Nomination,
}

/// What the agenda says.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agenda {
    pub due: Due,
    /// Mesh items opened since the previous meeting: (kind, number).
    pub new_mesh: Vec<(String, u64)>,
    pub status_changes: Vec<(u64, String)>,
    pub awaiting_review: Vec<Awaiting>,
    /// Items nominated since the previous meeting and not taken off, in the order nominated.
    pub nominated: Vec<Nominated>,
    /// GEPs found ready for their next status since the previous meeting: (GEP, that status).
    pub ready: Vec<(u64, String)>,
}

/// The nominations among `activity` (in time order) still standing: a cancellation takes every
/// earlier nomination of its item off.
fn nominations<'a>(activity: impl Iterator<Item = &'a Activity>) -> Vec<Nominated> {
    let mut standing: Vec<Nominated> = Vec::new();
    for a in activity {
        let Ok(of) = serde_json::from_str::<Nomination>(&a.detail) else {
            continue;
        };
        match a.kind {
            ActivityKind::Nominated => standing.push(Nominated {
                number: a.number,
                of,
            }),
            ActivityKind::NominationCancelled => standing.retain(|n| n.number != a.number),
            _ => {}
        }
    }
    standing
}

/// The agenda from the store's activity (all of it up to the meeting) and the reviews of the
/// pull requests still open.
pub fn agenda(
    due: &Due,
    activity: &[Activity],
    reviews: &[(u64, Option<ReviewState>)],
    rules: &ReviewRules,
) -> Agenda {
    let since = due.previous.map_or(i64::MIN, |p| p.timestamp_millis());
    let recent = |a: &&Activity| a.at_ms.is_some_and(|t| t >= since);
    let new_mesh = activity
        .iter()
        .filter(recent)
        .filter(|a| a.kind == ActivityKind::MeshOpened)
        .map(|a| (a.detail.clone(), a.number))
        .collect();
    let since_of = |kind: ActivityKind| -> Vec<(u64, String)> {
        activity
            .iter()
            .filter(recent)
            .filter(|a| a.kind == kind)
            .map(|a| (a.number, a.detail.clone()))
            .collect()
    };
    let status_changes = since_of(ActivityKind::StatusChanged);
    let ready = since_of(ActivityKind::ReadyToGraduate);
    let nominated = nominations(activity.iter().filter(recent).filter(|a| {
        matches!(
            a.kind,
            ActivityKind::Nominated | ActivityKind::NominationCancelled
        )
    }));
    let awaiting_review = reviews
        .iter()
        .filter(|(_, state)| state.as_ref().is_none_or(|s| !s.is_approved(rules)))
        .map(|(pull, state)| {
            let state = state.clone().unwrap_or_default();
            let approved: BTreeSet<String> = state
                .votes
                .iter()
                .filter(|(_, v)| **v == Vote::Approved)
                .map(|(who, _)| who.to_lowercase())
                .collect();
            Awaiting {
                pull: *pull,
                approvals: state.approvals(rules),
                quorum: rules.quorum,
                pending: rules
                    .leads
                    .iter()
                    .filter(|l| !approved.contains(&l.to_lowercase()))
                    .cloned()
                    .collect(),
                open_concerns: state
                    .concerns
                    .iter()
                    .filter(|c| c.open)
                    .map(|c| format!("{} (raised by {})", c.name, c.raised_by))
                    .collect(),
            }
        })
        .collect();
    Agenda {
        due: due.clone(),
        new_mesh,
        status_changes,
        awaiting_review,
        nominated,
        ready,
    }
}

/// The GEP pull requests the store knows as under review and not closed, oldest first.
pub fn open_reviews(activity: &[Activity]) -> Vec<u64> {
    let closed: BTreeSet<u64> = activity
        .iter()
        .filter(|a| a.kind == ActivityKind::PullClosed)
        .map(|a| a.number)
        .collect();
    let mut open: Vec<u64> = activity
        .iter()
        .filter(|a| a.kind == ActivityKind::ReviewStarted && !closed.contains(&a.number))
        .map(|a| a.number)
        .collect();
    open.dedup();
    open
}

impl Agenda {
    pub fn markdown(&self) -> String {
        let due = &self.due;
        // The executor puts the marker first (it finds the comment by it).
        let mut out = format!(
            "## Agenda: {}, {}\n\n**When:** {} ({}). Slots: {}.\n",
            due.title,
            due.meeting.format("%Y-%m-%d"),
            due.meeting.format("%A %Y-%m-%d %H:%M UTC"),
            due.local,
            if due.slots.is_empty() {
                "-".to_owned()
            } else {
                due.slots
                    .iter()
                    .map(|s| format!("{s} PT"))
                    .collect::<Vec<_>>()
                    .join(" / ")
            }
        );
        // What people asked to discuss comes first; text people wrote is echoed with no mention
        // and no markup.
        let nominated = self.nominated.iter().map(|n| {
            let what = SubjectKind::of(&n.of.item).map_or("issue", SubjectKind::in_words);
            let mut line = format!("{what} #{}, by {}", n.number, sanitize(&n.of.by, 39));
            if !n.of.reason.is_empty() {
                line.push_str(&format!(": {}", sanitize(&n.of.reason, 200)));
            }
            line
        });
        section(&mut out, "Nominated", nominated);
        let since = due.previous.map_or("the start".to_owned(), |p| {
            p.format("the meeting of %Y-%m-%d").to_string()
        });
        let mesh = self.new_mesh.iter().map(|(kind, number)| {
            let what = SubjectKind::of(kind).map_or("issue", SubjectKind::in_words);
            format!("{what} #{number}")
        });
        section(&mut out, &format!("New mesh work since {since}"), mesh);
        let changes = self
            .status_changes
            .iter()
            .map(|(gep, change)| format!("GEP-{gep}: {change}"));
        section(&mut out, "GEP status changes", changes);
        let ready = self
            .ready
            .iter()
            .map(|(gep, next)| format!("GEP-{gep}: meets every criterion of {next}"));
        section(&mut out, "GEPs ready to graduate", ready);
        // Leads are named without `@`: an agenda must not ping them every hour.
        let awaiting = self.awaiting_review.iter().map(|a| {
            let mut line = format!(
                "#{}: {}/{} approvals; pending: {}",
                a.pull,
                a.approvals,
                a.quorum,
                a.pending.join(", ")
            );
            if !a.open_concerns.is_empty() {
                line.push_str(&format!("; open concerns: {}", a.open_concerns.join(", ")));
            }
            line
        });
        section(&mut out, "GEP pull requests awaiting lead review", awaiting);
        out
    }
}

/// A section of the agenda: its heading, then a line per item, or "None.".
fn section(out: &mut String, heading: &str, items: impl Iterator<Item = String>) {
    write!(out, "\n### {heading}\n\n").expect("a string takes writes");
    let mut none = true;
    for item in items {
        writeln!(out, "- {item}").expect("a string takes writes");
        none = false;
    }
    if none {
        out.push_str("None.\n");
    }
}

/// The agenda comment before a meeting, planned from the store.
pub struct AgendaComment {
    pub review: ReviewRules,
}

impl AgendaComment {
    pub fn new(review: &ReviewRules) -> AgendaComment {
        AgendaComment {
            review: review.clone(),
        }
    }
}

/// The pass the scheduler stored, from a scheduled event.
fn due_of(event: &Event) -> Option<Due> {
    event.scheduled_as(EventKind::Agenda)
}

impl Capability for AgendaComment {
    const NAME: &'static str = "agenda";
    /// The pass, and the agenda the store gives for it.
    type Gathered = Option<(Due, Agenda)>;

    /// The bot's own timed work, with no subject: an agenda pass before a meeting.
    fn wants(&self, event: &Event) -> bool {
        due_of(event).is_some()
    }

    async fn gather(
        &self,
        event: &Event,
        reads: &impl Reads,
        memory: &impl Remembered,
    ) -> Result<Option<(Due, Agenda)>, ExecError> {
        let Some(due) = due_of(event) else {
            return Ok(None);
        };
        let rules = self.review.of_repository(&due.repo, reads).await?;
        let agenda = gather(&due, &rules, memory).await?;
        Ok(Some((due, agenda)))
    }

    fn plan(&self, _event: &Event, gathered: Option<(Due, Agenda)>, _now: DateTime<Utc>) -> Plan {
        let mut plan = Plan::default();
        let Some((due, agenda)) = gathered else {
            return plan;
        };
        let (repo, marker, body) = (due.repo.clone(), due.marker(), agenda.markdown());
        plan.actions.push(match due.target {
            Target::Issue(issue) => Action::CreateComment {
                repo,
                issue,
                marker,
                body,
            },
            Target::Discussion(discussion) => Action::CreateDiscussionComment {
                repo,
                discussion,
                marker,
                body,
            },
        });
        plan
    }
}

/// The agenda of `due` from the store.
pub async fn gather(
    due: &Due,
    rules: &ReviewRules,
    store: &impl Remembered,
) -> Result<Agenda, ExecError> {
    let activity = store
        .activity(&due.repo, i64::MIN, due.meeting.timestamp_millis())
        .await?;
    let mut reviews = Vec::new();
    for pull in open_reviews(&activity) {
        reviews.push((pull, store.review(&due.repo, pull).await?));
    }
    Ok(agenda(due, &activity, &reviews, rules))
}

/// Stores the agenda passes of the coming meetings, now and every [`SCHEDULE_EVERY`], until
/// `stopped`. Every replica runs one; the store keeps each pass once.
pub struct Scheduler<S> {
    pub store: Arc<S>,
    pub schedule: Arc<Schedule>,
    pub rules: AgendaRules,
    pub repo: String,
    pub target: Target,
    /// The App's installation on the repository (none with a token).
    pub installation: Option<u64>,
    pub clock: fn() -> i64,
    /// Rung when a pass is stored, so an idle worker looks at once.
    pub queued: Arc<tokio::sync::Notify>,
}

impl<S: Store> Scheduler<S> {
    /// Stores the passes due from now; answers how many were new.
    pub async fn tick(&self) -> Result<usize, StoreError> {
        let now_ms = (self.clock)();
        let now = DateTime::from_timestamp_millis(now_ms).unwrap_or_default();
        let mut stored = 0;
        for (at, due) in passes(&self.schedule, &self.rules, &self.repo, self.target, now) {
            let body = due.body(self.installation);
            let id = due.delivery_id();
            let delivery = NewDelivery {
                id: &id,
                event: EVENT,
                body: &body,
            };
            let recorded = self
                .store
                .schedule(delivery, now_ms, at.timestamp_millis())
                .await?;
            if recorded == crate::machinery::store::Recorded::New {
                stored += 1;
            }
        }
        if stored > 0 {
            self.queued.notify_one();
        }
        Ok(stored)
    }

    pub async fn run(self, mut stopped: watch::Receiver<bool>) {
        loop {
            match self.tick().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(passes = n, "agenda passes scheduled"),
                Err(error) => tracing::warn!(%error, "cannot schedule the agenda"),
            }
            tokio::select! {
                _ = tokio::time::sleep(SCHEDULE_EVERY) => {}
                _ = stopped.changed() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests;
