//! A worker claims jobs in batches: one claim for several jobs, run one after another under one
//! lease, and never run once half that lease has gone (the rest is given back and claimed anew).
//! The worker's clock is this test's, moved on from the observer the worker calls after each job's
//! state is stored; the observer also reads the store's file as the job runs.

mod common;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gep_bot::machinery::github::{Credentials, Executor};
use gep_bot::machinery::pipeline::worker::{Settings, Worker};
use gep_bot::machinery::store::{NewDelivery, SqliteStore, Store};
use tokio::sync::{Notify, watch};

const LEASE_MS: i64 = 1_000;

/// What the observer saw while one job ran: the time, and each job this worker held (its
/// delivery and lease).
#[derive(Debug)]
struct Seen {
    now: i64,
    held: Vec<(String, i64)>,
}

/// Runs a worker over `ids` (queued before it starts, in this order) with batches of `batch`,
/// on the clock `now` reads from `clock`; after each job the clock moves on by `step_ms`.
/// Answers what the observer saw at each job, once every job is done.
async fn run(
    clock: &'static AtomicI64,
    now: fn() -> i64,
    ids: &[&str],
    batch: usize,
    step_ms: i64,
) -> Vec<Seen> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let store = Arc::new(
        SqliteStore::open(&format!("sqlite://{}", path.display()))
            .await
            .unwrap(),
    );
    let body = std::fs::read(
        common::shared().join("fixtures/octokit-webhooks/issues/opened.payload.json"),
    )
    .unwrap();
    for id in ids {
        let delivery = NewDelivery {
            id,
            event: "issues",
            body: &body,
        };
        store.record(delivery, now()).await.unwrap();
    }
    let seen = Arc::new(Mutex::new(Vec::new()));
    let observer = {
        let (seen, path) = (seen.clone(), path.clone());
        Arc::new(move |_: &gep_bot::core::Event| {
            let file = rusqlite::Connection::open(&path).unwrap();
            let held = file
                .prepare(
                    "SELECT delivery_id, lease_until FROM jobs
                     WHERE state = 'running' AND worker = 'w' ORDER BY id",
                )
                .unwrap()
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            let now = clock.fetch_add(step_ms, Ordering::SeqCst);
            seen.lock().unwrap().push(Seen { now, held });
        })
    };
    let worker = Worker {
        store: store.clone(),
        executor: Arc::new(Executor::DryRun),
        github: None,
        capabilities: common::bot::capabilities(&Credentials::Token("t".into())),
        settings: Settings {
            id: "w".into(),
            lease: Duration::from_millis(LEASE_MS as u64),
            poll: Duration::from_millis(10),
            batch,
            ..Settings::default()
        },
        queued: Arc::new(Notify::new()),
        clock: now,
        observer: Some(observer),
    };
    let (stop, stopped) = watch::channel(false);
    let worker = tokio::spawn(worker.run(stopped));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while store.counts().await.unwrap() != Default::default() {
        assert!(std::time::Instant::now() < deadline, "jobs left undone");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.send(true).unwrap();
    worker.await.unwrap();
    // The worker, and the observer with it, is gone: what it saw is this test's alone.
    Arc::try_unwrap(seen).unwrap().into_inner().unwrap()
}

fn delivery_ids(held: &[(String, i64)]) -> Vec<&str> {
    held.iter().map(|(id, _)| id.as_str()).collect()
}

#[tokio::test]
async fn one_claim_takes_a_batch_run_in_order() {
    static CLOCK: AtomicI64 = AtomicI64::new(10_000);
    let seen = run(
        &CLOCK,
        || CLOCK.load(Ordering::SeqCst),
        &["a", "b", "c"],
        3,
        1,
    )
    .await;
    assert_eq!(seen.len(), 3, "each job ran once: {seen:?}");
    // While the first ran, the worker held all three: one claim, one lease.
    assert_eq!(delivery_ids(&seen[0].held), ["a", "b", "c"]);
    let leases: Vec<i64> = seen[0].held.iter().map(|(_, lease)| *lease).collect();
    assert!(leases.iter().all(|lease| *lease == leases[0]), "{leases:?}");
    // Run one after another, the finished ones recorded done by the next claim, once the
    // batch is through: at the last, all three are still held.
    assert_eq!(delivery_ids(&seen[2].held), ["a", "b", "c"]);
}

#[tokio::test]
async fn no_job_of_a_batch_starts_after_half_its_lease() {
    static CLOCK: AtomicI64 = AtomicI64::new(10_000);
    // Each job takes 60% of the lease by this clock.
    let step = LEASE_MS * 6 / 10;
    let seen = run(
        &CLOCK,
        || CLOCK.load(Ordering::SeqCst),
        &["a", "b", "c"],
        3,
        step,
    )
    .await;
    assert_eq!(seen.len(), 3, "each job ran once: {seen:?}");
    for job in &seen {
        for (id, lease_until) in &job.held {
            assert!(
                job.now < *lease_until,
                "{id} was held past its lease at {}: {seen:?}",
                job.now
            );
        }
    }
    // What was not started was given back and claimed again with a new lease.
    assert_eq!(delivery_ids(&seen[1].held), ["b", "c"]);
    assert_eq!(delivery_ids(&seen[2].held), ["c"]);
}
