-- One row that readiness writes: `/readyz` is ready only while a write commits.
CREATE TABLE health (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    probed_ms BIGINT NOT NULL
);
