// SPDX-License-Identifier: MIT
// Live notifications over Server-Sent Events (GET /api/v1/events): another user's action pushes
// the same notification the list shows, plus the unread count; 401s come as JSON before any
// stream; muted and blocked actors push nothing; every stream of a user receives; keepalive
// comments flow; an expired token ends the stream with a last event. (That a rolled-back
// action pushes nothing is a unit test: tests/unit/test_live.c.)
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, stopAll, metricSum } from './lib/harness.mjs';
import { client, register, expectError } from './lib/accounts.mjs';

const ARGS = ['--trust-proxy', '--rate-limit', '0', '--auth-rate-limit', '0', '--sse-heartbeat', '1'];
let url, server;
before(async () => { server = await startServer({ args: ARGS }); url = server.url; });
after(stopAll);
const c = () => client(url);
const tok = (u) => u.tokens.access_token;

/** Opens an SSE stream with a raw HTTP client; resolves once the headers are in. */
function sse(base, { token, query } = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL('/api/v1/events' + (query ? `?access_token=${encodeURIComponent(query)}` : ''), base);
    const headers = { accept: 'text/event-stream' };
    if (token) headers.authorization = `Bearer ${token}`;
    const req = http.get(u, { headers }, (res) => {
      const s = { status: res.statusCode, headers: res.headers, events: [], comments: [], raw: '', ended: false, waiters: [] };
      const check = () => { s.waiters = s.waiters.filter((w) => !w()); };
      let pending = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        s.raw += chunk;
        pending += chunk;
        let i;
        while ((i = pending.indexOf('\n\n')) >= 0) {
          const block = pending.slice(0, i);
          pending = pending.slice(i + 2);
          const ev = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) { s.comments.push(line); continue; }
            const k = line.slice(0, line.indexOf(':'));
            const v = line.slice(line.indexOf(':') + 1).replace(/^ /, '');
            ev[k] = v;
          }
          if (ev.event) { ev.data = JSON.parse(ev.data); s.events.push(ev); }
        }
        check();
      });
      res.on('end', () => { s.ended = true; check(); });
      res.on('error', () => { s.ended = true; check(); });
      /** Waits until pred(s) holds (the test's own timeout bounds it). */
      s.until = (pred) => new Promise((ok) => { const w = () => (pred(s) ? (ok(), true) : false); if (!w()) s.waiters.push(w); });
      s.next = (type, from = 0) => s.until((x) => x.events.slice(from).some((e) => e.event === type))
        .then(() => s.events.slice(from).find((e) => e.event === type));
      s.close = () => req.destroy();
      if (res.statusCode !== 200) {
        let body = '';
        res.on('data', (d) => { body += d; });
        res.on('end', () => resolve({ ...s, body, json: body ? JSON.parse(body) : null }));
        return;
      }
      resolve(s);
    });
    req.on('error', reject);
  });
}

describe('SSE', () => {
  test('401 JSON errors before any stream', async () => {
    const none = await sse(url);
    assert.equal(none.status, 401);
    assert.match(none.headers['content-type'], /^application\/json/);
    expectError({ status: none.status, json: none.json }, 401);
    const bad = await sse(url, { query: 'not.a.token' });
    assert.equal(bad.status, 401);
    assert.equal(bad.json.error.code.length > 0, true);
    const badHeader = await c().get('/api/v1/events', { token: 'nope' });
    expectError(badHeader, 401);
  });

  test('a follow by another user arrives as the listed notification, then the unread count', async () => {
    const a = await register(url);
    const b = await register(url);
    const s = await sse(url, { token: tok(a) });
    assert.equal(s.status, 200);
    assert.match(s.headers['content-type'], /^text\/event-stream/);
    assert.equal(s.headers['cache-control'], 'no-store');
    const ready = await s.next('ready');
    assert.equal(ready.data.user_id, a.user.id);
    assert.equal((await c().post(`/api/v1/users/${a.creds.handle}/follow`, { token: tok(b) })).status, 200);
    const n = await s.next('notification');
    assert.equal(n.data.type, 'follow');
    assert.equal(n.data.actor.handle, b.creds.handle);
    assert.equal(n.data.text, `${b.creds.handle} started following you`);
    assert.equal(n.data.read, false);
    const listed = (await c().get('/api/v1/notifications', { token: tok(a) })).json.items[0];
    assert.deepEqual(n.data, listed, 'the live event is the list item');
    const unread = await s.next('notifications.unread');
    assert.deepEqual(unread.data, { count: 1 });
    const ids = s.events.map((e) => Number(e.id));
    assert.deepEqual(ids, [...ids].sort((x, y) => x - y), 'ids increase');
    assert.equal(new Set(ids).size, ids.length);
    s.close();
  });

  test('?access_token= for EventSource; a like on a post', async () => {
    const a = await register(url);
    const b = await register(url);
    const s = await sse(url, { query: tok(a) });
    assert.equal(s.status, 200);
    await s.next('ready');
    const p = (await c().post('/api/v1/posts', { token: tok(a), json: { caption: 'live' } })).json;
    assert.equal((await c().post(`/api/v1/posts/${p.id}/reactions`, { token: tok(b) })).status < 300, true);
    const n = await s.next('notification');
    assert.equal(n.data.type, 'like');
    assert.equal(n.data.post_id, p.id);
    s.close();
  });

  test('muted and blocked actors push nothing; the next real notification is the first event', async () => {
    const a = await register(url);
    const muted = await register(url);
    const blocked = await register(url);
    const friend = await register(url);
    assert.equal((await c().post(`/api/v1/users/${muted.creds.handle}/mute`, { token: tok(a) })).status < 300, true);
    const s = await sse(url, { token: tok(a) });
    await s.next('ready');
    assert.equal((await c().post(`/api/v1/users/${muted.creds.handle}/follow`, { token: tok(a) })).status, 200);
    assert.equal((await c().post(`/api/v1/users/${a.creds.handle}/follow`, { token: tok(muted) })).status, 200);
    const p = (await c().post('/api/v1/posts', { token: tok(a), json: { caption: 'x' } })).json;
    await c().post(`/api/v1/posts/${p.id}/reactions`, { token: tok(blocked) });
    assert.equal((await c().post(`/api/v1/users/${blocked.creds.handle}/block`, { token: tok(a) })).status < 300, true);
    // blocked now: cannot follow, and a comment attempt would not be visible either
    await c().post(`/api/v1/users/${a.creds.handle}/follow`, { token: tok(blocked) });
    await c().post(`/api/v1/posts/${p.id}/comments`, { token: tok(blocked), json: { body: 'hi' } });
    const before = s.events.filter((e) => e.event === 'notification').length;
    assert.equal((await c().post(`/api/v1/users/${a.creds.handle}/follow`, { token: tok(friend) })).status, 200);
    await s.until((x) => x.events.some((e) => e.event === 'notification' && e.data.actor.handle === friend.creds.handle));
    const notes = s.events.filter((e) => e.event === 'notification');
    // the like by `blocked` came before the block and is legitimately pushed; nothing after it
    // from blocked, nothing ever from muted
    assert.ok(notes.every((e) => e.data.actor.handle !== muted.creds.handle), 'muted actor pushed');
    assert.ok(notes.slice(before).every((e) => e.data.actor.handle === friend.creds.handle), JSON.stringify(notes));
    s.close();
  });

  test('every open stream of a user receives; keepalive comments flow', async () => {
    const a = await register(url);
    const b = await register(url);
    const s1 = await sse(url, { token: tok(a) });
    const s2 = await sse(url, { query: tok(a) });
    await Promise.all([s1.next('ready'), s2.next('ready')]);
    await c().post(`/api/v1/users/${a.creds.handle}/follow`, { token: tok(b) });
    const [n1, n2] = await Promise.all([s1.next('notification'), s2.next('notification')]);
    assert.deepEqual(n1.data, n2.data);
    assert.ok(await metricSum(server, 'streamhub_sse_streams') >= 2, 'streams are counted');
    await s1.until((x) => x.comments.includes(': keepalive'));
    s1.close();
    s2.close();
  });

  test('media processing progress reaches the owner, and nobody else', async () => {
    const a = await register(url);
    const b = await register(url);
    const sa = await sse(url, { token: tok(a) });
    const sb = await sse(url, { token: tok(b) });
    await Promise.all([sa.next('ready'), sb.next('ready')]);
    const img = path.join(mkdtempSync(path.join(tmpdir(), 'sh-live-')), 'i.jpg');
    execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240', '-frames:v', '1', img]);
    const r = await fetch(`${url}/api/v1/media?filename=i.jpg`, { method: 'POST', body: readFileSync(img), headers: { Authorization: `Bearer ${tok(a)}`, 'Content-Type': 'image/jpeg' } });
    assert.equal(r.status, 201);
    const m = await r.json();
    await sa.until((x) => x.events.some((e) => e.event === 'media.progress' && e.data.state === 'ready'));
    const ready = sa.events.find((e) => e.event === 'media.progress' && e.data.state === 'ready');
    assert.deepEqual(ready.data, { media_id: m.id, state: 'ready', progress: 100 });
    // b's stream saw its ready event and nothing of a's media
    await c().post(`/api/v1/users/${b.creds.handle}/follow`, { token: tok(a) });
    await sb.next('notification');
    assert.ok(!sb.events.some((e) => e.event === 'media.progress'));
    sa.close();
    sb.close();
  });

  test('an expired access token ends the stream after a token.expired event', async () => {
    const s2 = await startServer({ args: [...ARGS, '--access-ttl', '2'] });
    const a = await register(s2.url);
    const s = await sse(s2.url, { token: tok(a) });
    assert.equal(s.status, 200);
    await s.next('ready');
    await s.next('token.expired');
    await s.until((x) => x.ended);
    assert.equal(s.events.at(-1).event, 'token.expired');
    // and the same token is now refused up front
    const again = await sse(s2.url, { token: tok(a) });
    assert.equal(again.status, 401);
  });
});
