// SPDX-License-Identifier: MIT
// Where slow requests spend their time, from the server's own trace spans (issue 12's write
// tails). It is an OTLP/HTTP receiver (tests/e2e/lib/otlp.mjs): start it, point a server at it
// with --otlp-endpoint URL --trace-sample 1, drive load, then send SIGTERM; it prints, for the
// requests of one route, how the time of the slow ones (over --slow-ms) and of all of them splits:
//   before    request start to its first SQL span: the wait for a worker thread, the token and
//             session check (their SQL is a child too, so this is mostly the pool queue)
//   lock      the BEGIN span: waiting for the in-process writer lock, then SQLite's BEGIN
//   sql       every other SQL span, COMMIT excluded
//   commit    the COMMIT span (the WAL write; an fsync only at a checkpoint)
//   between   gaps between SQL spans inside the handler (C code, JSON, being descheduled)
//   after     last SQL span's end to the request's end (answer, after-commit consumers)
//   node bench/slow-requests.mjs [--route /api/v1/posts/:id/reactions] [--slow-ms 25]
// The first line it prints is "otlp URL"; the report follows SIGTERM or SIGINT. Tracing every
// request costs throughput of its own, so read the shares, not the absolute req/s.
import { startOtlpReceiver } from '../tests/e2e/lib/otlp.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const ROUTE = opt('--route', '/api/v1/posts/:id/reactions');
const SLOW_MS = Number(opt('--slow-ms', 25));
const PARTS = ['before', 'lock', 'sql', 'commit', 'between', 'after'];

const rx = await startOtlpReceiver();
console.log(`otlp ${rx.url}`);

const ms = (ns) => Number(ns) / 1e6;

function breakdown(req, children) {
  const t0 = ms(req.startTimeUnixNano), t1 = ms(req.endTimeUnixNano);
  const parts = Object.fromEntries(PARTS.map((p) => [p, 0]));
  if (!children.length) { parts.before = t1 - t0; return parts; }
  children.sort((a, b) => (BigInt(a.startTimeUnixNano) < BigInt(b.startTimeUnixNano) ? -1 : 1));
  let cursor = ms(children[0].startTimeUnixNano);
  parts.before = cursor - t0;
  for (const c of children) {
    const s = ms(c.startTimeUnixNano), e = ms(c.endTimeUnixNano);
    if (s > cursor) parts.between += s - cursor;
    const name = c.attrs['db.operation.name'] || c.name;
    const key = /^BEGIN/i.test(name) ? 'lock' : /^COMMIT/i.test(name) ? 'commit' : 'sql';
    parts[key] += e - Math.max(s, cursor);
    cursor = Math.max(cursor, e);
  }
  parts.after = Math.max(0, t1 - cursor);
  return parts;
}

function report() {
  const byParent = new Map();
  for (const s of rx.spans) if (s.parentSpanId) {
    const k = s.traceId + s.parentSpanId;
    if (!byParent.has(k)) byParent.set(k, []);
    byParent.get(k).push(s);
  }
  const rows = [];
  for (const s of rx.spans) {
    if (s.kind !== 2 || s.attrs['http.route'] !== ROUTE) continue;
    const total = ms(s.endTimeUnixNano) - ms(s.startTimeUnixNano);
    rows.push({ total, parts: breakdown(s, byParent.get(s.traceId + s.spanId) || []) });
  }
  const summarize = (label, list) => {
    if (!list.length) return console.log(`${label}: none`);
    const mean = (f) => list.reduce((a, r) => a + f(r), 0) / list.length;
    const dominant = Object.fromEntries(PARTS.map((p) => [p, 0]));
    for (const r of list) dominant[PARTS.reduce((a, p) => (r.parts[p] > r.parts[a] ? p : a), PARTS[0])]++;
    console.log(`${label}: ${list.length} requests, mean ${mean((r) => r.total).toFixed(2)} ms = ` +
      PARTS.map((p) => `${p} ${mean((r) => r.parts[p]).toFixed(2)}`).join(' + ') +
      `; the largest part: ${PARTS.filter((p) => dominant[p]).map((p) => `${p} ${dominant[p]}`).join(', ')}`);
  };
  rows.sort((a, b) => a.total - b.total);
  console.log(`${ROUTE}: ${rows.length} traced requests, p50 ${rows[Math.floor(rows.length / 2)]?.total.toFixed(2)} ms, ` +
    `p99 ${rows[Math.floor(rows.length * 0.99)]?.total.toFixed(2)} ms (server side); protocol problems ${rx.problems.length}`);
  summarize('all', rows);
  summarize(`over ${SLOW_MS} ms`, rows.filter((r) => r.total > SLOW_MS));
}

for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, async () => { report(); await rx.close(); process.exit(0); });
