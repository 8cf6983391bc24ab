//! PostgreSQL group commit: deliveries that arrive together share one transaction, as the SQLite
//! writer's do. Each delivery waits for the commit that holds it and is answered by it (stored,
//! or seen before); none is answered before its commit.
//!
//! One task takes what is waiting (up to [`BATCH`]), inserts it with one statement per table
//! (`UNNEST` of arrays, `ON CONFLICT (id) DO NOTHING RETURNING id` for the dedupe key), commits,
//! and answers each. Rows go in in id order: two replicas inserting overlapping batches in
//! opposite orders would otherwise each wait for a row the other holds, and PostgreSQL would
//! abort one of them (seen in the replicas test before the sort).

use std::collections::HashSet;

use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};

use super::{NewDelivery, Recorded, StoreError};

/// Deliveries committed together at most.
pub const BATCH: usize = 256;
/// Deliveries waiting for the writer at most: intake beyond it waits for room.
const QUEUE: usize = 4096;

/// One delivery waiting for its commit.
struct Pending {
    id: String,
    event: String,
    body: Vec<u8>,
    now_ms: i64,
    run_after_ms: i64,
    answer: oneshot::Sender<Result<Recorded, StoreError>>,
}

/// Where intake hands deliveries to the writer.
#[derive(Debug, Clone)]
pub struct Intake {
    queue: mpsc::Sender<Pending>,
}

impl Intake {
    /// Starts the writer on `pool`; it stops when the last `Intake` is dropped.
    pub fn start(pool: PgPool) -> Intake {
        let (queue, waiting) = mpsc::channel(QUEUE);
        tokio::spawn(write(pool, waiting));
        Intake { queue }
    }

    /// Stores one delivery (its job due at `run_after_ms`) in the next commit; answers once that
    /// commit is done.
    pub async fn record(
        &self,
        delivery: NewDelivery<'_>,
        now_ms: i64,
        run_after_ms: i64,
    ) -> Result<Recorded, StoreError> {
        let stopped = || StoreError::Write("the PostgreSQL writer stopped".into());
        let (answer, answered) = oneshot::channel();
        let pending = Pending {
            id: delivery.id.to_owned(),
            event: delivery.event.to_owned(),
            body: delivery.body.to_vec(),
            now_ms,
            run_after_ms,
            answer,
        };
        self.queue.send(pending).await.map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }
}

async fn write(pool: PgPool, mut waiting: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(BATCH);
    while waiting.recv_many(&mut batch, BATCH).await > 0 {
        let mut outcome = commit(&pool, &mut batch).await;
        for pending in batch.drain(..) {
            let answer = match &mut outcome {
                // The first of an id stored now is new; a second of it in the batch is not.
                Ok(stored) => Ok(if stored.remove(&pending.id) {
                    Recorded::New
                } else {
                    Recorded::Duplicate
                }),
                Err(error) => Err(StoreError::Write(error.to_string())),
            };
            let _ = pending.answer.send(answer);
        }
    }
}

/// One transaction for the batch: the ids stored now (the others were seen before).
async fn commit(pool: &PgPool, batch: &mut [Pending]) -> Result<HashSet<String>, sqlx::Error> {
    batch.sort_by(|a, b| a.id.cmp(&b.id));
    // The same id twice in one batch (two replicas' redeliveries on one connection): the first
    // is stored, the second answered as seen before.
    let mut seen = HashSet::new();
    let unique: Vec<&Pending> = batch
        .iter()
        .filter(|p| seen.insert(p.id.as_str()))
        .collect();
    let column = |f: fn(&Pending) -> String| unique.iter().map(|p| f(p)).collect::<Vec<_>>();
    let ids = column(|p| p.id.clone());
    let events = column(|p| p.event.clone());
    let received: Vec<i64> = unique.iter().map(|p| p.now_ms).collect();
    let bodies: Vec<&[u8]> = unique.iter().map(|p| p.body.as_slice()).collect();
    let mut transaction = pool.begin().await?;
    let stored: Vec<String> = sqlx::query_scalar(
        "INSERT INTO deliveries (id, event, received_ms, body)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::bytea[])
         ON CONFLICT (id) DO NOTHING RETURNING id",
    )
    .bind(&ids)
    .bind(&events)
    .bind(&received)
    .bind(&bodies)
    .fetch_all(&mut *transaction)
    .await?;
    let stored: HashSet<String> = stored.into_iter().collect();
    let (job_ids, run_after): (Vec<&str>, Vec<i64>) = unique
        .iter()
        .filter(|p| stored.contains(&p.id))
        .map(|p| (p.id.as_str(), p.run_after_ms))
        .unzip();
    if !job_ids.is_empty() {
        sqlx::query(
            "INSERT INTO jobs (delivery_id, state, run_after)
             SELECT id, 'queued', run_after FROM UNNEST($1::text[], $2::bigint[]) AS t(id, run_after)",
        )
        .bind(&job_ids)
        .bind(&run_after)
        .execute(&mut *transaction)
        .await?;
    }
    transaction.commit().await?;
    Ok(stored)
}
