//! The embedded store: one SQLite file in WAL mode. Writers take the lock up front
//! (`BEGIN IMMEDIATE`) and wait for each other (`busy_timeout`) instead of failing.
//!
//! Deliveries are written by one task that commits them in groups: SQLite has one writer, and a
//! commit per delivery would cap intake at a few thousand a second. Each request still waits for
//! the commit that holds its delivery before it is answered, so nothing is acknowledged unstored.

use std::str::FromStr;
use std::time::Duration;

use std::collections::HashSet;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite};
use tokio::sync::{mpsc, oneshot};

use super::{Counts, Job, NewDelivery, Recorded, Store, StoreError, sql};
use crate::github::StateChange;
use crate::review::ReviewState;

#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Readers: WAL lets them run beside the writer.
    pool: SqlitePool,
    /// The one writing connection. Writers queue for it here, in async code, rather than inside
    /// SQLite's busy handler, whose sleeps (up to 100 ms) would show as ack latency.
    writer: SqlitePool,
    deliveries: mpsc::Sender<Pending>,
}

/// A delivery waiting for the group commit, and where to send the outcome.
#[derive(Debug)]
struct Pending {
    id: String,
    event: String,
    body: Vec<u8>,
    now_ms: i64,
    done: oneshot::Sender<Result<Recorded, String>>,
}

/// The most deliveries one commit takes.
const GROUP: usize = 256;

impl SqliteStore {
    /// Opens (creating if needed) `sqlite://PATH` or `sqlite::memory:` and runs the migrations.
    pub async fn open(url: &str) -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL in WAL mode: a commit survives the process being killed at any point (the
            // WAL is written before the answer); only an OS crash may lose the last commits.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        let in_memory = url.contains(":memory:");
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            // The writer never checkpoints: a checkpoint in the committing connection stalls
            // every delivery behind it. A connection of its own does it beside the writer.
            .connect_with(
                options
                    .clone()
                    .pragma("wal_autocheckpoint", if in_memory { "1000" } else { "0" }),
            )
            .await?;
        sqlx::migrate!("bot/store/migrations/sqlite")
            .run(&writer)
            .await?;
        // An in-memory database exists once per connection: there, the writer is the only one.
        let pool = if in_memory {
            writer.clone()
        } else {
            let checkpointer = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options.clone())
                .await?;
            tokio::spawn(checkpoint(checkpointer));
            SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(options.read_only(true))
                .await?
        };
        let (deliveries, queue) = mpsc::channel(4 * GROUP);
        tokio::spawn(write_deliveries(writer.clone(), queue));
        Ok(SqliteStore {
            pool,
            writer,
            deliveries,
        })
    }
}

/// Copies the WAL into the database in the background. PASSIVE never waits for the writer, so
/// deliveries keep committing meanwhile; ends when the pool is closed.
async fn checkpoint(pool: SqlitePool) {
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if pool.is_closed() {
            return;
        }
        if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            tracing::warn!(%error, "WAL checkpoint failed; will try again");
        }
    }
}

/// The group-commit writer: takes whatever deliveries are waiting (up to [`GROUP`]), writes them
/// in one transaction, then answers each. Ends when the store is dropped.
async fn write_deliveries(pool: SqlitePool, mut queue: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(GROUP);
    while queue.recv_many(&mut batch, GROUP).await > 0 {
        match write_group(&pool, &batch).await {
            Ok(outcomes) => {
                for (pending, outcome) in batch.drain(..).zip(outcomes) {
                    let _ = pending.done.send(Ok(outcome));
                }
            }
            Err(error) => {
                let message = error.to_string();
                for pending in batch.drain(..) {
                    let _ = pending.done.send(Err(message.clone()));
                }
            }
        }
    }
}

/// One transaction, two statements whatever the group's size: a statement per delivery would
/// cost a round trip to SQLite's thread each.
async fn write_group(pool: &SqlitePool, batch: &[Pending]) -> Result<Vec<Recorded>, sqlx::Error> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let mut deliveries =
        QueryBuilder::<Sqlite>::new("INSERT INTO deliveries (id, event, received_ms, body) ");
    deliveries.push_values(batch, |mut row, pending| {
        row.push_bind(&pending.id)
            .push_bind(&pending.event)
            .push_bind(pending.now_ms)
            .push_bind(&pending.body);
    });
    deliveries.push(" ON CONFLICT (id) DO NOTHING RETURNING id");
    let mut inserted: HashSet<String> = deliveries
        .build()
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|row| row.get("id"))
        .collect();
    // Rows go in in order, so of two deliveries with one id in a group, the first is the new one.
    let outcomes: Vec<Recorded> = batch
        .iter()
        .map(|pending| {
            if inserted.remove(&pending.id) {
                Recorded::New
            } else {
                Recorded::Duplicate
            }
        })
        .collect();
    let new: Vec<&Pending> = batch
        .iter()
        .zip(&outcomes)
        .filter(|(_, outcome)| **outcome == Recorded::New)
        .map(|(pending, _)| pending)
        .collect();
    if !new.is_empty() {
        let mut jobs =
            QueryBuilder::<Sqlite>::new("INSERT INTO jobs (delivery_id, state, run_after) ");
        jobs.push_values(new, |mut row, pending| {
            row.push_bind(&pending.id)
                .push_bind("queued")
                .push_bind(pending.now_ms);
        });
        jobs.build().execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(outcomes)
}

impl SqliteStore {
    /// Queues again the jobs left running by a process that died. Only one process serves an
    /// SQLite file, so at start every running job is an orphan; waiting for its lease to expire
    /// would only delay it. (Postgres, shared by replicas, relies on leases alone.)
    pub async fn release_orphans(&self) -> Result<u64, StoreError> {
        let released = sqlx::query("UPDATE jobs SET state = 'queued', lease_until = NULL, worker = NULL WHERE state = 'running'")
            .execute(&self.writer)
            .await?
            .rows_affected();
        Ok(released)
    }
}

impl Store for SqliteStore {
    async fn record(&self, delivery: NewDelivery<'_>, now_ms: i64) -> Result<Recorded, StoreError> {
        let (done, outcome) = oneshot::channel();
        let pending = Pending {
            id: delivery.id.to_owned(),
            event: delivery.event.to_owned(),
            body: delivery.body.to_vec(),
            now_ms,
            done,
        };
        let closed = || StoreError::Database(sqlx::Error::PoolClosed);
        self.deliveries.send(pending).await.map_err(|_| closed())?;
        match outcome.await.map_err(|_| closed())? {
            Ok(recorded) => Ok(recorded),
            Err(message) => Err(StoreError::Database(sqlx::Error::Protocol(message))),
        }
    }

    async fn claim(
        &self,
        worker: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Option<Job>, StoreError> {
        // One statement: SQLite has a single writer, so no two workers can take the same row.
        let row = sqlx::query(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = $1, worker = $2
             WHERE id = COALESCE(
                 (SELECT id FROM jobs WHERE state = 'queued' AND run_after <= $3 ORDER BY run_after, id LIMIT 1),
                 (SELECT id FROM jobs WHERE state = 'running' AND lease_until < $3 LIMIT 1)
             )
             RETURNING id, delivery_id, attempts",
        )
        .bind(now_ms + lease_ms)
        .bind(worker)
        .bind(now_ms)
        .fetch_optional(&self.writer)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let delivery_id: String = row.get("delivery_id");
        let delivery = sqlx::query(sql::SELECT_DELIVERY)
            .bind(&delivery_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(Some(Job {
            id: row.get("id"),
            delivery_id,
            event: delivery.get("event"),
            body: delivery.get("body"),
            attempts: row.get("attempts"),
            received_ms: delivery.get("received_ms"),
        }))
    }

    async fn release(&self, worker: &str) -> Result<u64, StoreError> {
        let released = sqlx::query(
            "UPDATE jobs SET state = 'queued', attempts = MAX(attempts - 1, 0), lease_until = NULL, worker = NULL
             WHERE state = 'running' AND worker = $1",
        )
        .bind(worker)
        .execute(&self.writer)
        .await?
        .rows_affected();
        Ok(released)
    }

    async fn counts(&self) -> Result<Counts, StoreError> {
        let row = sqlx::query(
            "SELECT
                COALESCE(SUM(CASE WHEN state = 'queued' THEN 1 ELSE 0 END), 0) AS queued,
                COALESCE(SUM(CASE WHEN state = 'running' THEN 1 ELSE 0 END), 0) AS running,
                COALESCE(SUM(CASE WHEN state = 'dead' THEN 1 ELSE 0 END), 0) AS dead
             FROM jobs",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(Counts {
            queued: row.get("queued"),
            running: row.get("running"),
            dead: row.get("dead"),
        })
    }

    shared_store_methods!(writer, pool);
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store() -> SqliteStore {
        SqliteStore::open("sqlite::memory:").await.unwrap()
    }

    fn delivery(id: &str) -> NewDelivery<'_> {
        NewDelivery {
            id,
            event: "issues",
            body: b"{}",
        }
    }

    #[tokio::test]
    async fn jobs_a_dead_process_held_run_again_at_start() {
        let store = store().await;
        store.record(delivery("a"), 0).await.unwrap();
        store.claim("died", 0, 600_000).await.unwrap().unwrap();
        assert_eq!(store.release_orphans().await.unwrap(), 1);
        assert!(
            store
                .claim("restarted", 1, 600_000)
                .await
                .unwrap()
                .is_some()
        );
    }
}
