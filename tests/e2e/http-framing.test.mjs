// SPDX-License-Identifier: MIT
// HTTP/1.1 framing and hostile clients over raw sockets (node:net): requests whose length is
// ambiguous (Content-Length with Transfer-Encoding, conflicting lengths) are answered 400 and
// the connection closed, so the bytes after them never run as a second request; a missing
// Host, a %00 in the target, codings other than chunked and endless chunked bodies; the client
// address behind trusted proxies (X-Forwarded-For walked from the right); header deadlines, the
// minimum body rate and the per-address connection cap. In cluster mode the raw sockets go to
// one node directly (directUrl): these are one process's HTTP front end, which nginx would hide.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { startServer, stopAll, directUrl } from './lib/harness.mjs';
import { handshake } from './lib/wsraw.mjs';

after(stopAll);

/** A generous guard, never asserted on: a case fails by reaching it with the socket still open. */
const GUARD_MS = 8000;

/**
 * Writes bytes (a string, or an array of strings written with a pause between) and collects
 * what the server answers until it closes the connection or GUARD_MS passes. Resolves
 * { out, closed, statuses }: closed is true only when the server ended the connection.
 */
function exchange(base, bytes, { keepWriting = null } = {}) {
  const { hostname, port } = new URL(base);
  return new Promise((resolve) => {
    const sock = net.connect(Number(port), hostname);
    let out = '', done = false, timer = null, writer = null;
    const finish = (closed) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearInterval(writer);
      sock.destroy();
      resolve({ out, closed, statuses: statusesOf(out) });
    };
    sock.on('data', (d) => { out += d; });
    sock.on('end', () => finish(true));
    sock.on('close', () => finish(true));
    sock.on('error', () => finish(true));
    timer = setTimeout(() => finish(false), GUARD_MS);
    sock.on('connect', () => {
      sock.write(bytes);
      if (keepWriting) writer = setInterval(() => { if (!sock.destroyed) sock.write(keepWriting.bytes); }, keepWriting.everyMs);
    });
  });
}

/** Status codes of the responses in a raw byte stream, in order. */
function statusesOf(out) {
  return [...out.matchAll(/HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1]));
}

function bodyOf(out) {
  const i = out.indexOf('\r\n\r\n');
  try { return JSON.parse(out.slice(i + 4)); } catch { return null; }
}

const tag = () => randomBytes(6).toString('hex');

/** /metrics over a connection of its own that closes (a pooled fetch socket would hold a slot). */
async function metrics(base) {
  return (await exchange(base, 'GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).out;
}

describe('framing', () => {
  let server, url;
  before(async () => {
    // Access-log lines written at once: "the smuggled request never ran" reads the log right away.
    server = await startServer({ args: ['--trust-proxy', '--rate-limit', '0', '--body-limit', '4096', '--access-log-flush-ms', '0'] });
    url = directUrl(server);
  });

  /** A request that would show up (a 404 and an access-log line) if it were ever run. */
  const smuggled = (t) => `GET /api/v1/smuggled-${t} HTTP/1.1\r\nHost: x\r\n\r\n`;
  const ran = (t) => server.stderrText().includes(`smuggled-${t}`);

  async function expectRefusedAndClosed(bytes, t, status, code) {
    const r = await exchange(url, bytes);
    assert.deepEqual(r.statuses, [status], `exactly one answer, got ${JSON.stringify(r.out.slice(0, 300))}`);
    assert.equal(r.closed, true, 'the server closed the connection');
    if (code) assert.equal(bodyOf(r.out)?.error?.code, code);
    assert.equal(ran(t), false, 'the smuggled request never ran');
  }

  test('Content-Length together with Transfer-Encoding is 400 and closes', async () => {
    for (const headers of ['Content-Length: 5\r\nTransfer-Encoding: chunked', 'Transfer-Encoding: chunked\r\nContent-Length: 5']) {
      const t = tag();
      await expectRefusedAndClosed(`POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${headers}\r\n\r\n0\r\n\r\n${smuggled(t)}`, t, 400, 'bad_framing');
    }
  });

  test('two different Content-Length values are 400 and close', async () => {
    const t = tag();
    const rest = smuggled(t);
    await expectRefusedAndClosed(`POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 0\r\nContent-Length: ${rest.length}\r\n\r\n${rest}`, t, 400, 'bad_framing');
    // the second one hidden behind many other header lines counts too
    const t2 = tag();
    const filler = Array.from({ length: 70 }, (_, i) => `X-Filler-${i}: y\r\n`).join('');
    await expectRefusedAndClosed(`POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n${filler}Content-Length: 5\r\n\r\n${smuggled(t2)}`, t2, 400, 'bad_framing');
  });

  test('a repeated identical Content-Length is accepted (RFC 9112 6.3)', async () => {
    const body = '{"login":"nobody@example.test","password":"x"}';
    const r = await exchange(url, `POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    assert.equal(r.statuses.length, 1);
    assert.notEqual(bodyOf(r.out)?.error?.code, 'bad_framing');
  });

  test('a transfer coding other than chunked is 501 and closes', async () => {
    for (const te of ['gzip', 'gzip, chunked', 'chunked, identity']) {
      const t = tag();
      await expectRefusedAndClosed(`POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ${te}\r\n\r\n0\r\n\r\n${smuggled(t)}`, t, 501, 'unsupported_transfer_encoding');
    }
  });

  test('HTTP/1.1 without Host (or with two) is 400 and closes; HTTP/1.0 needs none', async () => {
    const t = tag();
    await expectRefusedAndClosed(`GET /health/live HTTP/1.1\r\n\r\n${smuggled(t)}`, t, 400, 'bad_request');
    const t2 = tag();
    await expectRefusedAndClosed(`GET /health/live HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n${smuggled(t2)}`, t2, 400, 'bad_request');
    const old = await exchange(url, 'GET /health/live HTTP/1.0\r\n\r\n');
    assert.deepEqual(old.statuses, [200]);
  });

  test('%00 in the path or the query is refused, not truncated', async () => {
    for (const target of ['/health/live%00.json', '/health/live?x=%00', '/health/live?a%00b=1', '/api/v1/users/bob%00admin']) {
      const t = tag();
      await expectRefusedAndClosed(`GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n${smuggled(t)}`, t, 400, 'bad_request');
    }
    // an escaped percent sign is not a NUL
    const ok = await exchange(url, 'GET /health/live?x=%2500 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.deepEqual(ok.statuses, [200]);
  });

  test('a chunked body is cut off with 413 as soon as it passes --body-limit', async () => {
    // One chunk declaring 2^64-1 bytes: read for ever unless the limit stops it. The client
    // keeps sending; the server answers and closes without waiting for the end.
    const t = tag();
    const r = await exchange(url, `POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n${'a'.repeat(5000)}`,
      { keepWriting: { bytes: 'a'.repeat(1000), everyMs: 50 } });
    assert.deepEqual(r.statuses, [413]);
    assert.equal(r.closed, true);
    const body = bodyOf(r.out);
    assert.equal(body.error.code, 'body_too_large');
    assert.equal(body.error.details.limit_bytes, '4096');
    // many small chunks: the same
    const small = Array.from({ length: 60 }, () => `64\r\n${'b'.repeat(100)}\r\n`).join('');
    const r2 = await exchange(url, `POST /api/v1/nothing-here HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${small}0\r\n\r\n${smuggled(t)}`);
    assert.deepEqual(r2.statuses, [413]);
    assert.equal(r2.closed, true);
    assert.equal(ran(t), false);
  });

  test('a pipelined pair of valid requests is answered in order', async () => {
    const r = await exchange(url, 'GET /health/live HTTP/1.1\r\nHost: x\r\nX-Request-Id: pipe-1\r\n\r\n' +
      'GET /api/v1/nope HTTP/1.1\r\nHost: x\r\nX-Request-Id: pipe-2\r\nConnection: close\r\n\r\n');
    assert.deepEqual(r.statuses, [200, 404]);
    assert.ok(r.out.indexOf('pipe-1') < r.out.indexOf('pipe-2'));
    assert.equal(r.closed, true);
  });

  test('/metrics counts refused framing and bodies cut at the limit', async () => {
    const m = await metrics(url);
    assert.match(m, /^streamhub_http_connections_cut_total\{reason="bad_framing"\} [1-9]/m);
    assert.match(m, /^streamhub_http_connections_cut_total\{reason="body_limit_mid_body"\} [1-9]/m);
  });
});

describe('client address behind proxies', () => {
  let server, url;
  before(async () => {
    server = await startServer({ args: ['--trust-proxy', '--rate-limit', '1', '--rate-burst', '3'] });
    url = directUrl(server);
  });

  /** The address the access log recorded for a request sent with these X-Forwarded-For lines. */
  async function loggedIp(xffLines) {
    const id = `xff-${tag()}`;
    const lines = xffLines.map((v) => `X-Forwarded-For: ${v}\r\n`).join('');
    const r = await exchange(url, `GET /health/live HTTP/1.1\r\nHost: x\r\nX-Request-Id: ${id}\r\n${lines}Connection: close\r\n\r\n`);
    assert.equal(r.statuses.length, 1);
    let line;
    for (let i = 0; i < 50 && !line; i++) {
      line = server.stderrText().split('\n').find((l) => l.includes(id));
      if (!line) await new Promise((res) => setTimeout(res, 20));
    }
    return JSON.parse(line).ip;
  }

  test('the rightmost hop that is not a trusted proxy is the client, not the leftmost', async () => {
    assert.equal(await loggedIp(['6.6.6.6, 10.1.2.3']), '10.1.2.3');
    assert.equal(await loggedIp(['6.6.6.6, 10.1.2.3, 127.0.0.1, 127.0.0.2']), '10.1.2.3');
    assert.equal(await loggedIp(['6.6.6.6', '10.9.9.9']), '10.9.9.9'); // one line per proxy
    assert.equal(await loggedIp(['10.4.4.4']), '10.4.4.4');
    assert.equal(await loggedIp(['2001:db8::1, ::1']), '2001:db8::1');
    assert.equal(await loggedIp(['127.0.0.1, ::1']), '127.0.0.1'); // all trusted: the leftmost
    // garbage stops the walk at the last hop a trusted proxy vouched for
    assert.equal(await loggedIp(['10.1.1.1, not-an-address']), '127.0.0.1');
    assert.equal(await loggedIp(['10.1.1.1, not-an-address, 10.2.2.2']), '10.2.2.2');
  });

  test('a client cannot dodge the rate limit by writing its own leftmost entries', async () => {
    const statuses = [];
    for (let i = 0; i < 8; i++) {
      const forged = `203.0.113.${i + 1}`;
      const r = await exchange(url, `GET /api/v1/auth/me HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: ${forged}, 10.77.0.1\r\nConnection: close\r\n\r\n`);
      statuses.push(r.statuses[0]);
    }
    assert.ok(statuses.includes(429), `one bucket for 10.77.0.1: ${statuses}`);
  });

  test('X-Forwarded-For from a peer that is not a trusted proxy is ignored', async () => {
    const s = await startServer({ args: ['--trust-proxy', '--trusted-proxies', '10.0.0.0/8, fd00::/8', '--rate-limit', '0'] });
    const id = `xff-${tag()}`;
    await exchange(directUrl(s), `GET /health/live HTTP/1.1\r\nHost: x\r\nX-Request-Id: ${id}\r\nX-Forwarded-For: 10.5.5.5\r\nConnection: close\r\n\r\n`);
    let line;
    for (let i = 0; i < 50 && !line; i++) {
      line = s.stderrText().split('\n').find((l) => l.includes(id));
      if (!line) await new Promise((res) => setTimeout(res, 20));
    }
    assert.equal(JSON.parse(line).ip, '127.0.0.1');
    await s.stop();
  });

  test('a bad --trusted-proxies entry stops the server at start with the entry named', async () => {
    for (const bad of ['10.0.0.1/8', '300.1.1.1', '::1/129', 'localhost']) {
      await assert.rejects(startServer({ args: ['--trust-proxy', '--trusted-proxies', `127.0.0.1, ${bad}`] }),
        (e) => e.message.includes('--trusted-proxies') && e.message.includes(bad));
    }
  });
});

describe('slow clients and the per-address cap', () => {
  const CAP = 4;
  let url;
  before(async () => {
    url = directUrl(await startServer({ args: ['--rate-limit', '0', '--header-timeout', '1', '--min-body-rate', '1000',
      '--per-ip-connections', String(CAP)] }));
  });

  test('a trickled header block is closed after --header-timeout; others are served meanwhile', async () => {
    const trickle = exchange(url, 'G', { keepWriting: { bytes: 'E', everyMs: 200 } });
    await new Promise((r) => setTimeout(r, 300));
    const normal = await exchange(url, 'GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.deepEqual(normal.statuses, [200]);
    const r = await trickle;
    assert.equal(r.closed, true, 'the trickling connection was closed');
    assert.deepEqual(r.statuses, []);
  });

  test('a body slower than --min-body-rate is cut off with 408', async () => {
    const r = await exchange(url, 'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{',
      { keepWriting: { bytes: ' ', everyMs: 100 } });
    assert.deepEqual(r.statuses, [408]);
    assert.equal(r.closed, true);
    const body = bodyOf(r.out);
    assert.equal(body.error.code, 'body_too_slow');
    assert.match(body.error.message, /1000 bytes\/second/);
  });

  test('a steady body above the rate is not cut', async () => {
    // ~20 KB/s for about two seconds, past the grace: the login fails, but not with 408
    const payload = `{"login":"nobody@example.test","password":"${'p'.repeat(40000)}"}`;
    const { hostname, port } = new URL(url);
    const out = await new Promise((resolve) => {
      const sock = net.connect(Number(port), hostname);
      let data = '';
      sock.on('data', (d) => { data += d; });
      sock.on('close', () => resolve(data));
      sock.on('error', () => resolve(data));
      sock.on('connect', async () => {
        sock.write(`POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${payload.length}\r\n\r\n`);
        for (let off = 0; off < payload.length; off += 2000) {
          sock.write(payload.slice(off, off + 2000));
          await new Promise((r) => setTimeout(r, 100));
        }
      });
    });
    assert.equal(statusesOf(out).length, 1);
    assert.notEqual(statusesOf(out)[0], 408);
  });

  test('the connection past --per-ip-connections from one address is refused; a freed slot is reused', async () => {
    const { hostname, port } = new URL(url);
    // CAP keep-alive connections, each served once, so each is surely open and counted
    const held = [];
    for (let i = 0; i < CAP; i++) {
      held.push(await new Promise((resolve, reject) => {
        const sock = net.connect(Number(port), hostname, () => sock.write('GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n'));
        sock.once('data', (d) => (String(d).startsWith('HTTP/1.1 200') ? resolve(sock) : reject(new Error(String(d)))));
        sock.on('error', reject);
      }));
    }
    const extra = await exchange(url, 'GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.deepEqual(extra.statuses, [], 'no answer past the cap');
    assert.equal(extra.closed, true);
    held.pop().destroy();
    // the slot is given back when the server has cleaned the closed connection up
    let served = null;
    for (let i = 0; i < 50 && !served?.statuses.length; i++) {
      served = await exchange(url, 'GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      if (!served.statuses.length) await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(served.statuses, [200]);
    for (const s of held) s.destroy();
  });

  test('/metrics counts header timeouts, slow bodies and refused connections', async () => {
    const m = await metrics(url);
    for (const reason of ['header_timeout', 'min_body_rate', 'per_ip_connections'])
      assert.match(m, new RegExp(`^streamhub_http_connections_cut_total\\{reason="${reason}"\\} [1-9]`, 'm'));
  });

  test('upgraded WebSockets do not hold HTTP slots (the hub caps them apart)', async () => {
    const sockets = [];
    for (let i = 0; i < CAP; i++) {
      // a handshake holds an HTTP slot until the 101 is out; its socket is handed over just after
      let h = null;
      for (let k = 0; k < 50 && h?.status !== 101; k++) h = await handshake(url).catch(() => null);
      assert.equal(h?.status, 101);
      sockets.push(h.ws);
    }
    const { hostname, port } = new URL(url);
    const held = [];
    for (let i = 0; i < CAP; i++) {
      let sock = null;
      for (let k = 0; k < 50 && !sock; k++) {
        sock = await new Promise((resolve) => {
          const s = net.connect(Number(port), hostname, () => s.write('GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n'));
          s.once('data', (d) => resolve(String(d).startsWith('HTTP/1.1 200') ? s : null));
          s.on('error', () => resolve(null));
          s.on('close', () => resolve(null));
        });
        if (!sock) await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(sock, `HTTP connection ${i + 1} of ${CAP} served with ${CAP} WebSockets open`);
      held.push(sock);
    }
    for (const s of held) s.destroy();
    for (const ws of sockets) ws.sock.destroy();
  });
});
