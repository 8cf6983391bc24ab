-- The leads GitHub refused to request a review from on a pull request (not collaborators), with
-- what it said: learnt after the review state is saved, read back with it.
CREATE TABLE review_refusals (
    repo     TEXT NOT NULL,
    number   BIGINT NOT NULL,
    reviewer TEXT NOT NULL,
    why      TEXT NOT NULL,
    PRIMARY KEY (repo, number, reviewer)
);
