-- One index entry less per delivery, and no statement reads every job:
-- - `jobs_unfinished` goes: each job was written into it when queued and again when claimed,
--   for pruning alone, which now finds the unfinished jobs through the claim's own partial
--   indexes (`jobs_ready`, `jobs_leases`: the store's PRUNE asks for each state apart, since
--   the planner matches a partial index to `state = 'queued'`, not to `state IN (...)`).
-- - `jobs_dead` indexes the dead jobs (a handful, and written only when a job dies): the counts
--   `/metrics` reads at every scrape, and requeueing the dead, read every job without it.
-- As SQLite's migration 0010 did. Building it reads `jobs` once, holding off writes meanwhile.
DROP INDEX jobs_unfinished;
CREATE INDEX jobs_dead ON jobs (run_after) WHERE state = 'dead';
