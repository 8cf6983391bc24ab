-- Deliveries as GitHub sent them, keyed by X-GitHub-Delivery: the unique key is what lets two
-- replicas receiving the same redelivery store it once.
CREATE TABLE deliveries (
    id          TEXT PRIMARY KEY,
    event       TEXT NOT NULL,
    received_ms BIGINT NOT NULL,
    body        BYTEA NOT NULL
);

CREATE TABLE jobs (
    id          BIGSERIAL PRIMARY KEY,
    delivery_id TEXT NOT NULL UNIQUE REFERENCES deliveries(id) ON DELETE CASCADE,
    state       TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'dead')),
    attempts    BIGINT NOT NULL DEFAULT 0,
    run_after   BIGINT NOT NULL,
    lease_until BIGINT,
    worker      TEXT,
    last_error  TEXT,
    finished_ms BIGINT
);
CREATE INDEX jobs_ready ON jobs (state, run_after, id);
CREATE INDEX jobs_leases ON jobs (state, lease_until);

CREATE TABLE label_suppressions (
    repo   TEXT NOT NULL,
    number BIGINT NOT NULL,
    label  TEXT NOT NULL,
    PRIMARY KEY (repo, number, label)
);
