//! SQLite connections each owned by a thread of their own; async callers hand them work.
//!
//! SQLite has one writer at a time and its calls block, so the store gives the writing
//! connection a thread and queues every write for it. The thread takes whatever is waiting and
//! runs it in one transaction (a group commit): a delivery costs a share of one commit, and the
//! statements run where the connection is, with no round trip per statement. Each caller is
//! answered after the commit that holds its write, so nothing is acknowledged that is not in the
//! WAL. Reads get a connection and a thread of their own, so a slow read never delays intake.

use std::any::Any;

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use super::wal::Restarts;
use crate::machinery::store::StoreError;

/// The most calls one transaction takes.
const GROUP: usize = 256;

type Answer = Box<dyn Any + Send>;

/// Work the thread may run twice (see [`commit`]): only what it wrote to the database must differ.
type Work = Box<dyn FnMut(&Connection) -> rusqlite::Result<Answer> + Send>;

/// Where a call's answer goes. The caller may have stopped waiting (its request timed out); the
/// work is done all the same, so a closed channel is not an error.
type Reply = oneshot::Sender<Result<Answer, String>>;

/// Work for the thread, and where its answer goes.
struct Call {
    run: Work,
    done: Reply,
}

/// A handle to a connection's thread. Clones share the thread, which ends with the last handle.
#[derive(Clone)]
pub struct ConnectionThread {
    calls: mpsc::Sender<Call>,
}

impl std::fmt::Debug for ConnectionThread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConnectionThread")
    }
}

/// How the thread runs what it is given.
#[derive(Debug)]
pub enum Mode {
    /// Whatever is waiting, in one `BEGIN IMMEDIATE` transaction; between transactions, what
    /// keeps a file's WAL short.
    Writes(Option<Restarts>),
    /// Each call by itself.
    Reads,
}

impl ConnectionThread {
    pub fn start(name: &str, connection: Connection, mode: Mode) -> std::io::Result<Self> {
        let (calls, queue) = mpsc::channel(4 * GROUP);
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || match mode {
                Mode::Writes(restarts) => serve_writes(connection, queue, restarts),
                Mode::Reads => serve_reads(connection, queue),
            })?;
        Ok(ConnectionThread { calls })
    }

    /// Runs `work` on the connection and answers what it returned. A write's `work` may run
    /// twice, the first time undone (see [`commit`]).
    pub async fn call<T: Send + 'static>(
        &self,
        mut work: impl FnMut(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (done, answer) = oneshot::channel();
        let call = Call {
            run: Box::new(move |connection| Ok(Box::new(work(connection)?) as Answer)),
            done,
        };
        let stopped = || StoreError::Write("the database thread has stopped".into());
        self.calls.send(call).await.map_err(|_| stopped())?;
        let answer = answer
            .await
            .map_err(|_| stopped())?
            .map_err(StoreError::Write)?;
        Ok(*answer
            .downcast::<T>()
            .expect("a call is answered what its own work returned"))
    }
}

fn serve_reads(connection: Connection, mut queue: mpsc::Receiver<Call>) {
    while let Some(call) = queue.blocking_recv() {
        let _ = call
            .done
            .send(guarded(call.run, &connection).map_err(|error| error.to_string()));
    }
}

/// Runs `work`, turning a panic into its caller's error: the thread, and every later call, lives
/// on. (A dead writer thread would leave every delivery answered 503 until a restart.)
fn guarded<T>(
    work: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    connection: &Connection,
) -> rusqlite::Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(connection))).unwrap_or_else(
        |_| {
            Err(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_INTERNAL),
                Some("the database call panicked".into()),
            ))
        },
    )
}

fn serve_writes(
    connection: Connection,
    mut queue: mpsc::Receiver<Call>,
    restarts: Option<Restarts>,
) {
    if let Some(restarts) = &restarts {
        restarts.install(&connection);
    }
    // Room for every statement the store writes with, so none is prepared twice.
    connection.set_prepared_statement_cache_capacity(64);
    let mut batch = Vec::new();
    while queue.blocking_recv_many(&mut batch, GROUP) > 0 {
        commit(&connection, std::mem::take(&mut batch));
        if let Some(restarts) = &restarts {
            restarts.after_commit(&connection);
        }
    }
}

/// Runs `calls` in one transaction and answers each, after the commit.
///
/// First every call runs straight in the transaction: no savepoint, so SQLite copies no page
/// into a sub-journal (a savepoint per call copied each page a delivery touched, ~7 pages of
/// 4 KiB for a 3 KiB body, and spilled to a temporary file past 64 KiB). When a call fails, that
/// transaction is rolled back and the group runs again with a savepoint per call
/// ([`commit_each_alone`]): the failing call is undone alone and answered its error while the
/// others commit. A call may therefore run twice; its work only touches the database, so the
/// second run is the one that counts.
fn commit(connection: &Connection, mut calls: Vec<Call>) {
    if let Err(error) = run(connection, "BEGIN IMMEDIATE") {
        tracing::error!(%error, "cannot start a write transaction");
        answer_all(calls, &error.to_string());
        return;
    }
    let mut answers = Vec::with_capacity(calls.len());
    for call in &mut calls {
        match guarded(&mut call.run, connection) {
            Ok(answer) => answers.push(answer),
            Err(_) => break,
        }
    }
    if answers.len() < calls.len() {
        // Undone whole, if SQLite has not already done so; then each call alone.
        if !connection.is_autocommit() {
            let _ = run(connection, "ROLLBACK");
        }
        commit_each_alone(connection, calls);
        return;
    }
    match run(connection, "COMMIT") {
        Ok(()) => {
            for (call, answer) in calls.into_iter().zip(answers) {
                let _ = call.done.send(Ok(answer));
            }
        }
        Err(error) => {
            tracing::error!(%error, calls = calls.len(), "a write transaction failed");
            if !connection.is_autocommit() {
                let _ = run(connection, "ROLLBACK");
            }
            answer_all(calls, &error.to_string());
        }
    }
}

/// Answers every call `error`: none of their writes is in the database.
fn answer_all(calls: Vec<Call>, error: &str) {
    for call in calls {
        let _ = call.done.send(Err(error.to_owned()));
    }
}

/// Runs `calls` in one transaction, each in a savepoint of its own, and answers each. One that
/// fails is undone alone and answered its error while the others commit. If SQLite rolled the
/// whole transaction back (it does on a full disk or an I/O error), or the commit fails, no call
/// in it is reported done.
///
/// The transaction and savepoint statements are prepared once and reused (rusqlite's
/// `Transaction` and `Savepoint` parse theirs anew each time: a few microseconds, twice per call,
/// on the thread every write waits for).
fn commit_each_alone(connection: &Connection, calls: Vec<Call>) {
    if let Err(error) = run(connection, "BEGIN IMMEDIATE") {
        tracing::error!(%error, "cannot start a write transaction");
        answer_all(calls, &error.to_string());
        return;
    }
    let mut ran: Vec<(Reply, Result<Answer, String>)> = Vec::new();
    let mut lost: Option<String> = None;
    for Call {
        run: mut work,
        done,
    } in calls
    {
        if let Some(error) = &lost {
            let _ = done.send(Err(error.clone()));
            continue;
        }
        let outcome = run_alone(connection, &mut work);
        if let Err(error) = &outcome
            && connection.is_autocommit()
        {
            lost = Some(format!("the transaction was rolled back: {error}"));
        }
        ran.push((done, outcome.map_err(|error| error.to_string())));
    }
    let committed = match lost {
        Some(error) => Err(error),
        None => run(connection, "COMMIT").map_err(|error| error.to_string()),
    };
    if let Err(error) = &committed {
        tracing::error!(%error, calls = ran.len(), "a write transaction failed");
        if !connection.is_autocommit() {
            // Leave no transaction open behind a failed commit: the next group starts its own.
            let _ = run(connection, "ROLLBACK");
        }
    }
    for (done, outcome) in ran {
        let _ = done.send(match &committed {
            Ok(()) => outcome,
            Err(error) => Err(error.clone()),
        });
    }
}

/// Runs `work` inside a savepoint: kept if it succeeds, undone if it fails.
fn run_alone<T>(
    connection: &Connection,
    work: &mut impl FnMut(&Connection) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    run(connection, "SAVEPOINT call")?;
    let outcome = guarded(work, connection);
    match &outcome {
        Ok(_) => run(connection, "RELEASE call")?,
        Err(_) => {
            // Undoing can itself fail when SQLite already rolled everything back; the caller
            // sees that through `is_autocommit`.
            let _ =
                run(connection, "ROLLBACK TO call").and_then(|()| run(connection, "RELEASE call"));
        }
    }
    outcome
}

/// Runs a statement without parameters or rows, prepared once per connection.
pub(super) fn run(connection: &Connection, sql: &str) -> rusqlite::Result<()> {
    connection.prepare_cached(sql)?.execute([])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    type Answered = oneshot::Receiver<Result<Answer, String>>;

    fn call(
        mut work: impl FnMut(&Connection) -> rusqlite::Result<usize> + Send + 'static,
    ) -> (Call, Answered) {
        let (done, answer) = oneshot::channel();
        let run: Work = Box::new(move |connection| Ok(Box::new(work(connection)?) as Answer));
        (Call { run, done }, answer)
    }

    fn insert(id: i64) -> impl FnMut(&Connection) -> rusqlite::Result<usize> + Send + 'static {
        move |connection| connection.execute("INSERT INTO t (id) VALUES (?1)", [id])
    }

    fn outcome(mut answer: Answered) -> Result<usize, String> {
        answer
            .try_recv()
            .expect("answered")
            .map(|answer| *answer.downcast::<usize>().unwrap())
    }

    fn ids(connection: &Connection) -> Vec<i64> {
        let mut statement = connection.prepare("SELECT id FROM t ORDER BY id").unwrap();
        statement
            .query_map([], |row| row.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    fn table() -> Connection {
        let connection = Connection::open_in_memory().unwrap();
        connection
            .execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY)")
            .unwrap();
        connection
    }

    #[test]
    fn a_failing_write_is_undone_alone_and_the_rest_of_its_group_commits() {
        let connection = table();
        let (first, first_answer) = call(insert(1));
        let (clash, clash_answer) = call(|connection| {
            connection.execute("INSERT INTO t (id) VALUES (2)", [])?;
            // The same key again: this call fails after a write of its own.
            connection.execute("INSERT INTO t (id) VALUES (2)", [])
        });
        let (last, last_answer) = call(insert(3));
        commit(&connection, vec![first, clash, last]);
        assert_eq!(outcome(first_answer), Ok(1));
        assert!(outcome(clash_answer).unwrap_err().contains("UNIQUE"));
        assert_eq!(outcome(last_answer), Ok(1));
        assert_eq!(
            ids(&connection),
            [1, 3],
            "the failed call's own first row is undone"
        );
    }

    /// A call that inserts `id` and counts its runs.
    fn counted(
        id: i64,
        runs: &Arc<AtomicUsize>,
    ) -> impl FnMut(&Connection) -> rusqlite::Result<usize> + Send + 'static {
        let runs = runs.clone();
        move |connection| {
            runs.fetch_add(1, Ordering::SeqCst);
            connection.execute("INSERT INTO t (id) VALUES (?1)", [id])
        }
    }

    #[test]
    fn a_group_that_succeeds_runs_each_call_once_and_in_no_savepoint() {
        let connection = table();
        let runs = Arc::new(AtomicUsize::new(0));
        let (first, first_answer) = call(counted(1, &runs));
        let (probe, probe_answer) = call(|connection| {
            // Inside a savepoint of its own this would succeed.
            let released = connection.execute_batch("RELEASE call");
            assert!(released.is_err(), "the call ran in a savepoint");
            connection.execute("INSERT INTO t (id) VALUES (2)", [])
        });
        commit(&connection, vec![first, probe]);
        assert_eq!(outcome(first_answer), Ok(1));
        assert_eq!(outcome(probe_answer), Ok(1));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(ids(&connection), [1, 2]);
    }

    #[test]
    fn when_a_call_fails_the_group_runs_again_and_the_first_runs_writes_are_not_kept() {
        let connection = table();
        let runs = Arc::new(AtomicUsize::new(0));
        let (first, first_answer) = call(counted(1, &runs));
        let (clash, clash_answer) =
            call(|connection| connection.execute("INSERT INTO t (id) VALUES (1)", []));
        let (last, last_answer) = call(counted(3, &runs));
        commit(&connection, vec![first, clash, last]);
        assert_eq!(outcome(first_answer), Ok(1));
        assert!(outcome(clash_answer).unwrap_err().contains("UNIQUE"));
        assert_eq!(outcome(last_answer), Ok(1));
        // The first call ran twice (its first run undone with the group), the last once: the
        // group stopped at the failing call.
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        assert_eq!(ids(&connection), [1, 3]);
    }

    #[test]
    fn when_the_transaction_is_lost_no_write_of_the_group_is_reported_done() {
        let connection = table();
        let (first, first_answer) = call(insert(1));
        // What SQLite does on a full disk or an I/O error: the whole transaction is gone.
        let (lost, lost_answer) = call(|connection| {
            connection.execute_batch("ROLLBACK")?;
            Err(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
                None,
            ))
        });
        let (after, after_answer) = call(insert(3));
        commit(&connection, vec![first, lost, after]);
        assert!(outcome(first_answer).is_err(), "its row was rolled back");
        assert!(outcome(lost_answer).is_err());
        assert!(
            outcome(after_answer).is_err(),
            "it must not run outside the transaction"
        );
        assert!(ids(&connection).is_empty());
    }

    #[tokio::test]
    async fn a_call_that_panics_is_answered_an_error_and_the_thread_goes_on() {
        let writer = ConnectionThread::start("test-writer", table(), Mode::Writes(None)).unwrap();
        let panicked = writer
            .call(|connection| -> rusqlite::Result<usize> {
                connection.execute("INSERT INTO t (id) VALUES (1)", [])?;
                panic!("a bug in a call")
            })
            .await;
        assert!(panicked.unwrap_err().to_string().contains("panicked"));
        assert_eq!(writer.call(insert(2)).await.unwrap(), 1);
        let ids = writer.call(|connection| Ok(ids(connection))).await.unwrap();
        assert_eq!(ids, [2], "the panicking call's own write is undone");
    }

    #[tokio::test]
    async fn callers_are_answered_what_their_work_returned() {
        let writer = ConnectionThread::start("test-writer", table(), Mode::Writes(None)).unwrap();
        let calls = (0..100).map(|id| {
            let writer = writer.clone();
            tokio::spawn(async move { writer.call(insert(id)).await })
        });
        for answered in futures::future::join_all(calls).await {
            assert_eq!(answered.unwrap().unwrap(), 1);
        }
        let count = writer
            .call(|connection| {
                connection.query_row("SELECT COUNT(*) FROM t", [], |row| row.get::<_, i64>(0))
            })
            .await
            .unwrap();
        assert_eq!(count, 100);
    }
}
