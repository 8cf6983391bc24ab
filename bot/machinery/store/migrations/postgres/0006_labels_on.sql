-- Labels on an issue as the bot last knew: it added them, or an event showed them. A queued job
-- whose payload predates the bot's own write sees them here and writes nothing again.
CREATE TABLE labels_on (
    repo   TEXT NOT NULL,
    number BIGINT NOT NULL,
    label  TEXT NOT NULL,
    PRIMARY KEY (repo, number, label)
);
