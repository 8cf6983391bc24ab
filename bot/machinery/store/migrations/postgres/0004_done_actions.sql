-- The actions a job has done, by key, kept when the job fails part way: its retry does only
-- what is left (a reply is not posted twice). Gone with the job.
CREATE TABLE done_actions (
    job_id BIGINT PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
    keys   TEXT NOT NULL
);
