-- SPDX-License-Identifier: MIT
-- Migration 14 (jobs), SQLite.
--
-- The durable job queue (store/jobs.c, jobs/queue.c): claimable rows are queued-and-due or
-- running-with-an-expired-lease, which the partial index keeps small.

CREATE TABLE jobs (  id INTEGER PRIMARY KEY,  kind TEXT NOT NULL,  payload TEXT NOT NULL,  state TEXT NOT NULL,  priority BIGINT NOT NULL,  attempts BIGINT NOT NULL,  max_attempts BIGINT NOT NULL,  run_after BIGINT NOT NULL,  lease_owner TEXT,  lease_until BIGINT NOT NULL,  progress BIGINT NOT NULL,  last_error TEXT,  created_at BIGINT NOT NULL,  updated_at BIGINT NOT NULL,  finished_at BIGINT);
CREATE INDEX jobs_claimable ON jobs(priority, run_after, id)   WHERE state IN ('queued', 'running');
