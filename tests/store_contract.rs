//! One set of behaviours, two stores: every test here runs against the embedded SQLite store and
//! against PostgreSQL (`GEP_BOT_TEST_DATABASE_URL`, a schema per test).

mod common;

use gep_bot::core::state::{LabelMemory, StateChange};
use gep_bot::machinery::store::{Counts, NewDelivery, PgStore, Recorded, SqliteStore, Store};

fn delivery(id: &str) -> NewDelivery<'_> {
    NewDelivery {
        id,
        event: "issues",
        body: b"{\"action\":\"opened\"}",
    }
}

async fn a_delivery_is_stored_once_and_queues_one_job(store: impl Store) {
    assert_eq!(store.record(delivery("a"), 1).await.unwrap(), Recorded::New);
    assert_eq!(
        store.record(delivery("a"), 2).await.unwrap(),
        Recorded::Duplicate
    );
    assert_eq!(store.counts().await.unwrap().queued, 1);
    let job = store.claim("w", 3, 1_000).await.unwrap().unwrap();
    assert_eq!(job.body, b"{\"action\":\"opened\"}");
    assert_eq!((job.event.as_str(), job.received_ms), ("issues", 1));
}

async fn concurrent_duplicates_are_stored_once(store: impl Store + Clone) {
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let id = format!("d-{}", i % 25);
                store
                    .record(
                        NewDelivery {
                            id: &id,
                            event: "issues",
                            body: b"{}",
                        },
                        i,
                    )
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut new = 0;
    for task in tasks {
        new += usize::from(task.await.unwrap() == Recorded::New);
    }
    assert_eq!(new, 25);
    assert_eq!(store.counts().await.unwrap().queued, 25);
}

async fn the_same_delivery_twice_at_once_is_new_once(store: impl Store) {
    // Both are waiting before either is written (on SQLite: in one commit of its writer).
    let (first, second) = tokio::join!(
        store.record(delivery("twice"), 1_000),
        store.record(delivery("twice"), 1_000)
    );
    let mut answers = [first.unwrap(), second.unwrap()];
    answers.sort_by_key(|r| *r == Recorded::Duplicate);
    assert_eq!(answers, [Recorded::New, Recorded::Duplicate]);
    assert_eq!(store.counts().await.unwrap().queued, 1);
}

async fn a_claimed_job_is_not_claimed_again_until_its_lease_expires(store: impl Store) {
    store.record(delivery("a"), 0).await.unwrap();
    let job = store.claim("w1", 10, 1_000).await.unwrap().unwrap();
    assert_eq!((job.delivery_id.as_str(), job.attempts), ("a", 1));
    assert!(store.claim("w2", 20, 1_000).await.unwrap().is_none());
    let again = store.claim("w2", 1_011, 1_000).await.unwrap().unwrap();
    assert_eq!((again.id, again.attempts), (job.id, 2));
}

async fn concurrent_workers_never_take_the_same_job(store: impl Store + Clone) {
    for i in 0..40 {
        store
            .record(
                NewDelivery {
                    id: &format!("j-{i}"),
                    event: "issues",
                    body: b"{}",
                },
                0,
            )
            .await
            .unwrap();
    }
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut taken = Vec::new();
                while let Some(job) = store.claim(&format!("w{w}"), 1, 60_000).await.unwrap() {
                    taken.push(job.delivery_id);
                }
                taken
            })
        })
        .collect();
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await.unwrap());
    }
    all.sort();
    let before = all.len();
    all.dedup();
    assert_eq!((before, all.len()), (40, 40));
}

async fn retried_jobs_wait_and_dead_jobs_can_be_requeued(store: impl Store) {
    store.record(delivery("a"), 0).await.unwrap();
    let job = store.claim("w", 0, 1_000).await.unwrap().unwrap();
    store.retry(job.id, 500, "502 Bad Gateway").await.unwrap();
    assert!(store.claim("w", 499, 1_000).await.unwrap().is_none());
    let job = store.claim("w", 500, 1_000).await.unwrap().unwrap();
    assert_eq!(job.attempts, 2);
    store.bury(job.id, "gave up", 600).await.unwrap();
    assert_eq!(
        store.counts().await.unwrap(),
        Counts {
            queued: 0,
            running: 0,
            dead: 1
        }
    );
    assert_eq!(store.requeue_dead(700).await.unwrap(), 1);
    let job = store.claim("w", 700, 1_000).await.unwrap().unwrap();
    store.complete(job.id, 800).await.unwrap();
    assert_eq!(store.counts().await.unwrap(), Counts::default());
}

async fn released_jobs_run_again_at_once(store: impl Store) {
    store.record(delivery("a"), 0).await.unwrap();
    store.claim("w1", 0, 60_000).await.unwrap().unwrap();
    assert_eq!(store.release("w1").await.unwrap(), 1);
    let job = store.claim("w2", 1, 60_000).await.unwrap().unwrap();
    assert_eq!(job.attempts, 1);
}

async fn pruning_keeps_unfinished_work_and_recent_dedupe_keys(store: impl Store) {
    store.record(delivery("old-done"), 0).await.unwrap();
    store.record(delivery("old-queued"), 0).await.unwrap();
    store.record(delivery("new"), 100).await.unwrap();
    let job = store.claim("w", 0, 10).await.unwrap().unwrap();
    assert_eq!(job.delivery_id, "old-done");
    store.complete(job.id, 1).await.unwrap();
    assert_eq!(store.prune(50, 100).await.unwrap(), 1);
    assert_eq!(
        store.record(delivery("new"), 101).await.unwrap(),
        Recorded::Duplicate
    );
    assert_eq!(
        store.record(delivery("old-queued"), 101).await.unwrap(),
        Recorded::Duplicate
    );
    assert_eq!(
        store.record(delivery("old-done"), 101).await.unwrap(),
        Recorded::New
    );
}

async fn pruning_goes_oldest_first_in_batches_of_the_size_asked(store: impl Store) {
    for (id, at) in [
        ("d3", 30),
        ("d1", 10),
        ("d5", 50),
        ("d2", 20),
        ("d4", 40),
        ("new", 99),
    ] {
        store.record(delivery(id), at).await.unwrap();
        let job = store.claim("w", at, 10).await.unwrap().unwrap();
        store.complete(job.id, at).await.unwrap();
    }
    assert_eq!(store.prune(45, 2).await.unwrap(), 2);
    // The two oldest went: their ids are new again, the third oldest is still known.
    assert_eq!(
        store.record(delivery("d1"), 100).await.unwrap(),
        Recorded::New
    );
    assert_eq!(
        store.record(delivery("d2"), 100).await.unwrap(),
        Recorded::New
    );
    assert_eq!(
        store.record(delivery("d3"), 100).await.unwrap(),
        Recorded::Duplicate
    );
    // d1 and d2 came back as new deliveries; the old d3 and d4 go, in batches of one.
    assert_eq!(
        gep_bot::machinery::store::prune_in_batches(&store, 45, 1)
            .await
            .unwrap(),
        2
    );
    assert_eq!(store.prune(45, 10).await.unwrap(), 0);
    // A batch of 0 is taken as 1, not as a loop that never ends.
    let zero = gep_bot::machinery::store::prune_in_batches(&store, 60, 0);
    let pruned = tokio::time::timeout(std::time::Duration::from_secs(5), zero).await;
    assert_eq!(pruned.expect("it ends").unwrap(), 1, "d5 goes");
    assert_eq!(
        store.record(delivery("d5"), 100).await.unwrap(),
        Recorded::New
    );
    assert_eq!(
        store.record(delivery("d4"), 100).await.unwrap(),
        Recorded::New
    );
}

async fn label_suppression_is_remembered_and_lifted(store: impl Store) {
    // The four label changes, on issue `number` of `o/r`.
    let change = |kind: &str, number: u64| {
        let (repo, label) = ("o/r".to_owned(), "area/mesh".to_owned());
        match kind {
            "suppress" => StateChange::SuppressLabel {
                repo,
                number,
                label,
            },
            "allow" => StateChange::AllowLabel {
                repo,
                number,
                label,
            },
            "on" => StateChange::LabelOn {
                repo,
                number,
                label,
            },
            _ => StateChange::LabelOff {
                repo,
                number,
                label,
            },
        }
    };
    let (suppress, allow, on, off) = ("suppress", "allow", "on", "off");
    let memory = |number| {
        let store = &store;
        async move {
            store
                .label_memory("o/r", number, "area/mesh")
                .await
                .unwrap()
        }
    };
    assert_eq!(memory(1).await, LabelMemory::default());
    store
        .apply(&[change(suppress, 1), change(suppress, 1)])
        .await
        .unwrap();
    assert!(memory(1).await.suppressed);
    assert!(!memory(2).await.suppressed);
    store.apply(&[change(allow, 1)]).await.unwrap();
    assert!(!memory(1).await.suppressed);
    // On and off: what the bot wrote or saw, per issue, twice the same is once.
    store.apply(&[change(on, 3), change(on, 3)]).await.unwrap();
    assert_eq!(
        memory(3).await,
        LabelMemory {
            suppressed: false,
            on: true
        }
    );
    assert!(!memory(1).await.on);
    store.apply(&[change(off, 3)]).await.unwrap();
    assert!(!memory(3).await.on);
    store.ping().await.unwrap();
}

async fn a_review_state_is_saved_replaced_and_loaded(store: impl Store) {
    use gep_bot::capabilities::review::{ReviewState, Vote};
    assert_eq!(store.review("o/r", 7).await.unwrap(), None);
    let mut state = ReviewState::default();
    state.votes.insert("howardjohn".into(), Vote::Approved);
    let save = |state: &ReviewState| StateChange::SaveReview {
        repo: "o/r".into(),
        number: 7,
        state: state.clone(),
    };
    store.apply(&[save(&state)]).await.unwrap();
    assert_eq!(store.review("o/r", 7).await.unwrap(), Some(state.clone()));
    state
        .votes
        .insert("keithmattix".into(), Vote::ChangesRequested);
    store.apply(&[save(&state)]).await.unwrap();
    assert_eq!(store.review("o/r", 7).await.unwrap(), Some(state));
    assert_eq!(store.review("o/r", 8).await.unwrap(), None);
}

async fn what_the_bot_said_is_replaced_and_read_per_issue_and_kind(store: impl Store) {
    assert!(store.said("o/r", "graduation").await.unwrap().is_empty());
    let say = |number, about: &str, digest: &str| StateChange::Said {
        repo: "o/r".into(),
        number,
        about: about.into(),
        digest: digest.into(),
    };
    store
        .apply(&[say(2645, "graduation", "a1"), say(2644, "graduation", "b1")])
        .await
        .unwrap();
    store.apply(&[say(2645, "graduation", "a2")]).await.unwrap();
    let said = store.said("o/r", "graduation").await.unwrap();
    assert_eq!(said.get(&2645).map(String::as_str), Some("a2"));
    assert_eq!(said.get(&2644).map(String::as_str), Some("b1"));
    assert_eq!(said.len(), 2);
    assert!(store.said("o/r", "other").await.unwrap().is_empty());
    assert!(store.said("o/x", "graduation").await.unwrap().is_empty());
}

async fn the_actions_a_job_did_are_remembered_for_its_retry(store: impl Store) {
    store.record(delivery("d-1"), 1_000).await.unwrap();
    let job = store.claim("w", 1_000, 60_000).await.unwrap().unwrap();
    assert_eq!(job.done_actions, Vec::<String>::new());
    let keys = vec!["a1b2".to_owned(), "c3d4".to_owned()];
    store.record_done_actions(job.id, &keys[..1]).await.unwrap();
    store.record_done_actions(job.id, &keys).await.unwrap();
    store.retry(job.id, 2_000, "502").await.unwrap();
    let again = store.claim("w", 2_000, 60_000).await.unwrap().unwrap();
    assert_eq!(again.id, job.id);
    assert_eq!(again.done_actions, keys, "read with the claim");
}

async fn activity_is_kept_at_its_earliest_time_and_read_by_period(store: impl Store) {
    use gep_bot::core::state::{Activity, ActivityKind};
    let seen = |kind, number, at| {
        StateChange::Record(Activity {
            repo: "o/r".into(),
            kind,
            number,
            detail: String::new(),
            at_ms: Some(at),
        })
    };
    // A review's events arrive out of order, and one twice: the first time is kept.
    store
        .apply(&[
            seen(ActivityKind::ReviewStarted, 7, 5_000),
            seen(ActivityKind::ReviewStarted, 7, 2_000),
            seen(ActivityKind::ReviewStarted, 7, 9_000),
            seen(ActivityKind::ReviewQuorum, 7, 8_000),
            seen(ActivityKind::ReviewStarted, 8, 12_000),
        ])
        .await
        .unwrap();
    let all = store.activity("o/r", 0, 20_000).await.unwrap();
    let rows: Vec<(ActivityKind, u64, Option<i64>)> =
        all.iter().map(|a| (a.kind, a.number, a.at_ms)).collect();
    assert_eq!(
        rows,
        [
            (ActivityKind::ReviewStarted, 7, Some(2_000)),
            (ActivityKind::ReviewQuorum, 7, Some(8_000)),
            (ActivityKind::ReviewStarted, 8, Some(12_000)),
        ]
    );
    // [from, to): the end is not included; another repository's is not there.
    assert_eq!(store.activity("o/r", 2_000, 12_000).await.unwrap().len(), 2);
    assert!(
        store
            .activity("o/other", 0, 20_000)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn a_finished_job_is_completed_by_the_next_claim(store: impl Store) {
    store.record(delivery("first"), 1).await.unwrap();
    store.record(delivery("second"), 1).await.unwrap();
    let first = store.claim_after(&[], "w", 2, 1_000, 1).await.unwrap();
    assert_eq!(first.len(), 1);
    let second = store
        .claim_after(&[(first[0].id, 3)], "w", 4, 1_000, 1)
        .await
        .unwrap();
    assert_eq!(second[0].delivery_id, "second");
    assert_eq!(
        store.counts().await.unwrap(),
        Counts {
            queued: 0,
            running: 1,
            dead: 0
        }
    );
    // Nothing left to claim: the last one is completed all the same.
    assert!(
        store
            .claim_after(&[(second[0].id, 5)], "w", 6, 1_000, 1)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.counts().await.unwrap(), Counts::default());
}

async fn a_claim_takes_up_to_most_due_jobs_oldest_first(store: impl Store) {
    for (id, at) in [("c", 3), ("a", 1), ("b", 2)] {
        store.record(delivery(id), at).await.unwrap();
    }
    // Timed work not due yet stays queued however many are asked for.
    store.schedule(delivery("later"), 1, 1_000).await.unwrap();
    let two = store.claim_after(&[], "w", 10, 60_000, 2).await.unwrap();
    let ids: Vec<&str> = two.iter().map(|job| job.delivery_id.as_str()).collect();
    assert_eq!(ids, ["a", "b"], "oldest first, no more than asked");
    assert!(two.iter().all(|job| job.attempts == 1));
    assert_eq!(two[0].body, b"{\"action\":\"opened\"}");
    let finished: Vec<(i64, i64)> = two.iter().map(|job| (job.id, 11)).collect();
    let rest = store
        .claim_after(&finished, "w", 12, 60_000, 16)
        .await
        .unwrap();
    let ids: Vec<&str> = rest.iter().map(|job| job.delivery_id.as_str()).collect();
    assert_eq!(ids, ["c"]);
    assert_eq!(
        store.counts().await.unwrap(),
        Counts {
            queued: 1,
            running: 1,
            dead: 0
        }
    );
    // Asked for none, it only completes.
    let none = store
        .claim_after(&[(rest[0].id, 13)], "w", 2_000, 60_000, 0)
        .await
        .unwrap();
    assert!(none.is_empty());
    assert_eq!(
        store.counts().await.unwrap(),
        Counts {
            queued: 1,
            running: 0,
            dead: 0
        },
        "completed, and the due job left for the next claim"
    );
}

async fn a_claim_takes_due_jobs_before_expired_leases_and_both_when_asked(store: impl Store) {
    store.record(delivery("abandoned"), 1).await.unwrap();
    let held = store.claim("died", 2, 10).await.unwrap().unwrap();
    store.record(delivery("due"), 3).await.unwrap();
    // At 20 the first job's lease (to 12) has run out, and the second is due.
    let one = store.claim_after(&[], "w", 20, 60_000, 1).await.unwrap();
    let ids: Vec<&str> = one.iter().map(|job| job.delivery_id.as_str()).collect();
    assert_eq!(ids, ["due"], "a due job comes before an expired lease");
    let two = store.claim_after(&[], "w2", 20, 60_000, 2).await.unwrap();
    let ids: Vec<&str> = two.iter().map(|job| job.delivery_id.as_str()).collect();
    assert_eq!(ids, ["abandoned"], "the expired lease, once no job is due");
    assert_eq!((two[0].id, two[0].attempts), (held.id, 2));
    assert_eq!(two[0].body, b"{\"action\":\"opened\"}");
    let again = store.claim_after(&[], "w3", 20, 60_000, 16).await.unwrap();
    assert!(again.is_empty(), "claimed twice: {again:?}");
}

async fn a_finished_job_whose_lease_ran_out_is_completed_not_claimed_again(store: impl Store) {
    store.record(delivery("slow"), 1).await.unwrap();
    let job = store.claim("w", 2, 10).await.unwrap().unwrap();
    // It finished after its lease: the claim that completes it must not take it again.
    let claimed = store
        .claim_after(&[(job.id, 50)], "w", 50, 10, 4)
        .await
        .unwrap();
    assert!(claimed.is_empty(), "claimed again: {claimed:?}");
    assert_eq!(store.counts().await.unwrap(), Counts::default());
}

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let dir = tempfile::tempdir().unwrap();
                    let url = format!("sqlite://{}", dir.path().join("store.db").display());
                    super::$name(super::SqliteStore::open(&url).await.unwrap()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some((_, _, store)) = super::common::postgres_store(stringify!($name)).await else { return };
                    super::$name(store).await;
                }
            )*
        }
    };
}

contract!(
    a_delivery_is_stored_once_and_queues_one_job,
    concurrent_duplicates_are_stored_once,
    the_same_delivery_twice_at_once_is_new_once,
    a_claimed_job_is_not_claimed_again_until_its_lease_expires,
    concurrent_workers_never_take_the_same_job,
    retried_jobs_wait_and_dead_jobs_can_be_requeued,
    released_jobs_run_again_at_once,
    pruning_keeps_unfinished_work_and_recent_dedupe_keys,
    pruning_goes_oldest_first_in_batches_of_the_size_asked,
    label_suppression_is_remembered_and_lifted,
    a_review_state_is_saved_replaced_and_loaded,
    what_the_bot_said_is_replaced_and_read_per_issue_and_kind,
    the_actions_a_job_did_are_remembered_for_its_retry,
    activity_is_kept_at_its_earliest_time_and_read_by_period,
    a_finished_job_is_completed_by_the_next_claim,
    a_claim_takes_up_to_most_due_jobs_oldest_first,
    a_claim_takes_due_jobs_before_expired_leases_and_both_when_asked,
    a_finished_job_whose_lease_ran_out_is_completed_not_claimed_again,
);

/// Replicas only: two stores on one database record the same redeliveries at once, in opposite
/// orders. Each id is new exactly once and none is refused. (A grouped insert, tried for speed,
/// deadlocked here about one run in two until its rows went in in id order: PostgreSQL aborts one
/// of two transactions waiting for each other, and every delivery in it would be answered 503.)
#[tokio::test]
async fn replicas_recording_the_same_redeliveries_at_once_refuse_none() {
    let Some((url, schema, first)) =
        common::postgres_store("replicas_recording_the_same_redeliveries").await
    else {
        return;
    };
    let second = PgStore::open_in_schema(&url, &schema).await.unwrap();
    let ids: Vec<String> = (0..400).map(|i| format!("r-{i:03}")).collect();
    let record = |store: &PgStore, id: &String| {
        let (store, id) = (store.clone(), id.clone());
        tokio::spawn(async move {
            let delivery = NewDelivery {
                id: &id,
                event: "issues",
                body: b"{}",
            };
            store.record(delivery, 0).await
        })
    };
    // Interleaved, so both stores' groups form at once: one from the first id up, one from the
    // last down.
    let tasks: Vec<_> = ids
        .iter()
        .zip(ids.iter().rev())
        .flat_map(|(up, down)| [record(&first, up), record(&second, down)])
        .collect();
    let mut new = 0;
    for task in tasks {
        let outcome = task.await.unwrap().expect("no delivery refused");
        new += usize::from(outcome == Recorded::New);
    }
    assert_eq!(new, ids.len());
    assert_eq!(second.counts().await.unwrap().queued, ids.len() as i64);
}

/// A plan's state changes are kept together or not at all: here the second fails (its table is
/// gone, as a database broken under the bot would have it), and the first is undone with it.
async fn a_plan_whose_second_change_fails_keeps_neither(store: impl Store) {
    use gep_bot::core::state::{Activity, ActivityKind};
    let label_on = StateChange::LabelOn {
        repo: "o/r".into(),
        number: 7,
        label: "area/mesh".into(),
    };
    let seen = StateChange::Record(Activity {
        repo: "o/r".into(),
        kind: ActivityKind::ReviewStarted,
        number: 7,
        detail: String::new(),
        at_ms: Some(1),
    });
    assert!(store.apply(&[label_on, seen]).await.is_err());
    assert!(
        !store.label_memory("o/r", 7, "area/mesh").await.unwrap().on,
        "the first change was kept"
    );
}

#[tokio::test]
async fn a_plan_is_applied_whole_or_not_at_all_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let store = SqliteStore::open(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("DROP TABLE activity")
        .unwrap();
    a_plan_whose_second_change_fails_keeps_neither(store).await;
}

#[tokio::test]
async fn a_plan_is_applied_whole_or_not_at_all_on_postgres() {
    let Some((url, schema, store)) = common::postgres_store("a_plan_is_applied_whole").await else {
        return;
    };
    let (client, connection) = tokio_postgres::connect(
        &PgStore::url_in_schema(&url, &schema),
        tokio_postgres::NoTls,
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    client.batch_execute("DROP TABLE activity").await.unwrap();
    a_plan_whose_second_change_fails_keeps_neither(store).await;
    PgStore::drop_schema(&url, &schema).await.unwrap();
}
