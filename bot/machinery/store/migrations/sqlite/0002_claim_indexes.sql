-- Claiming looks up due jobs and expired leases separately, each through its own index, so a
-- claim costs the same with a million finished jobs as with ten.
CREATE INDEX jobs_leases ON jobs (state, lease_until);
