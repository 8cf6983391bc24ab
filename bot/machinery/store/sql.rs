//! SQL that both stores run as it is: `$n` placeholders, `ON CONFLICT` and `RETURNING` mean the
//! same in SQLite and PostgreSQL. Statements that differ (claiming, recording, counting) stay with
//! their store.

use crate::core::state::StateChange;

pub const COMPLETE: &str = "UPDATE jobs SET state = 'done', lease_until = NULL, worker = NULL, finished_ms = $2 WHERE id = $1";
pub const RETRY: &str = "UPDATE jobs SET state = 'queued', run_after = $2, last_error = $3, lease_until = NULL, worker = NULL WHERE id = $1";
pub const BURY: &str = "UPDATE jobs SET state = 'dead', last_error = $2, finished_ms = $3, lease_until = NULL, worker = NULL WHERE id = $1";
/// The jobs queued, running and dead, each state counted in its own partial index (SQLite's
/// migration 0010, PostgreSQL's 0010), not by reading every job.
pub const COUNTS: &str = "SELECT (SELECT COUNT(*) FROM jobs WHERE state = 'queued'),
        (SELECT COUNT(*) FROM jobs WHERE state = 'running'),
        (SELECT COUNT(*) FROM jobs WHERE state = 'dead')";
pub const REQUEUE_DEAD: &str =
    "UPDATE jobs SET state = 'queued', attempts = 0, run_after = $1 WHERE state = 'dead'";
/// Whether a person removed the label, and whether it is on as far as the bot knows (0 or 1).
pub const LABEL_MEMORY: &str = "SELECT
    CAST(EXISTS (SELECT 1 FROM label_suppressions WHERE repo = $1 AND number = $2 AND label = $3) AS INTEGER),
    CAST(EXISTS (SELECT 1 FROM labels_on WHERE repo = $1 AND number = $2 AND label = $3) AS INTEGER)";
pub const LABEL_ON: &str =
    "INSERT INTO labels_on (repo, number, label) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
pub const LABEL_OFF: &str = "DELETE FROM labels_on WHERE repo = $1 AND number = $2 AND label = $3";
pub const SUPPRESS_LABEL: &str = "INSERT INTO label_suppressions (repo, number, label) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
pub const ALLOW_LABEL: &str =
    "DELETE FROM label_suppressions WHERE repo = $1 AND number = $2 AND label = $3";
pub const SAVE_REVIEW: &str = "INSERT INTO reviews (repo, number, state) VALUES ($1, $2, $3) ON CONFLICT (repo, number) DO UPDATE SET state = excluded.state";
/// An activity, kept at the earliest time it was seen (`CASE`, not `MIN`/`LEAST`: the two stores
/// name that function differently).
pub const RECORD_ACTIVITY: &str = "INSERT INTO activity (repo, kind, number, detail, at_ms) VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (repo, kind, number, detail) DO UPDATE
    SET at_ms = CASE WHEN excluded.at_ms < activity.at_ms THEN excluded.at_ms ELSE activity.at_ms END";
/// A repository's activity in `[$2, $3)`, in time order.
pub const ACTIVITY: &str = "SELECT kind, number, detail, at_ms FROM activity
    WHERE repo = $1 AND at_ms >= $2 AND at_ms < $3 ORDER BY at_ms, kind, number";
pub const RECORD_DONE_ACTIONS: &str = "INSERT INTO done_actions (job_id, keys) VALUES ($1, $2) ON CONFLICT (job_id) DO UPDATE SET keys = excluded.keys";
/// Readiness: a one-row write that commits (or fails) as a delivery's would.
pub const PROBE: &str = "INSERT INTO health (id, probed_ms) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET probed_ms = excluded.probed_ms";
pub const SAY: &str = "INSERT INTO said (repo, number, about, digest) VALUES ($1, $2, $3, $4) ON CONFLICT (repo, number, about) DO UPDATE SET digest = excluded.digest";
pub const SAID: &str = "SELECT number, digest FROM said WHERE repo = $1 AND about = $2";
pub const REFUSE_REVIEWER: &str = "INSERT INTO review_refusals (repo, number, reviewer, why) VALUES ($1, $2, $3, $4) ON CONFLICT (repo, number, reviewer) DO UPDATE SET why = excluded.why";
pub const LOAD_REFUSALS: &str =
    "SELECT reviewer, why FROM review_refusals WHERE repo = $1 AND number = $2";
pub const LOAD_REVIEW: &str = "SELECT state FROM reviews WHERE repo = $1 AND number = $2";
/// At most `$2` deliveries received before `$1`, oldest first, found through their
/// `received_ms` index: a prune that finds nothing reads nothing, and a large one goes in batches
/// that other writes can come between. Whether a delivery's job is unfinished is looked up by
/// the job's delivery (its unique index), not in the indexes of unfinished jobs, which index one
/// state each. The LIMIT is cast for the reason the SQLite claim's is: a bare bound LIMIT voids
/// the prepared statement each time it is bound. (PostgreSQL, whose jobs have no foreign key to
/// cascade from, runs its own that deletes the jobs too.)
pub const PRUNE: &str = "DELETE FROM deliveries WHERE id IN (
    SELECT id FROM deliveries
     WHERE received_ms < $1
       AND NOT EXISTS (SELECT 1 FROM jobs
                        WHERE jobs.delivery_id = deliveries.id AND jobs.state IN ('queued', 'running'))
     ORDER BY received_ms
     LIMIT CAST($2 AS INTEGER))";

/// A value for a `$n` placeholder, bound by each store its own way.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Int(i64),
    Text(String),
}

/// The statement that records `change`, with the values for `$1`, `$2`, ...
pub fn state_change(change: &StateChange) -> Result<(&'static str, Vec<Param>), serde_json::Error> {
    let issue =
        |repo: &str, number: u64| vec![Param::Text(repo.to_owned()), Param::Int(number as i64)];
    Ok(match change {
        StateChange::SuppressLabel {
            repo,
            number,
            label,
        } => (
            SUPPRESS_LABEL,
            [issue(repo, *number), vec![Param::Text(label.clone())]].concat(),
        ),
        StateChange::AllowLabel {
            repo,
            number,
            label,
        } => (
            ALLOW_LABEL,
            [issue(repo, *number), vec![Param::Text(label.clone())]].concat(),
        ),
        StateChange::LabelOn {
            repo,
            number,
            label,
        } => (
            LABEL_ON,
            [issue(repo, *number), vec![Param::Text(label.clone())]].concat(),
        ),
        StateChange::LabelOff {
            repo,
            number,
            label,
        } => (
            LABEL_OFF,
            [issue(repo, *number), vec![Param::Text(label.clone())]].concat(),
        ),
        StateChange::Record(activity) => (
            RECORD_ACTIVITY,
            vec![
                Param::Text(activity.repo.clone()),
                Param::Text(activity.kind.as_str().to_owned()),
                Param::Int(activity.number as i64),
                Param::Text(activity.detail.clone()),
                Param::Int(activity.at_ms.unwrap_or(0)),
            ],
        ),
        StateChange::Said {
            repo,
            number,
            about,
            digest,
        } => (
            SAY,
            [
                issue(repo, *number),
                vec![Param::Text(about.clone()), Param::Text(digest.clone())],
            ]
            .concat(),
        ),
        StateChange::ReviewRequestRefused {
            repo,
            number,
            reviewer,
            why,
        } => (
            REFUSE_REVIEWER,
            [
                issue(repo, *number),
                vec![Param::Text(reviewer.clone()), Param::Text(why.clone())],
            ]
            .concat(),
        ),
        StateChange::SaveReview {
            repo,
            number,
            state,
        } => (
            SAVE_REVIEW,
            [
                issue(repo, *number),
                vec![Param::Text(serde_json::to_string(state)?)],
            ]
            .concat(),
        ),
    })
}
