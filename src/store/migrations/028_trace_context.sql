-- SPDX-License-Identifier: MIT
-- Migration 28 (trace_context), both databases.
--
-- The W3C traceparent of the span that queued a job or an outbox message, so the work done later
-- (by any worker, on any node) joins the trace of the request that asked for it
-- (docs/operations.md, "Tracing"). NULL when tracing was off or the request was not sampled.

ALTER TABLE jobs ADD COLUMN traceparent TEXT;
ALTER TABLE outbox ADD COLUMN traceparent TEXT;
