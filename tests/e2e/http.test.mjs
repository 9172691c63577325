// SPDX-License-Identifier: MIT
// The HTTP layer as clients see it: routing errors, HEAD and OPTIONS, CORS, request ids,
// security headers, body limits, the access log and behaviour under concurrent load.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer, stopAll, directUrl } from './lib/harness.mjs';
import { client, register, expectError } from './lib/accounts.mjs';

let server, url;
before(async () => {
  server = await startServer({ args: ['--trust-proxy', '--rate-limit', '0', '--cors-origins', 'https://app.example, https://admin.example', '--body-limit', '4096'] });
  url = server.url;
});
after(stopAll);

/** Sends raw bytes and resolves with everything the server answers before closing or timeout
 * (or with the first bytes it answers, untilData). */
function raw(bytes, { waitMs = 2000, untilData = false } = {}) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(port), hostname);
    let out = '';
    s.on('data', (d) => { out += d; if (untilData) { s.destroy(); resolve(out); } });
    s.on('error', () => resolve(out));
    s.on('close', () => resolve(out));
    s.setTimeout(waitMs, () => { s.destroy(); resolve(out); });
    s.write(bytes, (err) => err && reject(err));
  });
}

test('unknown routes are 404 JSON; wrong methods 405 with Allow', async () => {
  const c = client(url);
  expectError(await c.get('/api/v1/nope'), 404, 'route_not_found');
  expectError(await c.get('/api/v1/auth/me/extra'), 404, 'route_not_found');
  const r = await c.request('PUT', '/api/v1/auth/login', { json: {} });
  expectError(r, 405, 'method_not_allowed');
  assert.equal(r.headers.get('allow'), 'POST, OPTIONS');
  const g = await c.request('DELETE', '/health/live');
  expectError(g, 405, 'method_not_allowed');
  assert.equal(g.headers.get('allow'), 'GET, HEAD, OPTIONS');
});

test('HEAD answers GET routes without a body; OPTIONS lists methods', async () => {
  const c = client(url);
  const h = await c.request('HEAD', '/health/live');
  assert.equal(h.status, 200);
  assert.equal(h.text, '');
  const o = await c.request('OPTIONS', '/api/v1/auth/sessions/123');
  assert.equal(o.status, 204);
  assert.equal(o.headers.get('allow'), 'DELETE, OPTIONS');
  assert.equal(o.headers.get('access-control-allow-origin'), null);
});

test('CORS: allowed origins get headers and preflights; others do not', async () => {
  const c = client(url);
  const pre = await c.request('OPTIONS', '/api/v1/auth/login', { headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), 'https://app.example');
  assert.match(pre.headers.get('access-control-allow-methods'), /POST/);
  assert.match(pre.headers.get('access-control-allow-headers'), /Authorization/);
  assert.equal(pre.headers.get('vary'), 'Origin');
  const get = await c.get('/health/live', { headers: { origin: 'https://admin.example' } });
  assert.equal(get.headers.get('access-control-allow-origin'), 'https://admin.example');
  assert.match(get.headers.get('access-control-expose-headers'), /X-Request-Id/);
  const evil = await c.request('OPTIONS', '/api/v1/auth/login', { headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
  assert.equal(evil.headers.get('access-control-allow-origin'), null);
  assert.equal(evil.headers.get('access-control-allow-methods'), null);
});

test('request ids are echoed when sane and generated otherwise', async () => {
  const c = client(url);
  const mine = await c.get('/health/live', { headers: { 'x-request-id': 'client-abc.123' } });
  assert.equal(mine.headers.get('x-request-id'), 'client-abc.123');
  const bad = await c.get('/health/live', { headers: { 'x-request-id': 'has spaces and "quotes"' } });
  assert.match(bad.headers.get('x-request-id'), /^[0-9a-f]{18}$/);
  const a = await c.get('/health/live');
  const b = await c.get('/health/live');
  assert.notEqual(a.headers.get('x-request-id'), b.headers.get('x-request-id'));
});

test('security headers on every answer', async () => {
  const r = await client(url).get('/api/v1/auth/me');
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(r.headers.get('x-frame-options'), 'DENY');
  assert.equal(r.headers.get('cache-control'), 'no-store');
  assert.match(r.headers.get('content-security-policy'), /default-src 'none'/);
  assert.equal(r.headers.get('content-type'), 'application/json');
});

test('bodies over the limit get 413 without being read', async () => {
  const c = client(url);
  const big = JSON.stringify({ login: 'x'.repeat(5000), password: 'y' });
  expectError(await c.post('/api/v1/auth/login', { body: big, headers: { 'content-type': 'application/json' } }), 413, 'body_too_large');
  // Declared huge but never sent: answered at once, not after a timeout.
  const started = Date.now();
  const out = await raw(`POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n`, { untilData: true });
  assert.match(out, /^HTTP\/1\.1 413/);
  assert.match(out, /body_too_large/);
  assert.ok(Date.now() - started < 1900, 'answered before the client sent anything');
  // Chunked bodies have no length up front: refused once they pass the limit.
  const chunk = 'a'.repeat(3000);
  const chunked = `POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n` +
    `${chunk.length.toString(16)}\r\n${chunk}\r\n${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n\r\n`;
  assert.match(await raw(chunked), /^HTTP\/1\.1 413/);
  // Body on an unknown route is discarded and answered 404.
  expectError(await c.post('/api/v1/unknown', { json: { a: 1 } }), 404, 'route_not_found');
});

test('malformed HTTP does not crash the server', async () => {
  await raw('GARBAGE\r\n\r\n');
  await raw('GET /health/live HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n');
  await raw(`GET /${'a'.repeat(20000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
  await raw('POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n{"lo', { waitMs: 300 });
  assert.equal((await client(url).get('/health/live')).status, 200);
});

test('the access log has one JSON line per request with route, status and user', async () => {
  const a = await register(url);
  await client(url).get('/api/v1/auth/me', { token: a.tokens.access_token, headers: { 'x-request-id': 'log-check-1' } });
  // Lines are buffered per thread for up to --access-log-flush-ms (200 ms by default).
  let line;
  for (let i = 0; i < 100 && !line; i++) {
    await new Promise((r) => setTimeout(r, 20));
    line = server.stderrText().split('\n').filter((l) => l.includes('log-check-1')).map((l) => JSON.parse(l))[0];
  }
  assert.ok(line, 'log line present');
  assert.equal(line.msg, 'request');
  assert.equal(line.method, 'GET');
  assert.equal(line.route, '/api/v1/auth/me');
  assert.equal(line.status, 200);
  assert.equal(line.user_id, a.user.id);
  assert.equal(typeof line.us, 'number');
  assert.match(line.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
});

test('the access log stays valid JSON when a client names an odd method', async () => {
  // X-HTTP-Method-Override is copied into the line; a quote in it must be escaped.
  const r = await fetch(`${url}/health/live`, { method: 'POST', headers: { 'x-http-method-override': 'GE"T\\', 'x-request-id': 'log-check-odd' } });
  assert.equal(r.status, 405);
  let line;
  for (let i = 0; i < 100 && !line; i++) {
    await new Promise((res) => setTimeout(res, 20));
    line = server.stderrText().split('\n').find((l) => l.includes('log-check-odd'));
  }
  assert.ok(line, 'log line present');
  assert.equal(JSON.parse(line).method, 'GE"T\\');
});

test('a body refused before it is read is read and dropped, not reset (a proxy relays the 413)', async () => {
  // nginx with proxy_request_buffering off keeps streaming a body the node already refused; a
  // node that closed with the body unread made the kernel reset the connection, and nginx
  // answered 502. The body is sent in pieces after the answer has come back.
  const { hostname, port } = new URL(url);
  const size = 300000;
  const result = await new Promise((resolve) => {
    // half open, as a proxy is: the server's FIN after its answer does not end our sending
    const s = net.connect({ port: Number(port), host: hostname, allowHalfOpen: true });
    let out = '', error = null, sent = 0;
    s.on('data', (d) => { out += d; });
    s.on('error', (e) => { error = e.code || String(e); });
    s.on('close', () => resolve({ out, error, sent }));
    s.write(`POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\n\r\n`);
    const piece = Buffer.alloc(30000, 'a');
    const more = () => {
      if (sent >= size) { s.end(); return; }
      s.write(piece, () => { sent += piece.length; setTimeout(more, 5); });
    };
    setTimeout(more, 100);
  });
  assert.match(result.out, /^HTTP\/1\.1 413/);
  assert.match(result.out, /body_too_large/);
  assert.equal(result.error, null, 'no reset while the body was still being sent');
  assert.equal(result.sent, size);
});

test('many concurrent requests all succeed', async () => {
  const a = await register(url);
  const c = client(url);
  const results = await Promise.all(Array.from({ length: 300 }, (_, i) =>
    i % 2 ? c.get('/api/v1/auth/me', { token: a.tokens.access_token }) : c.get('/health/live')));
  assert.ok(results.every((r) => r.status === 200), results.map((r) => r.status).join(','));
});

test('slow clients are cut off after the connection timeout; the connection cap holds', async () => {
  const s = await startServer({ args: ['--connection-timeout', '1', '--max-connections', '16'] });
  // one process's connection handling: in cluster mode a node directly (nginx would hold the
  // stalled client itself and spread the idle ones over the nodes)
  const { hostname, port } = new URL(directUrl(s));
  const started = Date.now();
  const closed = await new Promise((resolve) => {
    const sock = net.connect(Number(port), hostname);
    sock.on('connect', () => sock.write('GET /health/live HTTP/1.1\r\nHost: x\r\n')); // never finishes
    sock.on('close', () => resolve(true));
    sock.on('error', () => {});
    setTimeout(() => { sock.destroy(); resolve(false); }, 8000);
  });
  assert.equal(closed, true, 'server closed the stalled connection');
  assert.ok(Date.now() - started < 7000);
  // Fill the cap with idle sockets: a further request waits (libmicrohttpd stops accepting)
  // until the idle ones time out, then it is served.
  const idle = await Promise.all(Array.from({ length: 16 }, () => new Promise((resolve) => {
    const sock = net.connect(Number(port), hostname, () => resolve(sock));
    sock.on('error', () => resolve(sock));
  })));
  await new Promise((r) => setTimeout(r, 100));
  const t0 = Date.now();
  let answeredAt = 0;
  await new Promise((resolve) => {
    const sock = net.connect(Number(port), hostname, () => sock.write('GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    sock.on('data', () => { if (!answeredAt) answeredAt = Date.now(); });
    sock.on('close', resolve);
    sock.on('error', resolve);
  });
  for (const x of idle) x.destroy();
  assert.ok(answeredAt > 0, 'served once room was made');
  assert.ok(answeredAt - t0 >= 500, `served after ${answeredAt - t0} ms, while the cap was full`);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal((await client(directUrl(s)).get('/health/live')).status, 200);
});
