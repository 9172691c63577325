// SPDX-License-Identifier: MIT
// StreamHub through PgBouncer (Debian) in transaction pooling mode with a pool far smaller than
// the server's connections (tests/e2e/lib/pgbouncer.mjs): migrations (two at once, serialised by
// a transaction-scoped advisory lock), writes in transactions, reads, racing idempotent sends,
// a queued job (the password-reset mail) and the outbox, all with --pg-named-statements false,
// and never more server connections than the pool. Needs STREAMHUB_TEST_PG (the pg suite); in
// cluster mode every node and worker goes through the one PgBouncer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, stopAll, createPgDatabase, startWebhookReceiver } from './lib/harness.mjs';
import { startPgBouncer } from './lib/pgbouncer.mjs';
import { BIN, client, register, login } from './lib/accounts.mjs';

const skip = process.env.STREAMHUB_TEST_PG ? false : 'needs STREAMHUB_TEST_PG (the pg suite)';
if (skip) console.log(`# pgbouncer: skipped, ${skip}`);
const POOL = 4;
const tok = (u) => ({ token: u.tokens.access_token });
const ok = (r, status = 200) => { assert.equal(r.status, status, r.text); return r.json; };
let bouncer, hook;

before(async () => {
  if (skip) return;
  bouncer = await startPgBouncer({ poolSize: POOL });
  hook = await startWebhookReceiver();
});
after(async () => {
  await stopAll();
  await hook?.close();
  await bouncer?.stop();
});

/** `streamhub migrate` through the pooler; resolves with its stdout or rejects with stderr. */
const migrate = (database) => new Promise((resolve, reject) => {
  execFile(BIN, ['migrate', '--data-dir', mkdtempSync(path.join(tmpdir(), 'sh-pgb-')), '--database', database,
    '--pg-named-statements', 'false'], { encoding: 'utf8', timeout: 60000 },
  (e, stdout, stderr) => (e ? reject(new Error(`${e.message}: ${stderr}`)) : resolve(stdout)));
});

const serverConnections = (name) => Number(execFileSync('psql', [process.env.STREAMHUB_TEST_PG, '-tA', '-c',
  `SELECT count(*) FROM pg_stat_activity WHERE datname = '${name}'`], { encoding: 'utf8' }).trim());

test('migrations, writes, reads, a job and the outbox through PgBouncer in transaction mode', { skip, timeout: 240000 }, async () => {
  const name = new URL(createPgDatabase()).pathname.slice(1);
  const database = bouncer.url(name);
  const [m1, m2] = await Promise.all([migrate(database), migrate(database)]);
  assert.match(m1, /^schema version \d+ \(postgres\)$/m);
  assert.equal(m1, m2, 'both migrators end on the same schema');

  const server = await startServer({ database, args: ['--pg-named-statements', 'false', '--trust-proxy', '--rate-limit', '0',
    '--auth-rate-limit', '0', '--delivery', 'webhook', '--webhook-url', hook.url] });
  const url = server.url;
  const c = () => client(url);
  const [a, b] = await Promise.all([register(url), register(url)]);

  // writes and reads, many at once: far more client connections than the pool's servers
  const posts = await Promise.all(Array.from({ length: 24 }, (_, i) =>
    c().post('/api/v1/posts', { ...tok(a), json: { caption: `through the pool ${i}`, visibility: 'public' } }).then((r) => ok(r, 201))));
  ok(await c().post(`/api/v1/users/${a.creds.handle}/follow`, tok(b)), 200);
  const seen = new Set();
  for (let cursor = ''; ;) {
    const page = ok(await c().get(`/api/v1/feed/home?limit=10${cursor}`, tok(b)));
    for (const p of page.items) seen.add(p.id);
    if (!page.next_cursor) break;
    cursor = `&cursor=${encodeURIComponent(page.next_cursor)}`;
  }
  for (const p of posts) assert.ok(seen.has(p.id), `post ${p.id} in the follower's feed`);
  const reads = await Promise.all(posts.map((p) => c().get(`/api/v1/posts/${p.id}`, tok(b))));
  assert.deepEqual(reads.map((r) => r.status), posts.map(() => 200));

  // transactions with an advisory lock: racing opens make one 1:1, racing sends with one
  // client_id make one message, distinct ones each make theirs
  const opens = await Promise.all(Array.from({ length: 6 }, () =>
    c().post('/api/v1/conversations', { ...tok(a), json: { kind: 'direct', member_ids: [b.user.id] } })));
  assert.equal(new Set(opens.map((r) => r.json?.id)).size, 1, opens.map((r) => r.text).join('\n'));
  const conv = opens[0].json.id;
  const send = (text, clientId) => c().post(`/api/v1/conversations/${conv}/messages`, { ...tok(a), json: { text, client_id: clientId } });
  const same = await Promise.all(Array.from({ length: 6 }, () => send('once', 'pgb-once')));
  assert.equal(new Set(same.map((r) => r.json?.id)).size, 1, same.map((r) => `${r.status} ${r.text}`).join('\n'));
  const distinct = await Promise.all(Array.from({ length: 12 }, (_, i) => send(`m${i}`, `pgb-${i}`)));
  assert.deepEqual(distinct.map((r) => r.status), distinct.map(() => 201));
  const history = ok(await c().get(`/api/v1/conversations/${conv}/messages?limit=50`, tok(b)));
  assert.equal(history.items.length, 13);

  // a queued job (the reset mail is built by a job) and the outbox's delivery
  assert.equal((await c().post('/api/v1/auth/password/forgot', { json: { email: a.creds.email } })).status, 202);
  const mail = await hook.waitFor((m) => m.to === a.creds.email && m.template === 'reset_password', 30000);
  assert.equal((await c().post('/api/v1/auth/password/reset', { json: { token: mail.data.token, new_password: 'pooled and fine' } })).status, 204);
  await login(url, a.creds.email, 'pooled and fine');

  // the pool bounds the server side whatever the nodes open
  assert.ok(serverConnections(name) <= POOL, `at most ${POOL} server connections`);
  assert.doesNotMatch(server.stderrText(), /prepared statement|"level":"error"/);
});
