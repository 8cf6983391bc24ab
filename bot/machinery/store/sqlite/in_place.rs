//! Reads run on the calling thread, where blocking it delays nobody else.
//!
//! The store's reads go to the reader's thread and come back: two thread wake-ups per read. On
//! the worker's thread, which runs nothing but the worker (`pipeline::worker`), that hop buys
//! nothing, since the worker waits for the answer anyway, and it costs: in the intake bench the
//! reader's thread took ~6-9 us of CPU per delivery, for the label the worker reads for every
//! job. It also runs the worker's reads at intake's priority, not the worker's. So a thread
//! that says so ([`mark`]) reads in place, through a read-only connection of its own, opened at
//! its first read of each file.

use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

thread_local! {
    static MARKED: Cell<bool> = const { Cell::new(false) };
    /// This thread's read-only connections, one per file it has read.
    static CONNECTIONS: RefCell<Vec<(PathBuf, Connection)>> = const { RefCell::new(Vec::new()) };
}

/// Marks the calling thread as one whose reads of an SQLite store may block it: call it only on
/// a thread that runs a single task, such as the worker's.
pub fn mark() {
    MARKED.set(true);
}

/// Whether the calling thread was marked.
pub fn marked() -> bool {
    MARKED.get()
}

/// Runs `work` on this thread's connection to `path` if the thread is marked; gives `work` back
/// otherwise, for the reader's thread.
pub fn read<W, T>(path: &Path, work: W) -> Result<rusqlite::Result<T>, W>
where
    W: FnOnce(&Connection) -> rusqlite::Result<T>,
{
    if !marked() {
        return Err(work);
    }
    Ok(CONNECTIONS.with_borrow_mut(|connections| {
        let at = match connections.iter().position(|(file, _)| file == path) {
            Some(at) => at,
            None => {
                connections.push((path.to_path_buf(), open(path)?));
                connections.len() - 1
            }
        };
        work(&connections[at].1)
    }))
}

/// A read-only connection to `path`, as the reader's.
pub fn open(path: &Path) -> rusqlite::Result<Connection> {
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.busy_timeout(Duration::from_secs(5))?;
    Ok(connection)
}
