//! Group commit: deliveries that arrive while a commit is under way go in the next one together,
//! one statement inserting all of them and their jobs, as the SQLite writer does. No delivery is
//! answered before the commit that holds it.
//!
//! One writer takes whatever is waiting when it comes back from a commit (up to [`MOST`]), so
//! under load the groups grow and the commits (each an fsync, the largest share of what the
//! server spends on a delivery) stay few; at rest a delivery is alone in its group and waits for
//! nobody. One writer, not several: under `cargo bench --bench intake` three writers made groups of
//! 3.0 deliveries on average and one makes 5.2 (counted by the rows' `xmin`), half the commits for
//! the same throughput within this machine's noise, with less code and one connection.

use deadpool_postgres::Pool;
use tokio::sync::{mpsc, oneshot};

use super::Recorded;
use crate::machinery::store::{NewDelivery, StoreError, body};

/// The most deliveries in one group (a 13 KB webhook each: a statement of a few MB at most).
const MOST: usize = 128;

/// A delivery waiting for its commit, and where its answer goes.
struct Waiting {
    id: String,
    event: String,
    /// Compressed already, on the caller's task: the group's statement only copies it.
    body: Vec<u8>,
    received_ms: i64,
    run_after_ms: i64,
    answer: oneshot::Sender<Result<Recorded, StoreError>>,
}

/// The deliveries of a group, the first of each id new at most: inserted in id order, so two
/// replicas writing overlapping groups lock rows in the same order and never deadlock. The jobs
/// queued notify the schema's channel, heard by every replica at commit (`listen`).
const INSERT_GROUP: &str = concat!(
    "WITH input AS (
        SELECT DISTINCT ON (id) id, event, received_ms, body, run_after
        FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::bytea[], $5::bigint[])
             AS t(id, event, received_ms, body, run_after)
        ORDER BY id
    ),
    stored AS (
        INSERT INTO deliveries (id, event, received_ms, body, encoding)
        SELECT id, event, received_ms, body, $6 FROM input ORDER BY id
        ON CONFLICT (id) DO NOTHING RETURNING id
    ),
    queued AS (
        INSERT INTO jobs (delivery_id, state, run_after)
        SELECT stored.id, 'queued', input.run_after FROM stored JOIN input USING (id) ORDER BY stored.id
        RETURNING delivery_id
    )
    SELECT delivery_id FROM queued, LATERAL (SELECT pg_notify(",
    super::listen::channel!(),
    ", '')) AS woken"
);

#[derive(Debug, Clone)]
pub(super) struct Queue {
    sender: mpsc::Sender<Waiting>,
}

impl Queue {
    /// Starts the writer on the current runtime; it stops when the last `Queue` is dropped.
    pub(super) fn start(pool: Pool) -> Queue {
        let (sender, receiver) = mpsc::channel(4 * MOST);
        tokio::spawn(write_groups(pool, receiver));
        Queue { sender }
    }

    /// Stores `delivery` with its job in the next group commit; answers once that committed.
    pub(super) async fn record(
        &self,
        delivery: NewDelivery<'_>,
        received_ms: i64,
        run_after_ms: i64,
    ) -> Result<Recorded, StoreError> {
        let (answer, answered) = oneshot::channel();
        let waiting = Waiting {
            id: delivery.id.to_owned(),
            event: delivery.event.to_owned(),
            body: body::pack(delivery.body),
            received_ms,
            run_after_ms,
            answer,
        };
        let stopped = || StoreError::Write("the store's writers have stopped".into());
        self.sender.send(waiting).await.map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }
}

/// While a group commits, the next one forms in the channel.
async fn write_groups(pool: Pool, mut receiver: mpsc::Receiver<Waiting>) {
    let mut group = Vec::with_capacity(MOST);
    while receiver.recv_many(&mut group, MOST).await > 0 {
        let outcome = insert(&pool, &group).await;
        answer(std::mem::take(&mut group), outcome);
    }
}

/// The delivery ids the group stored as new, or what failed.
async fn insert(pool: &Pool, group: &[Waiting]) -> Result<Vec<String>, StoreError> {
    let column = |f: fn(&Waiting) -> &str| group.iter().map(f).collect::<Vec<_>>();
    let ids = column(|w| &w.id);
    let events = column(|w| &w.event);
    let received: Vec<i64> = group.iter().map(|w| w.received_ms).collect();
    let bodies: Vec<&[u8]> = group.iter().map(|w| w.body.as_slice()).collect();
    let run_after: Vec<i64> = group.iter().map(|w| w.run_after_ms).collect();
    let rows = super::query(
        pool,
        INSERT_GROUP,
        &[
            &ids,
            &events,
            &received,
            &bodies,
            &run_after,
            &body::ENCODING,
        ],
    )
    .await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

/// Tells each delivery of the group what became of it: new for the first of an id the commit
/// stored, seen before for every other; the same error for all when the commit failed.
fn answer(group: Vec<Waiting>, outcome: Result<Vec<String>, StoreError>) {
    match outcome {
        Ok(mut new) => {
            for waiting in group {
                let recorded = match new.iter().position(|id| *id == waiting.id) {
                    Some(at) => {
                        new.swap_remove(at);
                        Recorded::New
                    }
                    None => Recorded::Duplicate,
                };
                // The sender may have gone (its client hung up): the delivery is stored all
                // the same, and GitHub's redelivery will be told it was seen.
                waiting.answer.send(Ok(recorded)).ok();
            }
        }
        Err(error) => {
            let message = error.to_string();
            for waiting in group {
                waiting
                    .answer
                    .send(Err(StoreError::Write(message.clone())))
                    .ok();
            }
        }
    }
}
