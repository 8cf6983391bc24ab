-- What the bot last said of one kind about an issue, as a digest of the facts it said (a
-- graduation nudge): timed work that would say the same again is not stored. One row per issue
-- and kind, replaced when the bot says something new.
CREATE TABLE said (
    repo   TEXT NOT NULL,
    number BIGINT NOT NULL,
    about  TEXT NOT NULL,
    digest TEXT NOT NULL,
    PRIMARY KEY (repo, number, about)
);
