-- The jobs' state CHECK as comparisons instead of `state IN (four values)`: SQLite codes a list
-- of more than two constants as a temporary index, built anew by every statement that writes a
-- job (a B-tree opened, a page allocated and zeroed, four inserts, all closed again): 18% of the
-- writer's instructions under `benches/support/callgrind.sh`. The same rule, the same rows.
-- SQLite changes a CHECK only by copying the table (its "making other kinds of table schema
-- changes"); the store runs its migrations with foreign keys off, so dropping the old table
-- deletes no `done_actions` row, and checks them afterwards.
CREATE TABLE jobs_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id TEXT NOT NULL UNIQUE REFERENCES deliveries(id) ON DELETE CASCADE,
    state       TEXT NOT NULL CHECK (state = 'queued' OR state = 'running' OR state = 'done' OR state = 'dead'),
    attempts    INTEGER NOT NULL DEFAULT 0,
    run_after   INTEGER NOT NULL,
    lease_until INTEGER,
    worker      TEXT,
    last_error  TEXT,
    finished_ms INTEGER
);
INSERT INTO jobs_new (id, delivery_id, state, attempts, run_after, lease_until, worker, last_error, finished_ms)
    SELECT id, delivery_id, state, attempts, run_after, lease_until, worker, last_error, finished_ms FROM jobs;
-- No id is given out twice: the new table goes on from the old one's last id, which may be past
-- the largest left (the newest jobs pruned).
DELETE FROM sqlite_sequence WHERE name = 'jobs_new';
INSERT INTO sqlite_sequence (name, seq) SELECT 'jobs_new', seq FROM sqlite_sequence WHERE name = 'jobs';
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
CREATE INDEX jobs_ready ON jobs (run_after) WHERE state = 'queued';
CREATE INDEX jobs_leases ON jobs (lease_until) WHERE state = 'running';
CREATE INDEX jobs_dead ON jobs (run_after) WHERE state = 'dead';
