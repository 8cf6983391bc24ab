//! SQLite as `gep-bot` starts it: with its memory statistics off (`main` calls
//! `without_memory_statistics` first). A file of its own: the setting is the whole process's and
//! takes effect only before SQLite's first use, so no other test may run SQLite beside it.

use gep_bot::machinery::store::without_memory_statistics;

#[test]
fn sqlite_keeps_no_memory_statistics_once_turned_off_before_its_first_use() {
    // SAFETY: the only test in this binary: no other thread uses SQLite.
    assert!(
        unsafe { without_memory_statistics() },
        "SQLite took the setting"
    );
    let connection = rusqlite::Connection::open_in_memory().unwrap();
    connection
        .execute_batch("CREATE TABLE t (body BLOB); INSERT INTO t VALUES (zeroblob(100000));")
        .unwrap();
    let counted: i64 = connection
        .query_row("SELECT length(body) FROM t", [], |row| row.get(0))
        .unwrap();
    assert_eq!(counted, 100_000);
    // With the statistics on (SQLite's default) this counts every byte SQLite holds: the
    // connection, its schema and page cache, well over 100 KB here.
    // SAFETY: takes nothing, reads a counter.
    let used = unsafe { rusqlite::ffi::sqlite3_memory_used() };
    assert_eq!(used, 0, "SQLite still counts its memory");
    // SAFETY: as above: this thread alone uses SQLite.
    assert!(
        !unsafe { without_memory_statistics() },
        "once SQLite has started, the setting is refused, not half applied"
    );
}
