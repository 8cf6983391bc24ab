-- The claim and the counts look for unfinished jobs only: index those alone. Finished jobs (all
-- but a handful) leave the indexes, which stay a page or two that every commit rewrites, instead
-- of growing with every job ever run and dirtying two regions of each (the new job's state and
-- the finished one's). The job's id is its rowid, in every index already. As PostgreSQL's
-- migration 0007 did.
DROP INDEX jobs_ready;
CREATE INDEX jobs_ready ON jobs (run_after) WHERE state = 'queued';
DROP INDEX jobs_leases;
CREATE INDEX jobs_leases ON jobs (lease_until) WHERE state = 'running';
CREATE INDEX jobs_dead ON jobs (run_after) WHERE state = 'dead';
