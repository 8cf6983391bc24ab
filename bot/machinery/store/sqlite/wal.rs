//! Keeping the write-ahead log from growing without end, without stalling the writer.
//!
//! Commits append to the WAL; a checkpoint copies it into the database; the WAL starts again
//! from its beginning only at a write when everything in it has been copied. A checkpoint in
//! the writer would hold every delivery behind it (copying a few MB and two fsyncs took ~4.5 ms
//! here, many times a second under load), so a thread of its own copies the WAL beside the
//! writer. Alone, that never lets the WAL start again under steady load: new commits always
//! arrive while it copies. Appending to an ever longer file is what cost most (the kernel zeroes
//! every new page: a quarter of the process's CPU in a profile). So when the WAL is long and the
//! background copy has just caught up, the writer checkpoints the few commits since, between two
//! groups: short, because almost everything is copied, and the next write starts the WAL over,
//! on pages the file already has.

use std::cell::Cell;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::Connection;
use rusqlite::hooks::Wal;

use crate::machinery::store::StoreError;

/// WAL frames (pages) after which the writer has the log start again: 8,192 frames = 32 MiB.
const RESTART_FRAMES: i32 = 8192;
/// How often the background copy runs while the WAL is short. Once it is long, passes follow
/// each other at once: each copies what came during the one before, fewer frames every time,
/// until what is left for the writer is a few commits' worth.
const INTERVAL: Duration = Duration::from_millis(50);

/// The writer's side: when to checkpoint so that the WAL starts again.
#[derive(Debug)]
pub struct Restarts {
    caught_up: Arc<AtomicBool>,
}

/// Stops the background copy when dropped (with the last clone of the store).
#[derive(Debug, Clone)]
pub struct Stop(#[allow(dead_code)] mpsc::Sender<()>);

thread_local! {
    /// Frames in the WAL after the writer's last commit (the writer has a thread of its own).
    static FRAMES: Cell<i32> = const { Cell::new(0) };
}

/// Starts the background copy of the WAL at `path` from a connection of its own.
pub fn start(path: &Path) -> Result<(Stop, Restarts), StoreError> {
    let connection = Connection::open(path)?;
    connection.busy_timeout(Duration::from_secs(5))?;
    let caught_up = Arc::new(AtomicBool::new(false));
    let (stop, stopped) = mpsc::channel::<()>();
    let flag = caught_up.clone();
    let database = std::fs::File::open(path)?;
    std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            let mut wait = INTERVAL;
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(wait) {
                let copied = checkpoint(&connection);
                if let Err(error) = start_writeback(&database) {
                    tracing::debug!(%error, "cannot start the database file's writeback");
                }
                match copied {
                    Ok(pass) => {
                        flag.store(pass.caught_up(), Ordering::Release);
                        wait = pass.next_wait();
                    }
                    Err(error) => {
                        tracing::warn!(%error, "WAL checkpoint failed; will try again");
                        wait = INTERVAL;
                    }
                }
            }
        })?;
    Ok((Stop(stop), Restarts { caught_up }))
}

/// What a checkpoint saw and did.
struct Pass {
    /// Frames in the WAL when it started.
    frames: i32,
    /// Whether it copied them all.
    all_copied: bool,
}

impl Pass {
    /// Whether the WAL is long enough to start over.
    fn long(&self) -> bool {
        self.frames >= RESTART_FRAMES
    }

    /// The WAL is long and this pass copied all of it: the writer's turn to checkpoint the few
    /// commits since, so that the log starts over.
    fn caught_up(&self) -> bool {
        self.long() && self.all_copied
    }

    /// How long to wait before the next pass. While the WAL is long and not all copied, none: each
    /// pass copies what came during the one before. Once caught up, the usual interval, leaving
    /// the checkpoint to the writer: a pass at once would hold the checkpoint lock, and the
    /// writer's own (PASSIVE, it does not wait) would find it taken. So it did, every time, under
    /// the intake bench (943 of 943 tries in one run), and the WAL never started over under load,
    /// growing to 80-175 MB; with the pause 36 of 44 tries started it over.
    fn next_wait(&self) -> Duration {
        if self.long() && !self.all_copied {
            Duration::ZERO
        } else {
            INTERVAL
        }
    }
}

/// Has the kernel start writing the file's dirty pages to disk, without waiting for them.
///
/// A pass that new commits overtake (under load, all but the last of a cycle) copies pages into
/// the database without syncing it; SQLite syncs it only when a checkpoint copies the whole WAL,
/// which is the writer's, once the WAL is long. That sync then had a whole cycle's pages to
/// write (a 32 MiB WAL's worth), and the journal commit it makes held every write of the
/// process meanwhile: the slowest 1% of deliveries at 2,000/s came in bursts every ~0.5 s, one
/// for each time the WAL started over, and the p99 was 2.3-4.7 ms. Started after each pass, the
/// writes are mostly done when that sync comes: p99 1.8-2.6 ms in the same runs (four by turns).
#[cfg(target_os = "linux")]
fn start_writeback(file: &std::fs::File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: integers only: the descriptor stays open for the call (`file` is borrowed), and
    // offset and length 0 mean the whole file.
    let started =
        unsafe { libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE) };
    if started == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Elsewhere the kernel's own writeback and SQLite's syncs are left to it.
#[cfg(not(target_os = "linux"))]
fn start_writeback(_: &std::fs::File) -> std::io::Result<()> {
    Ok(())
}

/// A PASSIVE checkpoint: it never waits for the writer.
fn checkpoint(connection: &Connection) -> rusqlite::Result<Pass> {
    connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        let (busy, frames, copied): (i32, i32, i32) = (row.get(0)?, row.get(1)?, row.get(2)?);
        Ok(Pass {
            frames,
            all_copied: busy == 0 && frames == copied,
        })
    })
}

fn count_frames(_: &Wal, frames: std::ffi::c_int) -> rusqlite::Result<()> {
    FRAMES.set(frames);
    Ok(())
}

impl Restarts {
    /// Called on the writer's thread before its first commit: counts the WAL's frames.
    pub fn install(&self, writer: &Connection) {
        writer.wal_hook(Some(count_frames));
    }

    /// Called on the writer's thread between groups.
    pub fn after_commit(&self, writer: &Connection) {
        if FRAMES.get() < RESTART_FRAMES || !self.caught_up.swap(false, Ordering::AcqRel) {
            return;
        }
        match checkpoint(writer) {
            // The next write starts the WAL over; until then, no second try.
            Ok(pass) if pass.all_copied => FRAMES.set(0),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "WAL checkpoint in the writer failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn writeback_is_started_on_the_database_file_and_refused_for_what_is_not_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dirty.db");
        std::fs::write(&path, vec![7u8; 1 << 20]).unwrap();
        start_writeback(&std::fs::File::open(&path).unwrap()).unwrap();
        // The call reaches the kernel: a pipe, which has nothing to write back, is refused.
        let (reader, _writer) = std::io::pipe().unwrap();
        let not_a_file: std::fs::File = std::os::fd::OwnedFd::from(reader).into();
        assert!(start_writeback(&not_a_file).is_err());
    }

    #[test]
    fn a_pass_that_caught_up_a_long_wal_leaves_the_next_checkpoint_to_the_writer() {
        let pass = |frames, all_copied| Pass { frames, all_copied };
        let caught_up = pass(RESTART_FRAMES, true);
        assert!(caught_up.caught_up());
        assert_eq!(
            caught_up.next_wait(),
            INTERVAL,
            "a pass at once would take the writer's turn"
        );
        let behind = pass(RESTART_FRAMES, false);
        assert!(!behind.caught_up());
        assert_eq!(
            behind.next_wait(),
            Duration::ZERO,
            "a long WAL not all copied is copied on"
        );
        let short = pass(RESTART_FRAMES - 1, true);
        assert!(
            !short.caught_up(),
            "a short WAL is left to start over when it is long"
        );
        assert_eq!(short.next_wait(), INTERVAL);
    }

    #[test]
    fn the_wal_starts_again_once_the_background_copy_caught_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wal.db");
        let writer = Connection::open(&path).unwrap();
        writer.pragma_update(None, "journal_mode", "wal").unwrap();
        writer.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        writer.execute_batch("CREATE TABLE t (body BLOB)").unwrap();
        let (_stop, restarts) = start(&path).unwrap();
        restarts.install(&writer);
        let page = vec![7u8; 4000];
        let wal_len = || {
            std::fs::metadata(path.with_extension("db-wal"))
                .unwrap()
                .len()
        };
        let mut longest = 0;
        let mut restarted = false;
        // Three times the restart size: without restarts the WAL would pass 96 MiB.
        for _ in 0..3 * RESTART_FRAMES {
            writer
                .execute("INSERT INTO t (body) VALUES (?1)", [&page])
                .unwrap();
            let frames = FRAMES.get();
            restarted |= frames > 0 && frames < longest;
            longest = longest.max(frames);
            restarts.after_commit(&writer);
        }
        assert!(restarted, "the WAL never started again");
        // The file keeps its length once grown, but it stops growing: well under 3x.
        let limit = 2 * RESTART_FRAMES as u64 * 4120;
        assert!(wal_len() < limit, "WAL is {} bytes", wal_len());
    }
}
