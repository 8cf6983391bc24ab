-- What the initiative's report and the meeting agenda count: mesh items opened and closed, lead
-- reviews started and reaching quorum, GEP status changes. Small (one row per item and kind) and
-- kept when the deliveries they came from are pruned.
CREATE TABLE activity (
    repo   TEXT NOT NULL,
    kind   TEXT NOT NULL,
    number BIGINT NOT NULL,
    detail TEXT NOT NULL,
    at_ms  BIGINT NOT NULL,
    PRIMARY KEY (repo, kind, number, detail)
);
CREATE INDEX activity_at ON activity (repo, at_ms);
