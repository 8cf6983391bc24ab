-- Deliveries as GitHub sent them, keyed by X-GitHub-Delivery (the dedupe key).
CREATE TABLE deliveries (
    id          TEXT PRIMARY KEY,
    event       TEXT NOT NULL,
    received_ms INTEGER NOT NULL,
    body        BLOB NOT NULL
);

-- One job per delivery: the handlers' work, retried until done or dead.
CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id TEXT NOT NULL UNIQUE REFERENCES deliveries(id) ON DELETE CASCADE,
    state       TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'dead')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    run_after   INTEGER NOT NULL,
    lease_until INTEGER,
    worker      TEXT,
    last_error  TEXT,
    finished_ms INTEGER
);
CREATE INDEX jobs_ready ON jobs (state, run_after);

-- Labels a person removed from an issue: the bot does not add them back by itself.
CREATE TABLE label_suppressions (
    repo   TEXT NOT NULL,
    number INTEGER NOT NULL,
    label  TEXT NOT NULL,
    PRIMARY KEY (repo, number, label)
);
