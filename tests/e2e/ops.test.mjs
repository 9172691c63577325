// SPDX-License-Identifier: MIT
// Operations: probes, metrics, the OpenAPI document (kept in sync with the route table), the docs
// page, the command line (help, migrate, bad options) and graceful shutdown.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, stopAll, CLUSTER_NODES, directUrl } from './lib/harness.mjs';
import { BIN, client, createUserCli, login, register } from './lib/accounts.mjs';
import { uniqueUser } from './lib/harness.mjs';

let server, url;
before(async () => { server = await startServer({ args: ['--trust-proxy'] }); url = server.url; });
after(stopAll);

test('probes', async () => {
  const c = client(url);
  for (const p of ['/health', '/health/live']) {
    const r = await c.get(p);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { status: 'ok' });
  }
  const ready = await c.get('/health/ready');
  assert.equal(ready.status, 200);
  // the cluster's nodes run with --redis, whose bus readiness reports too
  assert.deepEqual(ready.json, { status: 'ready', database: 'up', ...(CLUSTER_NODES ? { bus: 'up' } : {}) });
});

test('the default log adapter writes queued messages to the log', async () => {
  const a = await register(url);
  let line;
  for (let i = 0; i < 100 && !line; i++) {
    line = server.stderrText().split('\n').find((l) => l.includes('"msg":"message"') && l.includes(a.creds.email));
    if (!line) await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(line, 'message logged');
  const m = JSON.parse(line);
  assert.equal(m.channel, 'email');
  assert.equal(m.template, 'verify_email');
  assert.match(m.payload.data.token, /^[A-Za-z0-9_-]{43}$/);
});

test('metrics in Prometheus text format', async () => {
  // a process's own figures: in cluster mode the requests and /metrics go to one node directly
  const base = directUrl(server);
  const c = client(base);
  await register(base);
  await c.get('/api/v1/does-not-exist');
  const r = await c.get('/metrics');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const t = r.text;
  assert.match(t, /^streamhub_http_requests_total\{route="\/api\/v1\/auth\/register",method="POST",status="201"\} [1-9]/m);
  assert.match(t, /^streamhub_http_requests_total\{route="unmatched",method="",status="404"\} [1-9]/m);
  assert.match(t, /^streamhub_http_request_duration_seconds_bucket\{route="\/api\/v1\/auth\/register",method="POST",le="\+Inf"\} [1-9]/m);
  assert.match(t, /^streamhub_http_request_duration_seconds_count\{route="\/api\/v1\/auth\/register",method="POST"\} [1-9]/m);
  assert.match(t, /^streamhub_http_requests_in_flight [0-9]+$/m);
  assert.match(t, /^streamhub_worker_queue_length\{pool="workers"\} [0-9]+$/m);
  assert.match(t, /^streamhub_db_seconds_total [0-9.]+$/m);
  assert.match(t, /^streamhub_db_queries_total [1-9][0-9]*$/m);
  // Every sample line parses as name{labels} value.
  for (const line of t.split('\n').filter((l) => l && !l.startsWith('#')))
    assert.match(line, /^[a-z_]+(\{[^}]*\})? [0-9.e+-]+$/, line);
});

test('point reads run on the event loop on SQLite, never on PostgreSQL', async () => {
  const c = client(url);
  const a = await register(url);
  const me = await c.get('/api/v1/auth/me', { token: a.tokens.access_token });
  assert.equal(me.status, 200);
  assert.equal(me.json.handle, a.user.handle);
  const t = (await c.get('/metrics')).text;
  const onLoop = Number(t.match(/^streamhub_http_point_reads_total\{ran_on="loop"\} ([0-9]+)$/m)[1]);
  if (process.env.STREAMHUB_TEST_PG) assert.equal(onLoop, 0);
  else assert.ok(onLoop >= 1, t);
  assert.match(t, /^streamhub_http_point_reads_total\{ran_on="pool"\} [0-9]+$/m);
});

test('the OpenAPI document lists exactly the routes the server has', async () => {
  const r = await client(url).get('/openapi.json');
  assert.equal(r.status, 200);
  const doc = r.json;
  assert.equal(doc.openapi.slice(0, 3), '3.1');
  const documented = new Set();
  for (const [p, ops] of Object.entries(doc.paths))
    for (const m of Object.keys(ops))
      if (['get', 'post', 'put', 'patch', 'delete', 'options'].includes(m))
        documented.add(`${m.toUpperCase()} ${p.replace(/\{([^}]+)\}/g, ':$1')}`);
  const routes = new Set(execFileSync(BIN, ['routes'], { encoding: 'utf8' }).trim().split('\n'));
  const missing = [...routes].filter((x) => !documented.has(x));
  const extra = [...documented].filter((x) => !routes.has(x));
  assert.deepEqual(missing, [], 'routes missing from openapi.json');
  assert.deepEqual(extra, [], 'openapi.json lists routes that do not exist');
  // And each documented route really answers (anything but route_not_found / method_not_allowed).
  const c = client(url);
  for (const x of documented) {
    const [method, p] = x.split(' ');
    const concrete = p.replace(/:[a-z_]+/g, (m) => (m === ':file' ? 'swagger-ui.css' : '123'));
    const res = await c.request(method, concrete, method === 'GET' ? {} : { json: {} });
    assert.ok(!(res.json?.error?.code === 'route_not_found' || res.status === 405), `${x} → ${res.status}`);
  }
});

// A value that breaks a documented body field: past its length, item count or maximum, outside
// its enum, not an id, or else of the wrong type.
function overLimit(schema) {
  const types = [].concat(schema.type ?? 'object');
  if (schema.$ref || types.includes('object')) return 'not-an-object';
  if (types.includes('array')) {
    const item = schema.items?.pattern ? '1' : 'x';
    if (schema.maxItems !== undefined) return Array(schema.maxItems + 1).fill(item);
    if (schema.items?.maxLength !== undefined) return ['x'.repeat(schema.items.maxLength + 1)];
    if (schema.items?.enum) return ['~not-a-value'];
    return 'not-an-array';
  }
  if (types.includes('integer')) return schema.maximum !== undefined ? schema.maximum + 1 : 'NaN';
  if (types.includes('boolean')) return 'yes';
  if (schema.maxLength !== undefined) return 'x'.repeat(schema.maxLength + 1);
  if (schema.enum) return '~not-a-value';
  if (schema.pattern) return 'not-an-id';
  return 12345;
}

test('every documented body field is enforced as documented: one bad value answers 422 naming it', async () => {
  const doc = (await client(url).get('/openapi.json')).json;
  const admin = uniqueUser('lim');
  createUserCli(server, { ...admin, role: 'admin' });
  const token = (await login(url, admin.email, admin.password)).access_token;
  const c = client(url);
  let checked = 0;
  const wrong = [];
  for (const [p, ops] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(ops)) {
      const schema = op.requestBody?.content?.['application/json']?.schema;
      if (!schema?.properties) continue;
      const concrete = p.replace(/\{[^}]+\}/g, '123');
      for (const [field, fs] of Object.entries(schema.properties)) {
        const r = await c.request(method.toUpperCase(), concrete, {
          json: { [field]: overLimit(fs) },
          headers: { Authorization: `Bearer ${token}` },
        });
        if (r.status !== 422 || r.json.error.details.field !== field)
          wrong.push(`${method.toUpperCase()} ${p} ${field} -> ${r.status} ${r.text}`);
        checked++;
      }
      // and a member the document does not list is refused by name
      const r = await c.request(method.toUpperCase(), concrete, {
        json: { undocumented_member: 1 }, headers: { Authorization: `Bearer ${token}` },
      });
      if (r.status !== 422 || r.json.error.details.field !== 'undocumented_member')
        wrong.push(`${method.toUpperCase()} ${p} undocumented_member -> ${r.status} ${r.text}`);
    }
  assert.deepEqual(wrong, []);
  assert.ok(checked > 50, `${checked} fields checked`);
});

test('Swagger UI is served by the binary', async () => {
  const c = client(url);
  const page = await c.get('/docs');
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type'), /^text\/html/);
  assert.match(page.text, /swagger-ui-bundle\.js/);
  const js = await c.get('/docs/swagger-ui-bundle.js');
  assert.equal(js.status, 200);
  assert.ok(js.text.length > 100000, 'the real bundle from swagger-ui-dist');
  assert.equal((await c.get('/docs/swagger-ui.css')).status, 200);
  assert.equal((await c.get('/docs/docs-init.js')).status, 200);
  assert.equal((await c.get('/docs/..%2Fopenapi.json')).status, 404);
  assert.equal((await c.get('/docs/secret.txt')).status, 404);
});

test('--help lists every option with its environment variable', () => {
  const out = execFileSync(BIN, ['serve', '--help'], { encoding: 'utf8' });
  for (const opt of ['--host', '--port', '--data-dir', '--database', '--workers', '--body-limit', '--cors-origins', '--rate-limit'])
    assert.ok(out.includes(opt), opt);
  assert.match(out, /STREAMHUB_PORT/);
});

test('bad options exit 2 with a message', () => {
  for (const args of [['serve', '--port', '70000'], ['serve', '--nope'], ['serve', '--port'], ['frobnicate']]) {
    let status = 0, stderr = '';
    try { execFileSync(BIN, args, { encoding: 'utf8', stdio: 'pipe' }); } catch (e) { status = e.status; stderr = e.stderr; }
    assert.equal(status, 2, args.join(' '));
    assert.ok(stderr.length > 0);
  }
});

test('migrate applies the schema once, even with two processes at once', async () => {
  let args;
  if (process.env.STREAMHUB_TEST_PG) {
    const name = `sh_migrate_${Date.now()}`;
    execFileSync('psql', [process.env.STREAMHUB_TEST_PG, '-q', '-c', `CREATE DATABASE ${name}`]);
    const u = new URL(process.env.STREAMHUB_TEST_PG);
    u.pathname = `/${name}`;
    args = ['migrate', '--data-dir', mkdtempSync(path.join(tmpdir(), 'sh-migrate-')), '--database', u.toString()];
  } else {
    args = ['migrate', '--data-dir', mkdtempSync(path.join(tmpdir(), 'sh-migrate-'))];
  }
  const run = () => new Promise((resolve) => {
    const p = spawn(BIN, args);
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.on('exit', (code) => resolve({ code, out }));
  });
  const [a, b] = await Promise.all([run(), run()]);
  assert.equal(a.code, 0);
  assert.equal(b.code, 0);
  assert.match(a.out, /^schema version [0-9]+ \((sqlite|postgres)\)/);
  assert.equal(a.out, b.out);
});

test('SIGTERM exits 0 after answering what is in flight', async () => {
  const s = await startServer({ args: ['--trust-proxy'] });
  const c = client(s.url);
  const pending = c.post('/api/v1/auth/register', { json: { email: `t${Date.now()}@example.test`, handle: `t${Date.now()}`, password: 'a fine password' } });
  // Wait until the server is really handling it (in flight besides the metrics request itself).
  for (let i = 0; i < 500; i++) {
    const m = await c.get('/metrics');
    if (Number(/^streamhub_http_requests_in_flight (\d+)$/m.exec(m.text)[1]) >= 2) break;
  }
  const [res, code] = await Promise.all([pending, s.stop()]);
  assert.equal(code, 0);
  assert.equal(res.status, 201);
});

test('readiness turns 503 when the database goes away (PostgreSQL)', { skip: !process.env.STREAMHUB_TEST_PG && 'needs PostgreSQL' }, async () => {
  const s = await startServer();
  const c = client(s.url);
  assert.equal((await c.get('/health/ready')).status, 200);
  const name = new URL(s.database).pathname.slice(1);
  execFileSync('psql', [process.env.STREAMHUB_TEST_PG, '-q', '-c', `DROP DATABASE ${name} WITH (FORCE)`]);
  const r = await c.get('/health/ready');
  assert.equal(r.status, 503, r.text);
  assert.equal(r.json.error.code, 'not_ready');
  assert.ok(r.headers.get('retry-after'));
  assert.equal((await c.get('/health/live')).status, 200, 'liveness does not depend on the database');
  const me = await c.get('/api/v1/auth/me', { token: 'x' });
  assert.ok([401, 503].includes(me.status), `database-backed routes fail cleanly: ${me.status}`);
});

test('a data dir that does not exist yet is created, with everything inside it', async () => {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'sh-fresh-')), 'not', 'yet', 'there');
  const s = await startServer({ dataDir: dir });
  const r = await client(s.url).get('/health/ready');
  assert.equal(r.status, 200);
  await s.stop();
});
