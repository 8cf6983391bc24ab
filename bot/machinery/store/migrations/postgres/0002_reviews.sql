-- The lead review of each GEP pull request (JSON of review::ReviewState).
CREATE TABLE reviews (
    repo   TEXT NOT NULL,
    number BIGINT NOT NULL,
    state  TEXT NOT NULL,
    PRIMARY KEY (repo, number)
);
