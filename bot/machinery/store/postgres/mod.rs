//! The scale-out store: PostgreSQL shared by any number of replicas. Jobs are claimed with
//! `FOR UPDATE SKIP LOCKED` and a lease, so replicas never take the same job and a dead replica's
//! jobs run again when their lease expires; delivery ids are a unique key, so a redelivery that
//! reaches two replicas is stored once. Deliveries arriving together share one commit
//! (`intake`); every connection has `TCP_NODELAY` (`connect`); a job queued by one replica wakes
//! the others' workers (`listen`).

mod connect;
mod intake;
mod listen;
mod migrate;

use deadpool_postgres::Pool;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::{Counts, Job, NewDelivery, Recorded, Store, StoreError, sql};
use crate::core::state::StateChange;
use crate::core::state::{LabelMemory, ReviewState};

#[derive(Debug, Clone)]
pub struct PgStore {
    /// Durable commits: deliveries, the actions a job did, readiness, and every read.
    pool: Pool,
    /// A job's own bookkeeping (claimed, done, retried, buried, released, its state changes),
    /// planned without sequential scans (see `connect::Role::Jobs`) and committed
    /// asynchronously: each saved an fsync per job, which bounded one worker to
    /// ~500 jobs/s. Losing the last of these in a crash runs a job again, never loses one, and
    /// never repeats an action: the actions a job did are recorded durably, and that commit
    /// flushes every earlier one with it.
    jobs: Pool,
    intake: intake::Queue,
    /// Where it connects (a listener for other replicas' jobs opens its own connection).
    url: String,
}

/// Connections: one for the intake writer, the rest for reads and the actions' records.
const CONNECTIONS: usize = 6;

impl PgStore {
    /// Connects to `postgres://...` and runs the migrations.
    pub async fn open(url: &str) -> Result<PgStore, StoreError> {
        let pool = connect::pool(url, CONNECTIONS, connect::Role::Durable)?;
        migrate::run(&mut pool.get().await?).await?;
        Ok(PgStore {
            jobs: connect::pool(url, 4, connect::Role::Jobs)?,
            intake: intake::Queue::start(pool.clone()),
            pool,
            url: url.to_owned(),
        })
    }

    /// The same, inside a schema of its own (created if missing): tests share one database.
    pub async fn open_in_schema(url: &str, schema: &str) -> Result<PgStore, StoreError> {
        let schema = schema.replace('"', "");
        run_once(url, &format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"")).await?;
        PgStore::open(&PgStore::url_in_schema(url, &schema)).await
    }

    /// Drops a schema `open_in_schema` made, with everything in it (the benchmark's, once
    /// measured).
    pub async fn drop_schema(url: &str, schema: &str) -> Result<(), StoreError> {
        let schema = schema.replace('"', "");
        run_once(url, &format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE")).await
    }

    /// `url` made to work inside `schema`, for another process to open: how replicas started by
    /// a test, or the benchmark's server, share the schema `open_in_schema` made.
    pub fn url_in_schema(url: &str, schema: &str) -> String {
        let separator = if url.contains('?') { '&' } else { '?' };
        format!("{url}{separator}options=-c%20search_path%3D{schema}")
    }
}

/// Runs `statement` on a connection of `pool` (prepared once per connection); answers how many
/// rows it changed.
async fn execute(
    pool: &Pool,
    statement: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64, StoreError> {
    let client = pool.get().await?;
    let prepared = client.prepare_cached(statement).await?;
    Ok(client.execute(&prepared, params).await?)
}

/// The rows `statement` answers, run as `execute` runs it.
pub(super) async fn query(
    pool: &Pool,
    statement: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Row>, StoreError> {
    let client = pool.get().await?;
    let prepared = client.prepare_cached(statement).await?;
    Ok(client.query(&prepared, params).await?)
}

/// The row `statement` answers, if any.
async fn query_opt(
    pool: &Pool,
    statement: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Option<Row>, StoreError> {
    let client = pool.get().await?;
    let prepared = client.prepare_cached(statement).await?;
    Ok(client.query_opt(&prepared, params).await?)
}

/// Runs `statements` in one transaction, each sent without waiting for the one before
/// (tokio-postgres pipelines what is sent together on one connection).
async fn in_one_transaction(
    pool: &Pool,
    statements: &[(&'static str, Vec<sql::Param>)],
) -> Result<(), StoreError> {
    let mut client = pool.get().await?;
    let transaction = client.transaction().await?;
    let mut prepared = Vec::with_capacity(statements.len());
    for (statement, _) in statements {
        prepared.push(transaction.prepare_cached(statement).await?);
    }
    let bound: Vec<Vec<&(dyn ToSql + Sync)>> = statements
        .iter()
        .map(|(_, params)| values(params))
        .collect();
    futures::future::try_join_all(
        prepared
            .iter()
            .zip(&bound)
            .map(|(statement, bound)| transaction.execute(statement, bound)),
    )
    .await?;
    transaction.commit().await?;
    Ok(())
}

/// A state change's values as tokio-postgres takes them.
fn values(params: &[sql::Param]) -> Vec<&(dyn ToSql + Sync)> {
    params
        .iter()
        .map(|param| match param {
            sql::Param::Int(value) => value as &(dyn ToSql + Sync),
            sql::Param::Text(value) => value,
        })
        .collect()
}

/// Runs `sql` once on a connection of its own (creating or dropping a test's schema).
async fn run_once(url: &str, sql: &str) -> Result<(), StoreError> {
    connect::pool(url, 1, connect::Role::Durable)?
        .get()
        .await?
        .batch_execute(sql)
        .await?;
    Ok(())
}

/// Completes the jobs `$4` (each finished at the same place in `$5`), then claims up to `$6`
/// due jobs, oldest first, and then, as many as are still wanted, ones whose lease expired
/// (their worker died), reading each one's delivery and the actions an earlier attempt did: one
/// statement, one commit. The jobs completed are left out of the claim: their lease may have
/// run out while the last of a batch ran, and one statement must not change a row twice.
const CLAIM: &str = "WITH finished AS (
        UPDATE jobs SET state = 'done', lease_until = NULL, worker = NULL, finished_ms = f.at
        FROM UNNEST($4::bigint[], $5::bigint[]) AS f(id, at)
        WHERE jobs.id = f.id
    ),
    due AS (
        SELECT id FROM jobs WHERE state = 'queued' AND run_after <= $3
        ORDER BY run_after, id LIMIT $6 FOR UPDATE SKIP LOCKED
    ),
    expired AS (
        SELECT id FROM jobs WHERE state = 'running' AND lease_until < $3 AND id <> ALL($4)
        LIMIT GREATEST($6 - (SELECT COUNT(*) FROM due), 0) FOR UPDATE SKIP LOCKED
    ),
    claimed AS (
        UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = $1, worker = $2
        WHERE id IN (SELECT id FROM due UNION ALL SELECT id FROM expired)
        RETURNING id, delivery_id, attempts, run_after
    )
    SELECT claimed.id, claimed.delivery_id, claimed.attempts, d.event, d.body, d.received_ms,
           d.encoding, done.keys
    FROM claimed
    JOIN deliveries d ON d.id = claimed.delivery_id
    LEFT JOIN done_actions done ON done.job_id = claimed.id
    ORDER BY claimed.run_after, claimed.id";

/// `sql::PRUNE`, deleting the jobs with their deliveries (no foreign key cascades here: see
/// migration 0009), the unfinished jobs found in the claim's partial indexes, one state in each
/// (migration 0010).
const PRUNE: &str = "WITH doomed AS (
        SELECT id FROM deliveries
         WHERE received_ms < $1
           AND id NOT IN (SELECT delivery_id FROM jobs WHERE state = 'queued'
                          UNION ALL SELECT delivery_id FROM jobs WHERE state = 'running')
         ORDER BY received_ms
         LIMIT $2
    ),
    finished AS (DELETE FROM jobs WHERE delivery_id IN (SELECT id FROM doomed))
    DELETE FROM deliveries WHERE id IN (SELECT id FROM doomed)";

const RELEASE: &str = "UPDATE jobs SET state = 'queued', attempts = GREATEST(attempts - 1, 0), lease_until = NULL, worker = NULL
    WHERE state = 'running' AND worker = $1";

impl Store for PgStore {
    async fn schedule(
        &self,
        delivery: NewDelivery<'_>,
        now_ms: i64,
        run_after_ms: i64,
    ) -> Result<Recorded, StoreError> {
        self.intake.record(delivery, now_ms, run_after_ms).await
    }

    async fn claim_after(
        &self,
        finished: &[(i64, i64)],
        worker: &str,
        now_ms: i64,
        lease_ms: i64,
        most: usize,
    ) -> Result<Vec<Job>, StoreError> {
        let (finished, finished_ms): (Vec<i64>, Vec<i64>) = finished.iter().copied().unzip();
        let rows = query(
            &self.jobs,
            CLAIM,
            &[
                &(now_ms + lease_ms),
                &worker,
                &now_ms,
                &finished,
                &finished_ms,
                &(most as i64),
            ],
        )
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Job {
                    id: row.get(0),
                    delivery_id: row.get(1),
                    attempts: row.get(2),
                    event: row.get(3),
                    body: super::body::unpack(row.get(6), row.get(4))?,
                    received_ms: row.get(5),
                    done_actions: super::done_actions_of(row.get(7)),
                })
            })
            .collect()
    }

    async fn release(&self, worker: &str) -> Result<u64, StoreError> {
        execute(&self.jobs, RELEASE, &[&worker]).await
    }

    async fn activity(
        &self,
        repo: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<crate::core::state::Activity>, StoreError> {
        let rows = query(&self.pool, sql::ACTIVITY, &[&repo, &from_ms, &to_ms]).await?;
        Ok(rows
            .iter()
            .filter_map(|row| {
                super::activity_of(repo, row.get(0), row.get(1), row.get(2), row.get(3))
            })
            .collect())
    }

    async fn counts(&self) -> Result<Counts, StoreError> {
        let row = query_opt(&self.pool, sql::COUNTS, &[]).await?;
        Ok(row.map_or_else(Counts::default, |row| Counts {
            queued: row.get(0),
            running: row.get(1),
            dead: row.get(2),
        }))
    }

    async fn retry(&self, job_id: i64, run_after_ms: i64, error: &str) -> Result<(), StoreError> {
        execute(&self.jobs, sql::RETRY, &[&job_id, &run_after_ms, &error]).await?;
        Ok(())
    }

    async fn bury(&self, job_id: i64, error: &str, now_ms: i64) -> Result<(), StoreError> {
        execute(&self.jobs, sql::BURY, &[&job_id, &error, &now_ms]).await?;
        Ok(())
    }

    async fn requeue_dead(&self, now_ms: i64) -> Result<u64, StoreError> {
        execute(&self.pool, sql::REQUEUE_DEAD, &[&now_ms]).await
    }

    async fn label_memory(
        &self,
        repo: &str,
        number: u64,
        label: &str,
    ) -> Result<LabelMemory, StoreError> {
        let row = query_opt(
            &self.pool,
            sql::LABEL_MEMORY,
            &[&repo, &(number as i64), &label],
        )
        .await?;
        Ok(row
            .map(|row| LabelMemory {
                suppressed: row.get::<_, i32>(0) != 0,
                on: row.get::<_, i32>(1) != 0,
            })
            .unwrap_or_default())
    }

    /// In one transaction (`in_one_transaction`). A change alone is one statement, whole by
    /// itself: sent without `BEGIN` and `COMMIT`, it is one round trip and one statement for
    /// the server instead of three (most jobs record one change, and the label they add another).
    async fn apply(&self, changes: &[StateChange]) -> Result<(), StoreError> {
        let statements = changes
            .iter()
            .map(sql::state_change)
            .collect::<Result<Vec<_>, _>>()?;
        match statements.as_slice() {
            [] => Ok(()),
            [(statement, params)] => {
                execute(&self.jobs, statement, &values(params)).await?;
                Ok(())
            }
            statements => in_one_transaction(&self.jobs, statements).await,
        }
    }

    async fn record_done_actions(&self, job_id: i64, keys: &[String]) -> Result<(), StoreError> {
        execute(
            &self.pool,
            sql::RECORD_DONE_ACTIONS,
            &[&job_id, &keys.join(",")],
        )
        .await?;
        Ok(())
    }

    async fn said(
        &self,
        repo: &str,
        about: &str,
    ) -> Result<std::collections::BTreeMap<u64, String>, StoreError> {
        let rows = query(&self.pool, sql::SAID, &[&repo, &about]).await?;
        Ok(rows
            .iter()
            .map(|row| (row.get::<_, i64>(0) as u64, row.get(1)))
            .collect())
    }

    async fn review(&self, repo: &str, number: u64) -> Result<Option<ReviewState>, StoreError> {
        let number = number as i64;
        let Some(row) = query_opt(&self.pool, sql::LOAD_REVIEW, &[&repo, &number]).await? else {
            return Ok(None);
        };
        let mut state: ReviewState = serde_json::from_str(row.get::<_, &str>(0))?;
        let refused = query(&self.pool, sql::LOAD_REFUSALS, &[&repo, &number]).await?;
        state.refused = refused.iter().map(|row| (row.get(0), row.get(1))).collect();
        Ok(Some(state))
    }

    async fn prune(&self, before_ms: i64, limit: u32) -> Result<u64, StoreError> {
        execute(&self.pool, PRUNE, &[&before_ms, &i64::from(limit)]).await
    }

    /// Listens on the schema's channel, which the statement queueing jobs notifies at commit.
    async fn wake_on_queued(&self, queued: std::sync::Arc<tokio::sync::Notify>) {
        if let Err(error) = listen::start(self.url.clone(), queued).await {
            tracing::warn!(%error, "cannot listen for other replicas' jobs; the worker polls for them");
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let now = chrono::Utc::now().timestamp_millis();
        execute(&self.pool, sql::PROBE, &[&now]).await?;
        Ok(())
    }
}
