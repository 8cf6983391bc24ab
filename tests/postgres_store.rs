//! What only the PostgreSQL store does (`GEP_BOT_TEST_DATABASE_URL`, a schema per test; skipped
//! loudly without it): deliveries arriving together share a commit, every connection has
//! TCP_NODELAY, `sslmode` means what libpq says, and a database sqlx migrated goes on.

mod common;

use std::os::fd::BorrowedFd;

use gep_bot::machinery::store::{NewDelivery, PgStore, Recorded, Store};
use sha2::{Digest, Sha384};

/// An admin connection to `url` (outside the store), for what the test reads and sets up.
async fn admin(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("PostgreSQL answers");
    tokio::spawn(connection);
    client
}

fn delivery(id: &str) -> NewDelivery<'_> {
    NewDelivery {
        id,
        event: "issues",
        body: b"{}",
    }
}

/// A row's `xmin` is the transaction that inserted it: 200 deliveries recorded at once went in
/// far fewer commits than 200, each answered as stored.
#[tokio::test]
async fn deliveries_arriving_together_share_a_commit() {
    let Some((url, schema, store)) = common::postgres_store("deliveries_arriving_together").await
    else {
        return;
    };
    let ids: Vec<String> = (0..200).map(|i| format!("g-{i}")).collect();
    let tasks: Vec<_> = ids
        .iter()
        .map(|id| {
            let (store, id) = (store.clone(), id.clone());
            tokio::spawn(async move { store.record(delivery(&id), 1).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), Recorded::New);
    }
    let client = admin(&PgStore::url_in_schema(&url, &schema)).await;
    let row = client
        .query_one(
            "SELECT COUNT(*), COUNT(DISTINCT deliveries.xmin::text) FROM deliveries JOIN jobs ON jobs.delivery_id = deliveries.id",
            &[],
        )
        .await
        .unwrap();
    let (rows, commits): (i64, i64) = (row.get(0), row.get(1));
    assert_eq!(rows, 200, "every delivery stored with its job");
    assert!(commits <= 20, "{commits} commits for 200 deliveries");
    PgStore::drop_schema(&url, &schema).await.unwrap();
}

/// sqlx opened its connections without TCP_NODELAY: a statement of more than one segment then
/// waited out the server's delayed ACK. Every TCP connection the store holds to the server has
/// it set.
///
/// The store's connections are the ones the server lists under this test's own
/// `application_name`: the other tests of this binary open connections at the same time, and
/// one of theirs caught between its `connect` and its `set_nodelay` is not the store's.
#[tokio::test]
async fn every_connection_to_the_server_has_tcp_nodelay() {
    let name = "every_connection_has_tcp_nodelay";
    let Some(url) = common::postgres_url(name) else {
        return;
    };
    let schema = common::unique_schema(name);
    let separator = if url.contains('?') { '&' } else { '?' };
    let store = PgStore::open_in_schema(
        &format!("{url}{separator}application_name={schema}"),
        &schema,
    )
    .await
    .unwrap();
    // Several connections open at once: the pool grows past its first.
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store.record(delivery(&format!("n-{i}")), 1).await.unwrap();
                store.counts().await.unwrap()
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    // A connection over a Unix socket has no client port (and no Nagle to turn off).
    let ports: Vec<Option<i32>> = admin(&url)
        .await
        .query(
            "SELECT client_port FROM pg_stat_activity WHERE application_name = $1",
            &[&schema],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert!(
        ports.len() >= 2,
        "the server lists {ports:?} as the store's"
    );
    let Some(ports) = ports.into_iter().collect::<Option<Vec<i32>>>() else {
        eprintln!(
            "SKIPPED {name}: GEP_BOT_TEST_DATABASE_URL reaches the server over a Unix socket"
        );
        PgStore::drop_schema(&url, &schema).await.unwrap();
        return;
    };
    let mut checked = Vec::new();
    for entry in std::fs::read_dir("/proc/self/fd").unwrap() {
        let Ok(fd) = entry.unwrap().file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        // SAFETY: the store's descriptors stay open while they are looked at (nothing here
        // closes its connections); another test's may close, and then answers an error below.
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        let socket = socket2::SockRef::from(&fd);
        let Some(local) = socket.local_addr().ok().and_then(|local| local.as_socket()) else {
            continue;
        };
        if !ports.contains(&i32::from(local.port())) {
            continue;
        }
        assert!(
            socket.tcp_nodelay().unwrap(),
            "the store's connection from port {} without TCP_NODELAY",
            local.port()
        );
        checked.push(i32::from(local.port()));
    }
    checked.sort_unstable();
    let mut listed = ports;
    listed.sort_unstable();
    assert_eq!(
        checked, listed,
        "every connection the server lists was looked at"
    );
    PgStore::drop_schema(&url, &schema).await.unwrap();
}

/// libpq's meanings: `require` encrypts without checking the certificate (the server here has
/// Debian's self-signed one), `verify-full` refuses a certificate no root vouches for,
/// `disable` does not encrypt. Skipped where the server has no TLS.
#[tokio::test]
async fn sslmode_means_what_libpq_says() {
    let name = "sslmode_means_what_libpq_says";
    let Some(url) = common::postgres_url(name) else {
        return;
    };
    let client = admin(&url).await;
    let ssl: String = client.query_one("SHOW ssl", &[]).await.unwrap().get(0);
    if ssl != "on" {
        eprintln!("SKIPPED {name}: the server at GEP_BOT_TEST_DATABASE_URL has ssl = {ssl}");
        return;
    }
    let schema = common::unique_schema(name);
    let with = |mode: &str| {
        let url = PgStore::url_in_schema(&url, &schema);
        format!("{url}&sslmode={mode}&application_name={schema}_{mode}")
    };
    PgStore::open_in_schema(&url, &schema).await.unwrap();
    let encrypted = |mode: &'static str| {
        let (client, schema) = (&client, &schema);
        async move {
            client
                .query_one(
                    "SELECT bool_and(ssl) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid)
                     WHERE application_name = $1",
                    &[&format!("{schema}_{mode}")],
                )
                .await
                .unwrap()
                .get::<_, Option<bool>>(0)
        }
    };
    let required = PgStore::open(&with("require")).await.unwrap();
    assert_eq!(encrypted("require").await, Some(true));
    let plain = PgStore::open(&with("disable")).await.unwrap();
    assert_eq!(encrypted("disable").await, Some(false));
    let refused = PgStore::open(&with("verify-full")).await.err().unwrap();
    assert!(
        refused.to_string().contains("invalid peer certificate"),
        "{refused}"
    );
    drop((required, plain));
    PgStore::drop_schema(&url, &schema).await.unwrap();
}

/// Migrations as sqlx recorded them: version, description, success, SHA-384 of the SQL.
async fn migrate_as_sqlx_did(client: &tokio_postgres::Client, up_to: i64) {
    client
        .batch_execute(
            "CREATE TABLE _sqlx_migrations (
                version BIGINT PRIMARY KEY,
                description TEXT NOT NULL,
                installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),
                success BOOLEAN NOT NULL,
                checksum BYTEA NOT NULL,
                execution_time BIGINT NOT NULL
            )",
        )
        .await
        .unwrap();
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("bot/machinery/store/migrations/postgres");
    let mut files: Vec<_> = std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    for file in files {
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        let (version, description) = name.split_once('_').unwrap();
        let version: i64 = version.parse().unwrap();
        if version > up_to {
            break;
        }
        let sql = std::fs::read_to_string(&file).unwrap();
        client.batch_execute(&sql).await.unwrap();
        client
            .execute(
                "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
                 VALUES ($1, $2, TRUE, $3, 1)",
                &[
                    &version,
                    &description.replace('_', " "),
                    &Sha384::digest(sql.as_bytes()).as_slice(),
                ],
            )
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_database_sqlx_migrated_goes_on_with_its_data() {
    let name = "a_database_sqlx_migrated";
    let Some(url) = common::postgres_url(name) else {
        return;
    };
    let schema = common::unique_schema(name);
    admin(&url)
        .await
        .batch_execute(&format!("CREATE SCHEMA \"{schema}\""))
        .await
        .unwrap();
    let in_schema = PgStore::url_in_schema(&url, &schema);
    let client = admin(&in_schema).await;
    migrate_as_sqlx_did(&client, 5).await;
    client
        .batch_execute(
            "INSERT INTO deliveries (id, event, received_ms, body) VALUES ('old', 'issues', 1, '\\x7b7d');
             INSERT INTO jobs (delivery_id, state, run_after) VALUES ('old', 'queued', 1);",
        )
        .await
        .unwrap();
    let store = PgStore::open(&in_schema).await.unwrap();
    assert_eq!(
        store.record(delivery("old"), 2).await.unwrap(),
        Recorded::Duplicate,
        "the delivery stored before is still known"
    );
    let versions: Vec<i64> = client
        .query("SELECT version FROM _sqlx_migrations ORDER BY version", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    let files = std::fs::read_dir(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("bot/machinery/store/migrations/postgres"),
    )
    .unwrap()
    .count() as i64;
    assert_eq!(versions, (1..=files).collect::<Vec<_>>());
    // Its queued job runs with the body as it was stored (uncompressed, before bodies were).
    let job = store.claim("w", 3, 1_000).await.unwrap().unwrap();
    assert_eq!(
        (job.delivery_id.as_str(), job.body.as_slice()),
        ("old", &b"{}"[..])
    );
    // The later migrations ran: their tables (labels known on, activity) answer.
    store.label_memory("o/r", 1, "area/mesh").await.unwrap();
    store.activity("o/r", 0, i64::MAX).await.unwrap();

    // A migration applied with other SQL, or one this build does not know, is refused with
    // what it means.
    client
        .execute(
            "UPDATE _sqlx_migrations SET checksum = '\\x00' WHERE version = 2",
            &[],
        )
        .await
        .unwrap();
    let refused = PgStore::open(&in_schema).await.err().unwrap().to_string();
    assert!(
        refused.contains("migration 2") && refused.contains("other SQL"),
        "{refused}"
    );
    client
        .batch_execute(&format!(
            "UPDATE _sqlx_migrations SET checksum = '\\x{}' WHERE version = 2;
             INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
             VALUES (99, 'later', TRUE, '\\x00', 1)",
            hex::encode(Sha384::digest(
                std::fs::read(
                    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join("bot/machinery/store/migrations/postgres/0002_reviews.sql")
                )
                .unwrap()
            ))
        ))
        .await
        .unwrap();
    let refused = PgStore::open(&in_schema).await.err().unwrap().to_string();
    assert!(
        refused.contains("migration 99") && refused.contains("newer"),
        "{refused}"
    );
    PgStore::drop_schema(&url, &schema).await.unwrap();
}

/// A webhook is compressed by the bot, not again by PostgreSQL (pglz cost more than the rest of
/// its insert), stays in its row, and is claimed back as received.
#[tokio::test]
async fn bodies_are_compressed_once_by_the_bot_and_claimed_as_received() {
    let Some((url, schema, store)) = common::postgres_store("bodies_are_compressed_once").await
    else {
        return;
    };
    let webhook = common::webhook_body("issues", "opened.payload.json");
    let delivery = NewDelivery {
        id: "big",
        event: "issues",
        body: &webhook,
    };
    assert_eq!(store.record(delivery, 1).await.unwrap(), Recorded::New);
    let client = admin(&PgStore::url_in_schema(&url, &schema)).await;
    let row = client
        .query_one(
            "SELECT encoding, octet_length(body), pg_column_compression(body) FROM deliveries",
            &[],
        )
        .await
        .unwrap();
    let (encoding, stored, pglz): (String, i32, Option<String>) =
        (row.get(0), row.get(1), row.get(2));
    assert_eq!(encoding, "lz4");
    assert!(
        (stored as usize) < webhook.len() / 2,
        "{stored} bytes stored for {}",
        webhook.len()
    );
    assert_eq!(pglz, None, "PostgreSQL compressed it again");
    let job = store.claim("w", 2, 1_000).await.unwrap().unwrap();
    assert_eq!(job.body, webhook);
    PgStore::drop_schema(&url, &schema).await.unwrap();
}

/// Jobs have no foreign key to their delivery (its check cost ~13 us a row): pruning deletes a
/// finished job with its delivery, leaves none behind, and keeps unfinished work.
#[tokio::test]
async fn pruning_deletes_finished_jobs_with_their_deliveries() {
    let Some((url, schema, store)) = common::postgres_store("pruning_deletes_finished_jobs").await
    else {
        return;
    };
    for id in ["done-1", "done-2", "queued"] {
        store.record(delivery(id), 1).await.unwrap();
    }
    for _ in 0..2 {
        let job = store.claim("w", 2, 1_000).await.unwrap().unwrap();
        store.complete(job.id, 3).await.unwrap();
    }
    assert_eq!(store.prune(10, 100).await.unwrap(), 2);
    let client = admin(&PgStore::url_in_schema(&url, &schema)).await;
    let left: Vec<(String, String)> = client
        .query(
            "SELECT d.id, j.state FROM deliveries d FULL JOIN jobs j ON j.delivery_id = d.id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| {
            (
                row.get::<_, Option<String>>(0).unwrap_or_default(),
                row.get::<_, Option<String>>(1).unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(left, [("queued".to_owned(), "queued".to_owned())]);
    PgStore::drop_schema(&url, &schema).await.unwrap();
}

/// A worker's loop costs one statement and one commit per batch of jobs: the jobs that finished
/// are recorded done by the claim of the next batch, in the same transaction (the rows' `xmin`).
/// What `claim_after` does is the contract's (`store_contract.rs`); this is how.
#[tokio::test]
async fn the_finished_jobs_are_completed_by_the_next_claim_in_one_commit() {
    let Some((url, schema, store)) = common::postgres_store("completed_by_the_next_claim").await
    else {
        return;
    };
    for id in ["first", "second", "third"] {
        store.record(delivery(id), 1).await.unwrap();
    }
    let batch = store.claim_after(&[], "w", 2, 1_000, 2).await.unwrap();
    let finished: Vec<(i64, i64)> = batch.iter().map(|job| (job.id, 3)).collect();
    let next = store
        .claim_after(&finished, "w", 4, 1_000, 2)
        .await
        .unwrap();
    assert_eq!(next.len(), 1);
    let client = admin(&PgStore::url_in_schema(&url, &schema)).await;
    let commits: Vec<(String, String)> = client
        .query("SELECT state, xmin::text FROM jobs ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    let states: Vec<&str> = commits.iter().map(|(state, _)| state.as_str()).collect();
    assert_eq!(states, ["done", "done", "running"]);
    assert!(
        commits.iter().all(|(_, xmin)| *xmin == commits[0].1),
        "one commit: {commits:?}"
    );
    PgStore::drop_schema(&url, &schema).await.unwrap();
}

/// The claim's plan is made once per connection, while the table may still be small; a plan
/// that scans the table stays as it grows. Measured in `cargo bench --bench intake` before the
/// job pool forbade it: 932 claims read 13.7 million rows of `jobs` by sequential scans. Here the
/// plan is made over 8 jobs, the table then grows to 20,000, and the claims after that must not
/// scan it (the scan counters are PostgreSQL's, flushed when the store's connections close).
#[tokio::test]
async fn the_claim_finds_its_jobs_through_indexes_as_the_table_grows() {
    let Some((url, schema, store)) = common::postgres_store("claim_through_indexes").await else {
        return;
    };
    let mut finished = Vec::new();
    for i in 0..8 {
        store
            .record(delivery(&format!("small-{i}")), i)
            .await
            .unwrap();
        let jobs = store
            .claim_after(&finished, "w", i, 60_000, 4)
            .await
            .unwrap();
        finished = jobs.iter().map(|job| (job.id, i)).collect();
    }
    let client = admin(&PgStore::url_in_schema(&url, &schema)).await;
    add_old_jobs(&client, "'done'").await;
    for i in 0..4 {
        store
            .record(delivery(&format!("large-{i}")), 100)
            .await
            .unwrap();
        let jobs = store
            .claim_after(&finished, "w", 100 + i, 60_000, 4)
            .await
            .unwrap();
        assert!(!jobs.is_empty());
        finished = jobs.iter().map(|job| (job.id, 100 + i)).collect();
    }
    drop(store);
    // Each connection's counters reach the table's once it closes: 12 claims updated rows.
    let rows_read = sequential_reads_of_jobs(&client, &schema, "n_tup_upd", 12).await;
    assert!(
        rows_read < 1_000,
        "the claims read {rows_read} rows of jobs by sequential scans"
    );
    PgStore::drop_schema(&url, &schema).await.unwrap();
}

/// `/metrics` counts the jobs at every scrape and pruning looks for the unfinished ones every
/// hour; with every job ever run kept until it is pruned, neither may read them all. Over
/// 20,000 finished jobs (analysed, as autovacuum would), the counts and a prune of a batch read
/// fewer than 1,000 rows of `jobs` by sequential scans, and still answer right.
#[tokio::test]
async fn counting_and_pruning_read_no_job_table_through() {
    let Some((url, schema, store)) = common::postgres_store("counts_through_indexes").await else {
        return;
    };
    for i in 0..3 {
        store
            .record(delivery(&format!("new-{i}")), 50_000)
            .await
            .unwrap();
    }
    let claimed = store
        .claim_after(&[], "w", 50_000, 60_000, 1)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let client = admin(&PgStore::url_in_schema(&url, &schema)).await;
    add_old_jobs(&client, "CASE WHEN n = 7 THEN 'dead' ELSE 'done' END").await;
    client
        .batch_execute("ANALYZE deliveries; ANALYZE jobs;")
        .await
        .unwrap();
    let counts = store.counts().await.unwrap();
    assert_eq!(
        (counts.queued, counts.running, counts.dead),
        (2, 1, 1),
        "{counts:?}"
    );
    // A batch of the oldest, never the unfinished three: 10 of 20,000, as the store's batches
    // of 1,000 are a small share of a table kept for the retention period (the planner rightly
    // reads a table through when a batch is a large share of it).
    assert_eq!(store.prune(60_000, 10).await.unwrap(), 10);
    drop(store);
    let rows_read = sequential_reads_of_jobs(&client, &schema, "n_tup_del", 10).await;
    assert!(
        rows_read < 1_000,
        "counting and pruning read {rows_read} rows of jobs by sequential scans"
    );
    let left: i64 = client
        .query_one("SELECT count(*) FROM jobs", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 20_003 - 10, "the oldest 10 pruned");
    let unfinished: i64 = client
        .query_one(
            "SELECT count(*) FROM jobs WHERE delivery_id LIKE 'new-%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(unfinished, 3, "the unfinished jobs are kept");
    PgStore::drop_schema(&url, &schema).await.unwrap();
}

/// 20,000 deliveries `old-N` received at N ms, each with a finished job in the state the SQL
/// expression `state` gives for `n` (`'done'`, say): a table grown over a retention period.
async fn add_old_jobs(client: &tokio_postgres::Client, state: &str) {
    client
        .batch_execute(&format!(
            "INSERT INTO deliveries (id, event, received_ms, body, encoding)
                 SELECT 'old-' || n, 'issues', n, '\\x7b7d', 'identity' FROM generate_series(1, 20000) n;
             INSERT INTO jobs (delivery_id, state, run_after, finished_ms)
                 SELECT 'old-' || n, {state}, n, n FROM generate_series(1, 20000) n;"
        ))
        .await
        .unwrap();
}

/// The rows of `schema`'s `jobs` read by sequential scans, once the store's connections have
/// reported (their counters reach the table's when they close): when `counter` reaches `at_least`.
async fn sequential_reads_of_jobs(
    client: &tokio_postgres::Client,
    schema: &str,
    counter: &str,
    at_least: i64,
) -> i64 {
    let counters = format!(
        "SELECT seq_tup_read, {counter} FROM pg_stat_user_tables
         WHERE schemaname = $1 AND relname = 'jobs'"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let row = client.query_one(&counters, &[&schema]).await.unwrap();
        let (rows_read, reported): (i64, i64) = (row.get(0), row.get(1));
        if reported >= at_least {
            return rows_read;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the store's connections did not report"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Another replica on `schema` (made if missing), and what wakes its worker.
async fn listening(url: &str, schema: &str) -> (PgStore, std::sync::Arc<tokio::sync::Notify>) {
    let store = PgStore::open_in_schema(url, schema).await.unwrap();
    let woken = std::sync::Arc::new(tokio::sync::Notify::new());
    store.wake_on_queued(woken.clone()).await;
    (store, woken)
}

/// Replicas wake each other: a job one queues is heard by another's listener at commit, so its
/// worker does not wait for a poll; a store in another schema (another deployment sharing the
/// database) is not woken.
#[tokio::test]
async fn a_job_queued_by_one_replica_wakes_the_others() {
    use std::time::Duration;
    let Some((url, schema, first)) = common::postgres_store("woken_by_another_replica").await
    else {
        return;
    };
    let (_second, woken) = listening(&url, &schema).await;
    let elsewhere_schema = common::unique_schema("woken_elsewhere");
    let (_elsewhere, not_woken) = listening(&url, &elsewhere_schema).await;

    first.record(delivery("queued-here"), 1).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), woken.notified())
        .await
        .expect("the other replica heard the job");
    assert!(
        tokio::time::timeout(Duration::from_millis(300), not_woken.notified())
            .await
            .is_err(),
        "another schema's store was woken"
    );
    // A redelivery queues nothing, and wakes nobody.
    first.record(delivery("queued-here"), 2).await.unwrap();
    assert!(
        tokio::time::timeout(Duration::from_millis(300), woken.notified())
            .await
            .is_err(),
        "woken by a duplicate"
    );
    PgStore::drop_schema(&url, &schema).await.unwrap();
    PgStore::drop_schema(&url, &elsewhere_schema).await.unwrap();
}

/// The listening connection is made again when it is lost (here: its backend terminated, as a
/// server restart or a failover would): the replica is woken again afterwards.
#[tokio::test]
async fn a_lost_listening_connection_is_made_again() {
    let Some((url, schema, first)) = common::postgres_store("listening_made_again").await else {
        return;
    };
    let (_second, woken) = listening(&url, &schema).await;
    let client = admin(&PgStore::url_in_schema(&url, &schema)).await;
    assert_eq!(
        backends_listening(&client, "pg_terminate_backend(pid)").await,
        1,
        "the listener's backend"
    );
    queue_until_woken(&first, &woken, "after the connection was lost").await;
    // The first wake-up may be the reconnection's own; this one is a job's notification.
    queue_until_woken(&first, &woken, "by a job, after the connection was lost").await;
    PgStore::drop_schema(&url, &schema).await.unwrap();
}

/// A job queued while the listener was down was announced to no one: once listening again, the
/// worker is told to look, without waiting for its next poll.
#[tokio::test]
async fn jobs_queued_while_the_listener_was_down_wake_the_worker_when_it_is_back() {
    use std::time::Duration;
    let Some((url, schema, first)) = common::postgres_store("listener_back_wakes").await else {
        return;
    };
    let (_second, woken) = listening(&url, &schema).await;
    // No wake-up left over from before.
    let _ = tokio::time::timeout(Duration::from_millis(100), woken.notified()).await;
    let client = admin(&PgStore::url_in_schema(&url, &schema)).await;
    backends_listening(&client, "pg_terminate_backend(pid)").await;
    // Queued before the listener is back (it waits 100 ms before trying): its notification
    // reaches no one.
    first.record(delivery("while-down"), 1).await.unwrap();
    assert_eq!(
        backends_listening(&client, "pid").await,
        0,
        "the job must be queued while nothing listens"
    );
    tokio::time::timeout(Duration::from_secs(5), woken.notified())
        .await
        .expect("the worker is told to look once the listener is back");
    PgStore::drop_schema(&url, &schema).await.unwrap();
}

/// How many backends listen on the schema's channel (that of `client`'s `search_path`), after
/// `what` ran on each (`pid` to only count them, `pg_terminate_backend(pid)` to end them).
async fn backends_listening(client: &tokio_postgres::Client, what: &str) -> i64 {
    let channel: String = client
        .query_one("SELECT 'gep_bot_jobs_' || md5(current_schema())", &[])
        .await
        .unwrap()
        .get(0);
    client
        .query_one(
            &format!(
                "SELECT COUNT(*) FROM (SELECT {what} FROM pg_stat_activity WHERE query = $1) AS t"
            ),
            &[&format!("LISTEN \"{channel}\"")],
        )
        .await
        .unwrap()
        .get(0)
}

/// Queues jobs on `store` until `woken` is told of one (10 s at most): until a listener is
/// back, a job's notification may go unheard.
async fn queue_until_woken(store: &PgStore, woken: &tokio::sync::Notify, when: &str) {
    use std::time::Duration;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    for i in 0.. {
        assert!(std::time::Instant::now() < deadline, "not woken {when}");
        store
            .record(delivery(&format!("after-{i}")), i)
            .await
            .unwrap();
        if tokio::time::timeout(Duration::from_millis(200), woken.notified())
            .await
            .is_ok()
        {
            return;
        }
    }
}

/// A TCP relay to the test's PostgreSQL on a port of its own, that can be taken down (new
/// connections refused; those made stay) and put up again on the same port.
struct Relay {
    port: u16,
    to: std::net::SocketAddr,
    accepting: Option<tokio::task::JoinHandle<()>>,
}

impl Relay {
    async fn to_server_of(url: &str) -> Relay {
        let config: tokio_postgres::Config = url.parse().unwrap();
        let host = match &config.get_hosts()[0] {
            tokio_postgres::config::Host::Tcp(host) => host.clone(),
            other => panic!("a TCP host to relay to, not {other:?}"),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let to = tokio::net::lookup_host((host.as_str(), port))
            .await
            .unwrap()
            .next()
            .unwrap();
        let mut relay = Relay {
            port: common::serve::free_port(),
            to,
            accepting: None,
        };
        relay.up().await;
        relay
    }

    async fn up(&mut self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .unwrap();
        let to = self.to;
        self.accepting = Some(tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut server = tokio::net::TcpStream::connect(to).await?;
                    tokio::io::copy_bidirectional(&mut client, &mut server).await
                });
            }
        }));
    }

    fn down(&mut self) {
        if let Some(accepting) = self.accepting.take() {
            accepting.abort();
        }
    }

    /// `url` (user, database and options kept) through this relay.
    fn url(&self, url: &str) -> String {
        let (scheme, rest) = url.split_once("://").unwrap();
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let user = authority
            .rsplit_once('@')
            .map(|(user, _)| format!("{user}@"));
        format!(
            "{scheme}://{}127.0.0.1:{}/{path}",
            user.unwrap_or_default(),
            self.port
        )
    }
}

/// The listener is made even when PostgreSQL cannot be reached at first: `wake_on_queued` says
/// so and answers, and the replica is woken once the server answers again.
#[tokio::test]
async fn a_listener_that_cannot_connect_at_first_keeps_trying() {
    use std::time::Duration;
    let Some((url, schema, first)) = common::postgres_store("listener_keeps_trying").await else {
        return;
    };
    let mut relay = Relay::to_server_of(&url).await;
    let second = PgStore::open_in_schema(&relay.url(&url), &schema)
        .await
        .unwrap();
    relay.down();
    let woken = std::sync::Arc::new(tokio::sync::Notify::new());
    tokio::time::timeout(
        Duration::from_secs(10),
        second.wake_on_queued(woken.clone()),
    )
    .await
    .expect("answered though the server cannot be reached");
    relay.up().await;
    queue_until_woken(&first, &woken, "once the server answered again").await;
    // The first wake-up may be the connection's own; this one is a job's notification.
    queue_until_woken(&first, &woken, "by a job, once the server answered again").await;
    PgStore::drop_schema(&url, &schema).await.unwrap();
}
