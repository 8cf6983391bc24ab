//! The scale-out store: PostgreSQL shared by any number of replicas. Jobs are claimed with
//! `FOR UPDATE SKIP LOCKED` and a lease, so replicas never take the same job and a dead replica's
//! jobs run again when their lease expires; delivery ids are a unique key, so a redelivery that
//! reaches two replicas is stored once.

use std::str::FromStr;
use std::time::Duration;

use sqlx::Row;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};

use super::{Counts, Job, NewDelivery, Recorded, Store, StoreError, sql};
use crate::memory::StateChange;
use crate::memory::{LabelMemory, ReviewState};

#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to `postgres://...` and runs the migrations.
    pub async fn open(url: &str) -> Result<PgStore, StoreError> {
        PgStore::connect(PgConnectOptions::from_str(url)?).await
    }

    /// The same, inside a schema of its own (created if missing): tests share one database.
    pub async fn open_in_schema(url: &str, schema: &str) -> Result<PgStore, StoreError> {
        let options = PgConnectOptions::from_str(url)?;
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        let create = format!(
            "CREATE SCHEMA IF NOT EXISTS \"{}\"",
            schema.replace('"', "")
        );
        sqlx::query(sqlx::AssertSqlSafe(create))
            .execute(&admin)
            .await?;
        admin.close().await;
        PgStore::connect(options.options([("search_path", schema)])).await
    }

    /// `url` made to work inside `schema`, for another process to open: how replicas started by
    /// a test, or the benchmark's server, share the schema `open_in_schema` made.
    pub fn url_in_schema(url: &str, schema: &str) -> String {
        let separator = if url.contains('?') { '&' } else { '?' };
        format!("{url}{separator}options=-c%20search_path%3D{schema}")
    }

    async fn connect(options: PgConnectOptions) -> Result<PgStore, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        sqlx::migrate!("bot/store/migrations/postgres")
            .run(&pool)
            .await?;
        Ok(PgStore { pool })
    }

    async fn write(&self, statement: PgStatement) -> Result<u64, sqlx::Error> {
        Ok(statement.execute(&self.pool).await?.rows_affected())
    }

    async fn read(&self, statement: PgStatement) -> Result<Option<PgRow>, sqlx::Error> {
        statement.fetch_optional(&self.pool).await
    }
}

/// A statement with its arguments bound.
type PgStatement = sqlx::query::Query<'static, sqlx::Postgres, sqlx::postgres::PgArguments>;

impl Store for PgStore {
    async fn schedule(
        &self,
        delivery: NewDelivery<'_>,
        now_ms: i64,
        run_after_ms: i64,
    ) -> Result<Recorded, StoreError> {
        // One statement, so one transaction: the job exists exactly when the delivery was new.
        // Not grouped with others (as SQLite's writer does): through sqlx, which sets no
        // TCP_NODELAY, one UNNEST insert of the deliveries waiting together measured 430-939/s
        // against 3,962/s for this statement per delivery (`cargo bench --bench intake`; the
        // multi-segment statement waits on delayed acknowledgements). Grouping needs a client
        // with TCP_NODELAY first (issue 17).
        let queued = sqlx::query(
            "WITH stored AS (
                 INSERT INTO deliveries (id, event, received_ms, body) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (id) DO NOTHING RETURNING id
             )
             INSERT INTO jobs (delivery_id, state, run_after) SELECT id, 'queued', $5 FROM stored RETURNING id",
        )
        .bind(delivery.id)
        .bind(delivery.event)
        .bind(now_ms)
        .bind(delivery.body)
        .bind(run_after_ms)
        .fetch_optional(&self.pool)
        .await?;
        Ok(if queued.is_some() {
            Recorded::New
        } else {
            Recorded::Duplicate
        })
    }

    async fn claim(
        &self,
        worker: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Option<Job>, StoreError> {
        let row = sqlx::query(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = $1, worker = $2
             WHERE id = COALESCE(
                 (SELECT id FROM jobs WHERE state = 'queued' AND run_after <= $3
                  ORDER BY run_after, id LIMIT 1 FOR UPDATE SKIP LOCKED),
                 (SELECT id FROM jobs WHERE state = 'running' AND lease_until < $3
                  LIMIT 1 FOR UPDATE SKIP LOCKED)
             )
             RETURNING id, delivery_id, attempts",
        )
        .bind(now_ms + lease_ms)
        .bind(worker)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let delivery_id: String = row.get("delivery_id");
        let delivery = sqlx::query("SELECT event, body, received_ms FROM deliveries WHERE id = $1")
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
        Ok(self
            .write(
                sqlx::query(
                    "UPDATE jobs SET state = 'queued', attempts = GREATEST(attempts - 1, 0), lease_until = NULL, worker = NULL
                     WHERE state = 'running' AND worker = $1",
                )
                .bind(worker.to_owned()),
            )
            .await?)
    }

    async fn activity(
        &self,
        repo: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<crate::memory::Activity>, StoreError> {
        let rows = sqlx::query(sql::ACTIVITY)
            .bind(repo)
            .bind(from_ms)
            .bind(to_ms)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .filter_map(|row| {
                super::activity_of(
                    repo,
                    row.get::<&str, _>("kind"),
                    row.get("number"),
                    row.get("detail"),
                    row.get("at_ms"),
                )
            })
            .collect())
    }

    async fn counts(&self) -> Result<Counts, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) FILTER (WHERE state = 'queued') AS queued,
                    COUNT(*) FILTER (WHERE state = 'running') AS running,
                    COUNT(*) FILTER (WHERE state = 'dead') AS dead
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

    async fn complete(&self, job_id: i64, now_ms: i64) -> Result<(), StoreError> {
        self.write(sqlx::query(sql::COMPLETE).bind(job_id).bind(now_ms))
            .await?;
        Ok(())
    }

    async fn retry(&self, job_id: i64, run_after_ms: i64, error: &str) -> Result<(), StoreError> {
        self.write(
            sqlx::query(sql::RETRY)
                .bind(job_id)
                .bind(run_after_ms)
                .bind(error.to_owned()),
        )
        .await?;
        Ok(())
    }

    async fn bury(&self, job_id: i64, error: &str, now_ms: i64) -> Result<(), StoreError> {
        self.write(
            sqlx::query(sql::BURY)
                .bind(job_id)
                .bind(error.to_owned())
                .bind(now_ms),
        )
        .await?;
        Ok(())
    }

    async fn requeue_dead(&self, now_ms: i64) -> Result<u64, StoreError> {
        Ok(self
            .write(sqlx::query(sql::REQUEUE_DEAD).bind(now_ms))
            .await?)
    }

    async fn label_memory(
        &self,
        repo: &str,
        number: u64,
        label: &str,
    ) -> Result<LabelMemory, StoreError> {
        let row = self
            .read(
                sqlx::query(sql::LABEL_MEMORY)
                    .bind(repo.to_owned())
                    .bind(number as i64)
                    .bind(label.to_owned()),
            )
            .await?;
        Ok(row
            .map(|row| LabelMemory {
                suppressed: row.get::<i32, _>(0) != 0,
                on: row.get::<i32, _>(1) != 0,
            })
            .unwrap_or_default())
    }

    async fn apply(&self, changes: &[StateChange]) -> Result<(), StoreError> {
        for change in changes {
            let (statement, params) = sql::state_change(change)?;
            let query =
                params
                    .into_iter()
                    .fold(sqlx::query(statement), |query, param| match param {
                        sql::Param::Int(value) => query.bind(value),
                        sql::Param::Text(value) => query.bind(value),
                    });
            self.write(query).await?;
        }
        Ok(())
    }

    async fn done_actions(&self, job_id: i64) -> Result<Vec<String>, StoreError> {
        let row = self
            .read(sqlx::query(sql::DONE_ACTIONS).bind(job_id))
            .await?;
        Ok(row.map_or_else(Vec::new, |row| {
            row.get::<String, _>("keys")
                .split(',')
                .map(str::to_owned)
                .collect()
        }))
    }

    async fn record_done_actions(&self, job_id: i64, keys: &[String]) -> Result<(), StoreError> {
        self.write(
            sqlx::query(sql::RECORD_DONE_ACTIONS)
                .bind(job_id)
                .bind(keys.join(",")),
        )
        .await?;
        Ok(())
    }

    async fn review(&self, repo: &str, number: u64) -> Result<Option<ReviewState>, StoreError> {
        let row = self
            .read(
                sqlx::query(sql::LOAD_REVIEW)
                    .bind(repo.to_owned())
                    .bind(number as i64),
            )
            .await?;
        match row {
            Some(row) => Ok(Some(serde_json::from_str(&row.get::<String, _>("state"))?)),
            None => Ok(None),
        }
    }

    async fn prune(&self, before_ms: i64, limit: u32) -> Result<u64, StoreError> {
        Ok(self
            .write(
                sqlx::query(sql::PRUNE)
                    .bind(before_ms)
                    .bind(i64::from(limit)),
            )
            .await?)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let now = chrono::Utc::now().timestamp_millis();
        self.write(sqlx::query(sql::PROBE).bind(now)).await?;
        Ok(())
    }
}
