//! The embedded store: one SQLite file in WAL mode. Every write goes through one connection
//! whose thread commits what is waiting in one transaction ([`thread`]); reads have a connection
//! and a thread of their own beside it (except the worker's, made on its own thread:
//! [`in_place`]), and a third connection copies the WAL into the database in the background.

mod in_place;
mod thread;
mod wal;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, ToSql};
use rusqlite_migration::{M, Migrations};

use super::{Counts, Job, NewDelivery, Recorded, Store, StoreError, sql};
use crate::core::state::StateChange;
use crate::core::state::{LabelMemory, ReviewState};
use thread::{ConnectionThread, Mode};

#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: ConnectionThread,
    /// None for an in-memory database, which exists only in the writer's connection: there the
    /// writer reads too.
    reader: Option<ConnectionThread>,
    /// Dropped with the last clone of the store, which stops the background checkpoints.
    _checkpoints: Option<wal::Stop>,
    /// The file, for the threads that read it in place ([`mark_reads_in_place`]).
    file: Option<Arc<Path>>,
}

/// Marks the calling thread as one that runs nothing but one task (the worker's): its reads of an
/// SQLite store are made on it, not handed to the reader's thread and back.
pub fn mark_reads_in_place() {
    in_place::mark();
}

/// Whether the calling thread reads SQLite stores in place ([`mark_reads_in_place`]).
#[cfg(test)]
pub fn reads_in_place() -> bool {
    in_place::marked()
}

/// Turns SQLite's count of the memory it holds off, for the whole process. With it on, every
/// allocation SQLite makes takes and lets go of one global mutex, which the reader, worker and
/// checkpoint connections share with the writer: in a profile of the writer under the intake
/// bench, turning it off took `sqlite3MemSize` out and pthread mutex lock and unlock from 10.5% to
/// 8.3% of its samples (the rest are SQLite's other mutexes). Nothing here reads the count
/// (`sqlite3_memory_used`); SQLite itself recommends building with `SQLITE_DEFAULT_MEMSTATUS=0`
/// ("Recommended Compile-time Options"), which the bundled build does not set.
///
/// # Safety
///
/// Call it before any thread uses SQLite (`sqlite3_config` is not thread-safe): first thing in
/// `main`. After SQLite has started it changes nothing, and says so in its answer.
pub unsafe fn without_memory_statistics() -> bool {
    // SAFETY: the caller makes sure no other thread is in SQLite; the option takes an int.
    let code = unsafe {
        rusqlite::ffi::sqlite3_config(rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS, 0 as std::ffi::c_int)
    };
    code == rusqlite::ffi::SQLITE_OK
}

/// Where a `sqlite:` URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Location {
    Memory,
    File(PathBuf),
}

impl Location {
    /// `sqlite://PATH`, `sqlite:PATH` or `sqlite::memory:`.
    fn parse(url: &str) -> Result<Location, StoreError> {
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .ok_or_else(|| StoreError::UnsupportedUrl(url.to_owned()))?;
        if rest.contains('?') {
            return Err(StoreError::UnsupportedUrl(format!(
                "{url} (options after `?` are not read: the store sets what it needs)"
            )));
        }
        match rest {
            ":memory:" => Ok(Location::Memory),
            "" => Err(StoreError::UnsupportedUrl(format!("{url} (no file name)"))),
            path => Ok(Location::File(PathBuf::from(path))),
        }
    }

    fn file(&self) -> Option<&Path> {
        match self {
            Location::Memory => None,
            Location::File(path) => Some(path),
        }
    }
}

/// The claim of the one process that serves an SQLite file: an exclusive lock on `PATH.lock`,
/// which holds the holder's process id. The operating system lets go of it when the process
/// ends, however it ends, so a killed `serve` never leaves a stale lock. (`requeue` and
/// `doctor` take no claim: they are safe beside a running `serve`.)
#[derive(Debug)]
pub struct ServeClaim {
    _file: std::fs::File,
}

impl ServeClaim {
    /// Claims the file a `sqlite:` URL names (nothing to claim for `sqlite::memory:`).
    pub fn take(url: &str) -> Result<Option<ServeClaim>, StoreError> {
        let Some(path) = Location::parse(url)?.file().map(Path::to_path_buf) else {
            return Ok(None);
        };
        let mut lock_path = path.clone().into_os_string();
        lock_path.push(".lock");
        let lock_path = PathBuf::from(lock_path);
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&lock_path).unwrap_or_default();
                return Err(StoreError::Claimed(format!(
                    "{} is served by another gep-bot (pid {}); one process serves an SQLite file: stop it, or use PostgreSQL for replicas",
                    path.display(),
                    holder.trim()
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(e.into()),
        }
        use std::io::{Seek, Write};
        file.set_len(0)?;
        file.seek(std::io::SeekFrom::Start(0))?;
        write!(file, "{}", std::process::id())?;
        Ok(Some(ServeClaim { _file: file }))
    }
}

/// The schema's migrations, in order.
const MIGRATIONS: [&str; 13] = [
    include_str!("../migrations/sqlite/0001_pipeline.sql"),
    include_str!("../migrations/sqlite/0002_claim_indexes.sql"),
    include_str!("../migrations/sqlite/0003_reviews.sql"),
    include_str!("../migrations/sqlite/0004_body_encoding.sql"),
    include_str!("../migrations/sqlite/0005_received_index.sql"),
    include_str!("../migrations/sqlite/0006_done_actions.sql"),
    include_str!("../migrations/sqlite/0007_health.sql"),
    include_str!("../migrations/sqlite/0008_labels_on.sql"),
    include_str!("../migrations/sqlite/0009_activity.sql"),
    include_str!("../migrations/sqlite/0010_partial_job_indexes.sql"),
    include_str!("../migrations/sqlite/0011_jobs_state_check.sql"),
    include_str!("../migrations/sqlite/0012_said.sql"),
    include_str!("../migrations/sqlite/0013_review_refusals.sql"),
];

fn migrations() -> Migrations<'static> {
    Migrations::new(
        MIGRATIONS
            .iter()
            .map(|sql| M::up(sql).foreign_key_check())
            .collect(),
    )
}

/// Runs the migrations not yet applied with foreign keys off, as SQLite wants a table copied
/// (migration 0011: dropping the old `jobs` would otherwise delete every `done_actions` row of
/// it), each checked for broken references before it commits; then turns them on again.
fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    connection.pragma_update(None, "foreign_keys", "off")?;
    let migrated = migrations().to_latest(connection);
    connection.pragma_update(None, "foreign_keys", "on")?;
    Ok(migrated?)
}

impl SqliteStore {
    /// Opens (creating if needed) `sqlite://PATH` or `sqlite::memory:` and runs the migrations.
    pub async fn open(url: &str) -> Result<SqliteStore, StoreError> {
        let location = Location::parse(url)?;
        tokio::task::spawn_blocking(move || SqliteStore::open_blocking(&location))
            .await
            .map_err(|error| StoreError::Write(error.to_string()))?
    }

    fn open_blocking(location: &Location) -> Result<SqliteStore, StoreError> {
        let file = location.file();
        let mut writer = match file {
            None => Connection::open_in_memory()?,
            Some(path) => Connection::open(path)?,
        };
        configure_writer(&writer)?;
        // The writer does not checkpoint after each commit: see `wal` for who does, and when.
        if file.is_some() {
            writer.pragma_update(None, "wal_autocheckpoint", 0)?;
        }
        adopt_sqlx_history(&writer)?;
        migrate(&mut writer)?;
        let reader = file.map(start_reader).transpose()?;
        let (checkpoints, restarts) = file.map(wal::start).transpose()?.unzip();
        Ok(SqliteStore {
            writer: ConnectionThread::start("sqlite-writer", writer, Mode::Writes(restarts))?,
            reader,
            _checkpoints: checkpoints,
            file: file.map(Arc::from),
        })
    }

    /// Queues again the jobs left running by a process that died. Only one process serves an
    /// SQLite file, so at start every running job is an orphan; waiting for its lease to expire
    /// would only delay it. (Postgres, shared by replicas, relies on leases alone.)
    pub async fn release_orphans(&self) -> Result<u64, StoreError> {
        self.write(
            "UPDATE jobs SET state = 'queued', lease_until = NULL, worker = NULL WHERE state = 'running'",
            vec![],
        )
        .await
    }

    /// Runs `sql` on the writer with `values` bound to `$1`, `$2`, ...; answers the rows changed.
    async fn write(&self, sql: &'static str, values: Vec<Value>) -> Result<u64, StoreError> {
        self.writer
            .call(move |connection| {
                let changed = connection
                    .prepare_cached(sql)?
                    .execute(numbered(&values).as_slice())?;
                Ok(changed as u64)
            })
            .await
    }

    /// The first row of `sql` (with `values` bound to `$1`, ...) through `row`, if there is one.
    async fn read<T: Send + 'static>(
        &self,
        sql: &'static str,
        values: Vec<Value>,
        row: fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Option<T>, StoreError> {
        self.on_reader(move |connection: &Connection| {
            connection
                .prepare_cached(sql)?
                .query_row(numbered(&values).as_slice(), row)
                .optional()
        })
        .await
    }

    /// Runs `work` where this store reads: in place on a thread marked for it, else on the
    /// reader's thread (on the writer's for an in-memory database).
    async fn on_reader<T: Send + 'static>(
        &self,
        // `FnMut`: on the writer (an in-memory database's) a call may run twice (`thread::commit`).
        work: impl FnMut(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        // Only a file has a reader's thread; an in-memory database exists in the writer alone.
        let work = match &self.file {
            Some(file) => match in_place::read(file, work) {
                Ok(read) => return Ok(read?),
                Err(work) => work,
            },
            None => work,
        };
        match &self.reader {
            Some(reader) => reader.call(work).await,
            None => self.writer.call(work).await,
        }
    }
}

/// Runs `work` in one read transaction, so that its statements take the file's locks once (each
/// statement in autocommit takes and lets go of them with `fcntl` calls: reading a claim's
/// deliveries so, the worker made 3.2 of them a job instead of 7.0) and read one snapshot;
/// the pages it read stay in the connection's cache from one statement to the next. In a
/// transaction already (an in-memory database's reads run in the writer's), `work` runs in it.
fn in_one_snapshot<T>(
    connection: &Connection,
    work: impl FnOnce(&Connection) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    if !connection.is_autocommit() {
        return work(connection);
    }
    thread::run(connection, "BEGIN")?;
    let outcome = work(connection);
    // A read has nothing to keep or undo: COMMIT ends it either way. Failing that, ROLLBACK, so
    // that no snapshot stays open to hold the WAL back from starting over.
    let ended = thread::run(connection, "COMMIT");
    if ended.is_err() && !connection.is_autocommit() {
        let _ = thread::run(connection, "ROLLBACK");
    }
    let value = outcome?;
    ended?;
    Ok(value)
}

/// A read-only connection to the file, on a thread of its own.
fn start_reader(path: &Path) -> Result<ConnectionThread, StoreError> {
    Ok(ConnectionThread::start(
        "sqlite-reader",
        in_place::open(path)?,
        Mode::Reads,
    )?)
}

/// The writing connection's settings. Readers need none of them: WAL mode is kept in the file,
/// and the rest concerns writes.
fn configure_writer(connection: &Connection) -> rusqlite::Result<()> {
    // NORMAL in WAL mode: a commit survives the process being killed at any point (the WAL is
    // written before the answer); only an OS crash may lose the last commits.
    connection.pragma_update(None, "journal_mode", "wal")?;
    connection.pragma_update(None, "synchronous", "normal")?;
    connection.pragma_update(None, "foreign_keys", "on")?;
    connection.pragma_update(None, "temp_store", "memory")?;
    connection.busy_timeout(Duration::from_secs(5))
}

/// Databases made before the store moved from sqlx to rusqlite recorded their migrations in
/// sqlx's table, not in `user_version`: count those as applied, so they are not run twice.
fn adopt_sqlx_history(connection: &Connection) -> rusqlite::Result<()> {
    let version: i64 = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let sqlx_table = connection
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            [],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if version == 0 && sqlx_table {
        let applied: i64 = connection.query_row(
            "SELECT COUNT(*) FROM _sqlx_migrations WHERE success",
            [],
            |row| row.get(0),
        )?;
        connection.pragma_update(None, "user_version", applied)?;
    }
    Ok(())
}

/// Binds `values[i]` to `$i+1`: the placeholders of the SQL this store shares with PostgreSQL.
/// (SQLite numbers `$N` parameters by first appearance, not by N, so binding by position would
/// swap values in statements that name `$2` before `$1`.)
fn numbered(values: &[Value]) -> Vec<(&'static str, &dyn ToSql)> {
    const NAMES: [&str; 9] = ["$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9"];
    assert!(values.len() <= NAMES.len(), "more values than placeholders");
    NAMES
        .iter()
        .copied()
        .zip(values.iter().map(|value| value as &dyn ToSql))
        .collect()
}

/// Claims up to `$4` due queued jobs, oldest first, for a worker (`$1`: the lease's end, `$2`: the
/// worker, `$3`: now): on the one writer, so no two workers can take the same row, and one
/// statement for them all, not one for each (the writer's instructions per delivery fell by
/// 12-14% so). The subquery searches the partial index of queued jobs, so a claim costs the same
/// with a million finished jobs as with ten. SQLite returns the rows in no set order, so
/// `run_after` comes back to put them in order.
///
/// The LIMIT is an expression, not the bare `$4`: SQLite (3.51) plans with a bare bound LIMIT's
/// value, so binding it again voids the prepared statement, and every claim was compiled anew
/// (10.6% of the writer's instructions under `benches/support/callgrind.sh`).
const CLAIM_QUEUED: &str = "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = $1, worker = $2
     WHERE id IN (SELECT id FROM jobs WHERE state = 'queued' AND run_after <= $3 ORDER BY run_after, id LIMIT CAST($4 AS INTEGER))
     RETURNING id, delivery_id, attempts, run_after";

/// Claims up to `$4` running jobs whose lease has ended (their worker died), once no queued job
/// is due.
const CLAIM_EXPIRED: &str = "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = $1, worker = $2
     WHERE id IN (SELECT id FROM jobs WHERE state = 'running' AND lease_until < $3 ORDER BY lease_until, id LIMIT CAST($4 AS INTEGER))
     RETURNING id, delivery_id, attempts, lease_until";

/// A new delivery's job (`$1`: the delivery, `$2`: when it may run).
const INSERT_JOB: &str =
    "INSERT INTO jobs (delivery_id, state, run_after) VALUES ($1, 'queued', $2)";

/// What a claimed job's delivery holds (`$1`: its id), and the actions an earlier attempt did
/// (`$2`: the job's id).
const CLAIMED_DELIVERY: &str = "SELECT event, body, received_ms, encoding,
        (SELECT keys FROM done_actions WHERE job_id = $2)
    FROM deliveries WHERE id = $1";

fn text(value: &str) -> Value {
    Value::Text(value.to_owned())
}

impl Store for SqliteStore {
    async fn schedule(
        &self,
        delivery: NewDelivery<'_>,
        now_ms: i64,
        run_after_ms: i64,
    ) -> Result<Recorded, StoreError> {
        let values = [
            text(delivery.id),
            text(delivery.event),
            Value::Integer(now_ms),
            Value::Blob(super::body::pack(delivery.body)),
            text(super::body::ENCODING),
            Value::Integer(run_after_ms),
        ];
        self.writer
            .call(move |connection| {
                let stored = connection
                    .prepare_cached(
                        "INSERT INTO deliveries (id, event, received_ms, body, encoding)
                         VALUES ($1, $2, $3, $4, $5)
                         ON CONFLICT (id) DO NOTHING",
                    )?
                    .execute(numbered(&values[..5]).as_slice())?;
                if stored == 0 {
                    return Ok(Recorded::Duplicate);
                }
                connection
                    .prepare_cached(INSERT_JOB)?
                    .execute(numbered(&[values[0].clone(), values[5].clone()]).as_slice())?;
                Ok(Recorded::New)
            })
            .await
    }

    /// One call to the writer for the completions and the claims: they go in the same group
    /// commit, and the claim is two statements on the indexes alone (the due jobs, then expired
    /// leases for what is left of `most`). The claimed deliveries are read after it, where this store reads (in place, on the worker's thread):
    /// the writer, which every delivery waits for, neither reads nor copies their bodies.
    async fn claim_after(
        &self,
        finished: &[(i64, i64)],
        worker: &str,
        now_ms: i64,
        lease_ms: i64,
        most: usize,
    ) -> Result<Vec<Job>, StoreError> {
        let finished = finished.to_vec();
        let values = vec![
            Value::Integer(now_ms + lease_ms),
            text(worker),
            Value::Integer(now_ms),
        ];
        let claimed = self
            .writer
            .call(move |connection| {
                for &(job_id, finished_ms) in &finished {
                    connection.prepare_cached(sql::COMPLETE)?.execute(
                        numbered(&[Value::Integer(job_id), Value::Integer(finished_ms)]).as_slice(),
                    )?;
                }
                let mut claimed = Vec::new();
                for statement in [CLAIM_QUEUED, CLAIM_EXPIRED] {
                    let left = most - claimed.len();
                    if left == 0 {
                        break;
                    }
                    let mut values = values.clone();
                    values.push(Value::Integer(left as i64));
                    let mut some: Vec<(i64, (i64, String, i64))> = connection
                        .prepare_cached(statement)?
                        .query_map(numbered(&values).as_slice(), |row| {
                            Ok((row.get(3)?, (row.get(0)?, row.get(1)?, row.get(2)?)))
                        })?
                        .collect::<rusqlite::Result<_>>()?;
                    some.sort_by_key(|&(order, (id, _, _))| (order, id));
                    claimed.extend(some.into_iter().map(|(_, job)| job));
                }
                Ok(claimed)
            })
            .await?;
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        let read = self
            .on_reader(move |connection| {
                in_one_snapshot(connection, |connection| {
                    let mut statement = connection.prepare_cached(CLAIMED_DELIVERY)?;
                    let mut jobs = Vec::with_capacity(claimed.len());
                    for (id, delivery_id, attempts) in &claimed {
                        // Pruning keeps the delivery of a queued or running job (`sql::PRUNE`): a
                        // claimed job's is there, and one missing is an error, as it was in the claim.
                        let (event, stored, received_ms, encoding, done) = statement.query_row(
                            numbered(&[text(delivery_id), Value::Integer(*id)]).as_slice(),
                            |row| {
                                Ok((
                                    row.get::<_, String>(0)?,
                                    row.get::<_, Vec<u8>>(1)?,
                                    row.get::<_, i64>(2)?,
                                    row.get::<_, String>(3)?,
                                    row.get::<_, Option<String>>(4)?,
                                ))
                            },
                        )?;
                        let job = Job {
                            id: *id,
                            delivery_id: delivery_id.clone(),
                            event,
                            body: stored,
                            attempts: *attempts,
                            received_ms,
                            done_actions: super::done_actions_of(done.as_deref()),
                        };
                        jobs.push((job, encoding));
                    }
                    Ok(jobs)
                })
            })
            .await?;
        read.into_iter()
            .map(|(job, encoding)| {
                let body = super::body::unpack(&encoding, job.body)?;
                Ok(Job { body, ..job })
            })
            .collect()
    }

    async fn retry(&self, job_id: i64, run_after_ms: i64, error: &str) -> Result<(), StoreError> {
        self.write(
            sql::RETRY,
            vec![
                Value::Integer(job_id),
                Value::Integer(run_after_ms),
                text(error),
            ],
        )
        .await?;
        Ok(())
    }

    async fn bury(&self, job_id: i64, error: &str, now_ms: i64) -> Result<(), StoreError> {
        self.write(
            sql::BURY,
            vec![Value::Integer(job_id), text(error), Value::Integer(now_ms)],
        )
        .await?;
        Ok(())
    }

    async fn release(&self, worker: &str) -> Result<u64, StoreError> {
        self.write(
            "UPDATE jobs SET state = 'queued', attempts = MAX(attempts - 1, 0), lease_until = NULL, worker = NULL
             WHERE state = 'running' AND worker = $1",
            vec![text(worker)],
        )
        .await
    }

    async fn requeue_dead(&self, now_ms: i64) -> Result<u64, StoreError> {
        self.write(sql::REQUEUE_DEAD, vec![Value::Integer(now_ms)])
            .await
    }

    async fn label_memory(
        &self,
        repo: &str,
        number: u64,
        label: &str,
    ) -> Result<LabelMemory, StoreError> {
        let values = vec![text(repo), Value::Integer(number as i64), text(label)];
        Ok(self
            .read(sql::LABEL_MEMORY, values, |row| {
                Ok(LabelMemory {
                    suppressed: row.get::<_, i64>(0)? != 0,
                    on: row.get::<_, i64>(1)? != 0,
                })
            })
            .await?
            .unwrap_or_default())
    }

    /// One call to the writer, which keeps a call's writes or undoes them together
    /// (`thread::commit`).
    async fn apply(&self, changes: &[StateChange]) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let statements = changes
            .iter()
            .map(|change| {
                let (statement, params) = sql::state_change(change)?;
                let values: Vec<Value> = params
                    .into_iter()
                    .map(|param| match param {
                        sql::Param::Int(value) => Value::Integer(value),
                        sql::Param::Text(value) => Value::Text(value),
                    })
                    .collect();
                Ok((statement, values))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.writer
            .call(move |connection| {
                for (statement, values) in &statements {
                    connection
                        .prepare_cached(statement)?
                        .execute(numbered(values).as_slice())?;
                }
                Ok(())
            })
            .await
    }

    async fn record_done_actions(&self, job_id: i64, keys: &[String]) -> Result<(), StoreError> {
        self.write(
            sql::RECORD_DONE_ACTIONS,
            vec![Value::Integer(job_id), text(&keys.join(","))],
        )
        .await?;
        Ok(())
    }

    async fn said(
        &self,
        repo: &str,
        about: &str,
    ) -> Result<std::collections::BTreeMap<u64, String>, StoreError> {
        let values = vec![text(repo), text(about)];
        let work = move |connection: &Connection| -> rusqlite::Result<Vec<(i64, String)>> {
            let mut statement = connection.prepare_cached(sql::SAID)?;
            let rows = statement.query_map(numbered(&values).as_slice(), |row| {
                Ok((row.get(0)?, row.get(1)?))
            })?;
            rows.collect()
        };
        Ok(self
            .on_reader(work)
            .await?
            .into_iter()
            .map(|(number, digest)| (number as u64, digest))
            .collect())
    }

    async fn review(&self, repo: &str, number: u64) -> Result<Option<ReviewState>, StoreError> {
        let values = vec![text(repo), Value::Integer(number as i64)];
        let Some(state) = self
            .read(sql::LOAD_REVIEW, values.clone(), |row| {
                row.get::<_, String>(0)
            })
            .await?
        else {
            return Ok(None);
        };
        let mut state: ReviewState = serde_json::from_str(&state)?;
        let work = move |connection: &Connection| -> rusqlite::Result<Vec<(String, String)>> {
            let mut statement = connection.prepare_cached(sql::LOAD_REFUSALS)?;
            let rows = statement.query_map(numbered(&values).as_slice(), |row| {
                Ok((row.get(0)?, row.get(1)?))
            })?;
            rows.collect()
        };
        state.refused = self.on_reader(work).await?.into_iter().collect();
        Ok(Some(state))
    }

    async fn activity(
        &self,
        repo: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<crate::core::state::Activity>, StoreError> {
        let values = vec![text(repo), Value::Integer(from_ms), Value::Integer(to_ms)];
        let work = move |connection: &Connection| -> rusqlite::Result<Vec<_>> {
            let mut statement = connection.prepare_cached(sql::ACTIVITY)?;
            let rows = statement.query_map(numbered(&values).as_slice(), |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, i64>(3)?,
                ))
            })?;
            rows.collect()
        };
        let rows = self.on_reader(work).await?;
        Ok(rows
            .into_iter()
            .filter_map(|(kind, number, detail, at)| {
                super::activity_of(repo, &kind, number, detail, at)
            })
            .collect())
    }

    async fn counts(&self) -> Result<Counts, StoreError> {
        let counts = self
            .read(sql::COUNTS, vec![], |row| {
                Ok(Counts {
                    queued: row.get(0)?,
                    running: row.get(1)?,
                    dead: row.get(2)?,
                })
            })
            .await?;
        Ok(counts.unwrap_or_default())
    }

    async fn prune(&self, before_ms: i64, limit: u32) -> Result<u64, StoreError> {
        self.write(
            sql::PRUNE,
            vec![Value::Integer(before_ms), Value::Integer(limit.into())],
        )
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let now = chrono::Utc::now().timestamp_millis();
        self.write(sql::PROBE, vec![Value::Integer(now)]).await?;
        Ok(())
    }
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

    /// A file in WAL mode with one table, a writer and a read-only connection to it.
    fn wal_file() -> (tempfile::TempDir, Connection, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snapshot.db");
        let writer = Connection::open(&path).unwrap();
        configure_writer(&writer).unwrap();
        writer.execute_batch("CREATE TABLE t (n INTEGER)").unwrap();
        let reader = in_place::open(&path).unwrap();
        (dir, writer, reader)
    }

    fn rows(connection: &Connection) -> rusqlite::Result<i64> {
        connection.query_row("SELECT count(*) FROM t", [], |row| row.get(0))
    }

    #[test]
    fn the_statements_of_one_snapshot_read_the_file_as_it_was_at_the_first() {
        let (_dir, writer, reader) = wal_file();
        let (first, second) = in_one_snapshot(&reader, |reader| {
            let first = rows(reader)?;
            writer.execute("INSERT INTO t VALUES (1)", []).unwrap();
            Ok((first, rows(reader)?))
        })
        .unwrap();
        assert_eq!(
            (first, second),
            (0, 0),
            "a commit between two reads was seen"
        );
        assert!(reader.is_autocommit(), "the read transaction was left open");
        // Each statement alone sees every commit before it.
        writer.execute("INSERT INTO t VALUES (2)", []).unwrap();
        assert_eq!(rows(&reader).unwrap(), 2);
    }

    #[test]
    fn a_snapshot_that_fails_ends_its_transaction() {
        let (_dir, writer, reader) = wal_file();
        let failed = in_one_snapshot(&reader, |reader| {
            rows(reader)?;
            reader.query_row("SELECT n FROM missing", [], |row| row.get::<_, i64>(0))
        });
        assert!(failed.is_err());
        assert!(
            reader.is_autocommit(),
            "the failed read left its transaction open"
        );
        writer.execute("INSERT INTO t VALUES (1)", []).unwrap();
        assert_eq!(rows(&reader).unwrap(), 1, "the reader kept an old snapshot");
    }

    #[test]
    fn a_snapshot_inside_a_transaction_reads_in_it() {
        let (_dir, writer, _reader) = wal_file();
        writer
            .execute_batch("BEGIN IMMEDIATE; INSERT INTO t VALUES (1)")
            .unwrap();
        // As an in-memory database's reads run in the writer's open transaction: no BEGIN of its
        // own (which would fail), and what the transaction wrote is seen.
        assert_eq!(in_one_snapshot(&writer, rows).unwrap(), 1);
        assert!(
            !writer.is_autocommit(),
            "the writer's transaction was ended"
        );
        writer.execute_batch("COMMIT").unwrap();
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

    #[tokio::test]
    async fn a_database_made_by_the_sqlx_store_opens_with_its_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            // What the earlier store left: the schema, its migrations in sqlx's table, a delivery.
            let old = Connection::open(&path).unwrap();
            old.execute_batch(
                "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, success BOOLEAN NOT NULL);
                 INSERT INTO _sqlx_migrations VALUES (1, TRUE), (2, TRUE), (3, TRUE);",
            )
            .unwrap();
            for migration in &MIGRATIONS[..3] {
                old.execute_batch(migration).unwrap();
            }
            old.execute_batch(
                "INSERT INTO deliveries VALUES ('old', 'issues', 0, x'7b7d');
                 INSERT INTO jobs (delivery_id, state, run_after) VALUES ('old', 'queued', 0);",
            )
            .unwrap();
        }
        let store = SqliteStore::open(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        assert_eq!(
            store.record(delivery("old"), 1).await.unwrap(),
            Recorded::Duplicate
        );
        let job = store.claim("w", 1, 1000).await.unwrap().unwrap();
        assert_eq!(job.delivery_id, "old");
    }

    /// A store on a new file `name` in a folder of its own (removed when the folder is dropped).
    async fn file_store(name: &str) -> (tempfile::TempDir, PathBuf, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        let store = SqliteStore::open(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        (dir, path, store)
    }

    #[tokio::test]
    async fn bodies_are_stored_compressed_and_claimed_as_received() {
        let (_dir, path, store) = file_store("bodies.db").await;
        let body = br#"{"action":"opened","issue":{"body":"the mesh, the mesh"}}"#.repeat(200);
        let delivery = NewDelivery {
            id: "big",
            event: "issues",
            body: &body,
        };
        store.record(delivery, 0).await.unwrap();
        let (encoding, stored): (String, i64) = Connection::open(&path)
            .unwrap()
            .query_row(
                "SELECT encoding, length(body) FROM deliveries WHERE id = 'big'",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        assert_eq!(encoding, "lz4");
        assert!(stored * 4 < body.len() as i64, "{stored} bytes stored");
        assert_eq!(store.claim("w", 0, 1000).await.unwrap().unwrap().body, body);
    }

    /// How SQLite runs `sql` on the migrated schema (each step's detail), its `$n` bound to 0.
    fn query_plan(sql: &str) -> Vec<String> {
        let connection = migrated();
        let mut plan = connection
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap();
        let zeros = vec![Value::Integer(0); plan.parameter_count()];
        plan.query_map(numbered(&zeros).as_slice(), |row| row.get(3))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn claims_and_counts_read_only_unfinished_jobs_through_their_indexes() {
        for sql in [CLAIM_QUEUED, CLAIM_EXPIRED, sql::COUNTS, sql::REQUEUE_DEAD] {
            let details = query_plan(sql);
            let scans: Vec<_> = details
                .iter()
                .filter(|detail| detail.starts_with("SCAN jobs") && !detail.contains("INDEX"))
                .collect();
            assert!(scans.is_empty(), "{sql}\nreads every job: {details:?}");
            for detail in details.iter().filter(|detail| detail.contains("jobs")) {
                assert!(
                    ["jobs_ready", "jobs_leases", "jobs_dead", "PRIMARY KEY"]
                        .iter()
                        .any(|index| detail.contains(index)),
                    "{sql}\n{detail}"
                );
            }
        }
    }

    /// A connection to a new in-memory database with the whole schema.
    fn migrated() -> Connection {
        let mut connection = Connection::open_in_memory().unwrap();
        migrate(&mut connection).unwrap();
        connection
    }

    #[test]
    fn statements_run_with_a_new_limit_each_time_are_compiled_once() {
        let connection = migrated();
        for sql in [CLAIM_QUEUED, CLAIM_EXPIRED, sql::PRUNE] {
            let mut statement = connection.prepare(sql).unwrap();
            for limit in 1..=3 {
                let mut values = vec![Value::Integer(limit); statement.parameter_count()];
                values[0] = Value::Integer(limit * 1000);
                let mut rows = statement.query(numbered(&values).as_slice()).unwrap();
                while rows.next().unwrap().is_some() {}
            }
            assert_eq!(
                statement.get_status(rusqlite::StatementStatus::RePrepare),
                0,
                "{sql}\nwas compiled again on being bound a new limit"
            );
        }
    }

    #[test]
    fn writing_a_job_builds_no_temporary_index_for_its_state_check() {
        let connection = migrated();
        for sql in [INSERT_JOB, sql::COMPLETE, sql::RETRY, sql::BURY] {
            let mut program = connection.prepare(&format!("EXPLAIN {sql}")).unwrap();
            let nulls = vec![Value::Null; program.parameter_count()];
            let opcodes: Vec<String> = program
                .query_map(numbered(&nulls).as_slice(), |row| row.get(1))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            assert!(
                !opcodes.iter().any(|op| op == "OpenEphemeral"),
                "{sql}\nbuilds a temporary table or index: {opcodes:?}"
            );
        }
        // The check is still there: a state outside the four is refused.
        connection
            .execute_batch(
                "INSERT INTO deliveries (id, event, received_ms, body) VALUES ('a', 'issues', 0, x'7b7d');
                 INSERT INTO jobs (delivery_id, state, run_after) VALUES ('a', 'queued', 0);",
            )
            .unwrap();
        let refused = connection.execute("UPDATE jobs SET state = 'lost'", []);
        assert!(
            refused
                .unwrap_err()
                .to_string()
                .contains("CHECK constraint failed"),
        );
    }

    #[tokio::test]
    async fn copying_the_jobs_table_keeps_every_job_its_done_actions_and_the_next_id() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v10.db");
        {
            let old = Connection::open(&path).unwrap();
            for migration in &MIGRATIONS[..10] {
                old.execute_batch(migration).unwrap();
            }
            old.pragma_update(None, "user_version", 10).unwrap();
            // Job 3, the newest, was pruned: its id is not to be given out again.
            old.execute_batch(
                "PRAGMA foreign_keys = on;
                 INSERT INTO deliveries (id, event, received_ms, body)
                     VALUES ('a', 'issues', 0, x'7b7d'), ('b', 'issues', 0, x'7b7d'), ('c', 'issues', 0, x'7b7d');
                 INSERT INTO jobs (delivery_id, state, run_after, attempts)
                     VALUES ('a', 'done', 0, 1), ('b', 'queued', 5, 0), ('c', 'dead', 0, 3);
                 INSERT INTO done_actions (job_id, keys) VALUES (1, 'label:a');
                 DELETE FROM deliveries WHERE id = 'c';",
            )
            .unwrap();
        }
        let store = SqliteStore::open(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        store.record(delivery("d"), 10).await.unwrap();
        let look = Connection::open(&path).unwrap();
        let jobs: Vec<(i64, String, String, i64, i64)> = look
            .prepare("SELECT id, delivery_id, state, attempts, run_after FROM jobs ORDER BY id")
            .unwrap()
            .query_map([], |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                ))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let job = |id, delivery: &str, state: &str, attempts, run_after| {
            (
                id,
                delivery.to_owned(),
                state.to_owned(),
                attempts,
                run_after,
            )
        };
        assert_eq!(
            jobs,
            [
                job(1, "a", "done", 1, 0),
                job(2, "b", "queued", 0, 5),
                job(4, "d", "queued", 0, 10)
            ]
        );
        let done: String = look
            .query_row(
                "SELECT keys FROM done_actions WHERE job_id = 1",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(done, "label:a");
        // The cascade from a delivery to its job and on to its done actions still holds.
        store
            .write("DELETE FROM deliveries WHERE id = 'a'", vec![])
            .await
            .unwrap();
        let left: i64 = look
            .query_row("SELECT count(*) FROM done_actions", [], |row| row.get(0))
            .unwrap();
        assert_eq!(left, 0);
    }

    #[test]
    fn finished_jobs_are_in_no_index_of_the_claim_or_the_counts() {
        let connection = migrated();
        for (index, state) in [
            ("jobs_ready", "queued"),
            ("jobs_leases", "running"),
            ("jobs_dead", "dead"),
        ] {
            let sql: String = connection
                .query_row(
                    "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?1",
                    [index],
                    |row| row.get(0),
                )
                .unwrap();
            assert!(sql.ends_with(&format!("WHERE state = '{state}'")), "{sql}");
        }
    }

    #[test]
    fn pruning_finds_old_deliveries_through_their_index_not_by_reading_every_row() {
        let details = query_plan(sql::PRUNE);
        assert!(
            !details
                .iter()
                .any(|d| d.starts_with("SCAN deliveries") || d.starts_with("SCAN jobs")),
            "{details:?}"
        );
        assert!(
            details.iter().any(|d| d.contains("deliveries_received")),
            "{details:?}"
        );
    }

    #[test]
    fn urls_name_a_file_or_memory() {
        assert_eq!(
            Location::parse("sqlite::memory:").unwrap(),
            Location::Memory
        );
        assert_eq!(
            Location::parse("sqlite://gep-bot.db").unwrap(),
            Location::File("gep-bot.db".into())
        );
        assert_eq!(
            Location::parse("sqlite:///var/lib/gep-bot/bot.db").unwrap(),
            Location::File("/var/lib/gep-bot/bot.db".into())
        );
        assert_eq!(
            Location::parse("sqlite:data.db").unwrap(),
            Location::File("data.db".into())
        );
        for bad in ["sqlite://", "sqlite://x.db?mode=ro", "postgres://x"] {
            assert!(Location::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn numbered_binds_by_the_number_not_the_order() {
        let connection = Connection::open_in_memory().unwrap();
        let (second, first): (i64, i64) = connection
            .query_row(
                "SELECT $2, $1",
                numbered(&[Value::Integer(1), Value::Integer(2)]).as_slice(),
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        assert_eq!((second, first), (2, 1));
    }

    /// Holds the reader's thread until the answer is sent on the channel returned.
    fn hold_reader(store: &SqliteStore) -> std::sync::mpsc::Sender<()> {
        let (release, held) = std::sync::mpsc::channel::<()>();
        let reader = store.reader.clone().expect("a file has a reader");
        tokio::spawn(async move {
            reader
                .call(move |_| {
                    let _ = held.recv();
                    Ok(())
                })
                .await
        });
        release
    }

    /// Reads the label memory of `repo#1` on a new thread, marked to read in place or not, and
    /// answers it if it came within a second.
    fn read_from_a_thread(store: &SqliteStore, marked: bool) -> Option<LabelMemory> {
        let store = store.clone();
        std::thread::spawn(move || {
            if marked {
                mark_reads_in_place();
            }
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .unwrap();
            runtime.block_on(async {
                tokio::time::timeout(
                    Duration::from_secs(1),
                    store.label_memory("o/r", 1, "area/mesh"),
                )
                .await
                .ok()
                .map(Result::unwrap)
            })
        })
        .join()
        .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_thread_marked_to_read_in_place_reads_what_is_committed_without_the_reader() {
        let (_dir, _, store) = file_store("in-place.db").await;
        store
            .apply(&[StateChange::LabelOn {
                repo: "o/r".into(),
                number: 1,
                label: "area/mesh".into(),
            }])
            .await
            .unwrap();
        // A slow read holds the reader's thread (a dashboard's, say).
        let release = hold_reader(&store);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let in_place = read_from_a_thread(&store, true);
        assert_eq!(
            in_place.map(|memory| memory.on),
            Some(true),
            "the marked thread read the committed label without waiting for the reader"
        );
        assert_eq!(
            read_from_a_thread(&store, false),
            None,
            "an unmarked thread's read waits for the reader's thread"
        );
        release.send(()).unwrap();
        assert_eq!(read_from_a_thread(&store, false).map(|m| m.on), Some(true));
    }
}
