// SPDX-License-Identifier: MIT
// Several `streamhub serve` nodes (distinct --node-id, job runners off) on one PostgreSQL and one
// Redis behave like one for realtime events: a DM sent through node A arrives on a socket held by
// node C; a like on node B notifies the author's socket on node A; a follow on A reaches an event
// stream on B; a `streamhub worker` process's media.progress reaches the owner's socket. With
// Redis stopped the nodes still answer HTTP and report a degraded readiness; once it is back,
// sockets and streams get "resync", catch up with the existing sync command, and live delivery
// resumes. Presence, typing, rooms (messages, member counts), feed cache invalidations and login
// limits are cluster-wide. Needs STREAMHUB_TEST_PG and STREAMHUB_TEST_REDIS (the "cluster" suite of
// tests/run-all.sh starts both); the outage cases start a redis-server of their own, which they
// stop and start again.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { startServer, stopAll, createPgDatabase } from './lib/harness.mjs';
import { BIN, client, register } from './lib/accounts.mjs';
import { openEvents } from './lib/sse.mjs';

const skip = !process.env.STREAMHUB_TEST_REDIS ? 'needs STREAMHUB_TEST_REDIS (tests/run-all.sh cluster suite)'
  : !process.env.STREAMHUB_TEST_PG ? 'needs STREAMHUB_TEST_PG (the nodes share one PostgreSQL)' : false;
if (skip) console.log(`# cluster-bus: skipped, ${skip}`);

const SECRET = randomBytes(24).toString('hex'); // every node signs and checks the same tokens
const ARGS = ['--trust-proxy', '--rate-limit', '0', '--auth-rate-limit', '5', '--job-workers', '0',
  '--jwt-secret', SECRET, '--sse-heartbeat', '1', '--presence-grace', '1', '--room-members-interval', '1',
  '--feed-cache-ttl', '3600']; // a stale cached home feed would stay stale for the whole test
const tok = (u) => u.tokens.access_token;
const ok = (r, status = 200) => { assert.equal(r.status, status, r.text); return r.json; };
const T = { timeout: 60000 }; // a wait that never ends fails here instead of hanging
const RESYNC = { type: 'resync', data: { reason: 'bus_reconnected' } };

function startNode(database, redisUrl, nodeId, dataDir) {
  return startServer({ database, dataDir, args: [...ARGS, '--redis', redisUrl, '--node-id', String(nodeId)] });
}

let seq = 0;
/** A socket on one node with an inbox (the same shape as chat-ws.test.mjs's). */
async function connect(node, user) {
  const ws = new WebSocket(node.url.replace(/^http/, 'ws') + '/api/v1/ws', { headers: { authorization: `Bearer ${tok(user)}` } });
  const events = [];
  const waiters = [];
  ws.on('message', (raw) => {
    const m = JSON.parse(raw.toString());
    events.push(m);
    for (const w of [...waiters]) if (w.pred(m)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(m); }
  });
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  const s = {
    events,
    /** The first event (seen or future) matching pred; the test's timeout bounds the wait. */
    next(pred) {
      const found = events.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve) => waiters.push({ pred, resolve }));
    },
    of(type, pred = () => true) { return s.next((m) => m.type === type && pred(m.data)).then((m) => m.data); },
    async ack(type, data = {}) {
      const id = `c${++seq}`;
      const reply = s.next((m) => (m.type === 'ack' || m.type === 'error') && m.id === id);
      ws.send(JSON.stringify({ type, id, data }));
      const r = await reply;
      assert.equal(r.type, 'ack', JSON.stringify(r));
      return r.data;
    },
    close() { return new Promise((r) => { if (ws.readyState === WebSocket.CLOSED) r(); else { ws.once('close', r); ws.close(); } }); },
  };
  await s.next((m) => m.type === 'ready');
  return s;
}

/** An SSE stream (GET /api/v1/events) on one node, once its "ready" is in. */
const sse = (node, user) => openEvents(node.url, tok(user));

const freePort = () => new Promise((resolve) => {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
});

/** A redis-server of this file's own, which it can stop and start again on the same port. */
async function ownRedis() {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'sh-redis-'));
  const r = {
    url: `redis://127.0.0.1:${port}`,
    proc: null,
    async start() {
      r.proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
      for (;;) {
        try { execFileSync('redis-cli', ['-p', String(port), 'ping'], { stdio: 'pipe' }); return; } catch { await new Promise((ok2) => setTimeout(ok2, 50)); }
      }
    },
    async stop() {
      if (!r.proc) return;
      const exited = new Promise((ok2) => r.proc.once('exit', ok2));
      r.proc.kill('SIGKILL');
      await exited;
      r.proc = null;
    },
  };
  await r.start();
  return r;
}

async function until(pred) {
  for (;;) {
    const v = await pred();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('three nodes on one PostgreSQL and one Redis', { skip }, () => {
  let a, b, cNode, database;
  before(async () => {
    database = createPgDatabase();
    const dataA = mkdtempSync(path.join(tmpdir(), 'sh-node-a-'));
    a = await startNode(database, process.env.STREAMHUB_TEST_REDIS, 1, dataA);
    b = await startNode(database, process.env.STREAMHUB_TEST_REDIS, 2);
    cNode = await startNode(database, process.env.STREAMHUB_TEST_REDIS, 3);
  });
  after(stopAll);

  test('readiness and metrics name the bus', T, async () => {
    const r = await client(a.url).get('/health/ready');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { status: 'ready', database: 'up', bus: 'up' });
    const m = await client(b.url).get('/metrics');
    assert.match(m.text, /^streamhub_bus_connected\{backend="redis"\} 1$/m);
  });

  test('a DM sent through node A arrives on a socket held by node C', T, async () => {
    const x = await register(a.url), y = await register(a.url);
    const conv = ok(await client(a.url).post('/api/v1/conversations', { token: tok(x), json: { kind: 'direct', member_ids: [y.user.id] } }), 201);
    const sy = await connect(cNode, y);
    const sent = ok(await client(a.url).post(`/api/v1/conversations/${conv.id}/messages`, { token: tok(x), json: { text: 'across nodes' } }), 201);
    const got = await sy.of('message.new', (m) => m.id === sent.id);
    assert.equal(got.text, 'across nodes');
    // and back: sent over C's socket, received on a socket of node B (the sender's other device
    // is on A: both hear it exactly once)
    const sx = await connect(b, x);
    const sx2 = await connect(a, x);
    const reply = await sy.ack('message.send', { conversation_id: conv.id, text: 'reply', client_id: 'r1' });
    await sx.of('message.new', (m) => m.id === reply.message.id);
    await sx2.of('message.new', (m) => m.id === reply.message.id);
    const marker = ok(await client(b.url).post(`/api/v1/conversations/${conv.id}/messages`, { token: tok(y), json: { text: 'marker' } }), 201);
    await sx2.of('message.new', (m) => m.id === marker.id);
    assert.equal(sx2.events.filter((e) => e.type === 'message.new' && e.data.id === reply.message.id).length, 1, 'no double delivery');
    // typing crosses too
    await sy.ack('typing', { conversation_id: conv.id });
    const typing = await sx.of('typing', (d) => d.conversation_id === conv.id);
    assert.equal(typing.user_id, y.user.id);
    await Promise.all([sx.close(), sx2.close(), sy.close()]);
  });

  test('a like on node B notifies the author\'s socket on node A', T, async () => {
    const author = await register(a.url), fan = await register(b.url);
    const post = ok(await client(a.url).post('/api/v1/posts', { token: tok(author), json: { caption: 'cross-node' } }), 201);
    const s = await connect(a, author);
    const liked = await client(b.url).post(`/api/v1/posts/${post.id}/reactions`, { token: tok(fan) });
    assert.ok(liked.status === 200 || liked.status === 201, liked.text);
    const n = await s.of('notification', (d) => d.actor.handle === fan.creds.handle);
    assert.equal(n.type, 'like');
    await s.close();
  });

  test('a follow on node A reaches an event stream on node B', T, async () => {
    const star = await register(b.url), follower = await register(a.url);
    const s = await sse(b, star);
    ok(await client(a.url).post(`/api/v1/users/${star.creds.handle}/follow`, { token: tok(follower) }), 200);
    const n = await s.next('notification', (d) => d.actor.handle === follower.creds.handle);
    assert.equal(n.data.type, 'follow');
    s.close();
  });

  test('presence is cluster-wide: a user online on two nodes stays online until the last node lets go', T, async () => {
    const x = await register(a.url), viewer = await register(cNode.url);
    const follow = (who, whom, node) => client(node.url).post(`/api/v1/users/${whom.creds.handle}/follow`, { token: tok(who) });
    ok(await follow(x, viewer, a));
    ok(await follow(viewer, x, b));
    const sv = await connect(cNode, viewer);
    await sv.ack('presence.subscribe', { user_ids: [x.user.id] });
    const seen = () => sv.events.filter((e) => e.type === 'presence' && e.data.user_id === x.user.id).map((e) => e.data.status);
    const onA = await connect(a, x);
    await sv.of('presence', (d) => d.user_id === x.user.id && d.status === 'online');
    const onB = await connect(b, x);
    await onA.close();
    // node A's grace period (1 s) runs out while node B still holds x: no "offline" (with the
    // per-node presence of before, A published one here)
    await new Promise((r) => setTimeout(r, 3000));
    assert.deepEqual(seen(), ['online']);
    await onB.close();
    await sv.of('presence', (d) => d.user_id === x.user.id && d.status === 'offline');
    assert.deepEqual(seen(), ['online', 'offline']);
    await sv.close();
  });

  test('a room spans nodes: messages and the member count are the cluster\'s', T, async () => {
    const x = await register(a.url), y = await register(b.url), z = await register(cNode.url);
    const room = `cluster-${randomBytes(4).toString('hex')}`;
    const sx = await connect(a, x), sy = await connect(b, y);
    assert.equal((await sx.ack('room.join', { room })).members, 1);
    assert.equal((await sy.ack('room.join', { room })).members, 2, 'counted across nodes at join');
    await sx.of('room.members', (d) => d.room === room && d.count === 2); // pushed by node B's tick
    const sent = await sy.ack('room.send', { room, text: 'hello from B' });
    const got = await sx.of('room.message', (d) => d.id === sent.id);
    assert.equal(got.text, 'hello from B');
    const g = await client(cNode.url).get(`/api/v1/rooms/${room}`, { token: tok(z) }); // a node with no member
    assert.equal(g.status, 200, g.text);
    assert.equal(g.json.members, 2);
    const from = sx.events.length;
    await sy.close(); // node B's last member goes: node A's member hears the new count
    await sx.next((m) => m.type === 'room.members' && m.data.room === room && m.data.count === 1 && sx.events.indexOf(m) >= from);
    await sx.close();
  });

  test('login attempts are limited across the cluster: per address and per account', T, async () => {
    const victim = await register(a.url);
    const ip = `10.250.${randomBytes(1)[0]}.${randomBytes(1)[0]}`;
    const nodes = [a, b, cNode];
    const attempt = (node, from, login) => client(node.url, from).post('/api/v1/auth/login', { json: { login, password: 'wrong-password-1' } });
    // five wrong passwords from one address, spread over the three nodes
    for (let i = 0; i < 5; i++) assert.equal((await attempt(nodes[i % 3], ip, victim.creds.email)).status, 401);
    const limited = await attempt(cNode, ip, `nobody_${randomBytes(4).toString('hex')}@example.test`);
    assert.equal(limited.status, 429, 'the address spent its attempts on other nodes');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    // and the account, from fresh addresses: five wrong ones went to it already
    const again = await attempt(b, `10.251.${randomBytes(1)[0]}.${randomBytes(1)[0]}`, victim.creds.email);
    assert.equal(again.status, 429, 'the account spent its attempts on other nodes');
  });

  test('feed caches hear other nodes: a post or a delete on node A shows in a home feed cached on node B', T, async () => {
    const author = await register(a.url), viewer = await register(b.url);
    ok(await client(b.url).post(`/api/v1/users/${author.creds.handle}/follow`, { token: tok(viewer) }));
    const first = ok(await client(a.url).post('/api/v1/posts', { token: tok(author), json: { caption: 'first' } }), 201);
    const home = async () => ok(await client(b.url).get('/api/v1/feed/home', { token: tok(viewer) })).items.map((p) => p.id);
    assert.deepEqual(await home(), [first.id]); // now cached on node B
    const second = ok(await client(a.url).post('/api/v1/posts', { token: tok(author), json: { caption: 'second' } }), 201);
    await until(async () => (await home())[0] === second.id);
    assert.equal((await client(a.url).del(`/api/v1/posts/${second.id}`, { token: tok(author) })).status, 204);
    await until(async () => !(await home()).includes(second.id));
    assert.deepEqual(await home(), [first.id]);
  });

  test('a streamhub worker process\'s media.progress reaches the owner\'s socket on an API node', { timeout: 120000 }, async () => {
    const owner = await register(a.url);
    const s = await connect(b, owner); // a socket on a node that runs no jobs
    const work = mkdtempSync(path.join(tmpdir(), 'sh-cluster-media-'));
    const video = path.join(work, 'tiny.mp4');
    execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=15', '-t', '1',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', video]);
    // the media lands in node A's data dir (the worker shares it: one machine, no object store yet)
    const out = execFileSync(BIN, ['admin', 'import-media', '--owner', owner.creds.handle, '--file', video,
      '--data-dir', a.dataDir, '--database', database], { encoding: 'utf8' });
    const mediaId = /imported media (\d+)/.exec(out)[1];
    const worker = spawn(BIN, ['worker', '--data-dir', a.dataDir, '--database', database, '--redis',
      process.env.STREAMHUB_TEST_REDIS, '--node-id', '9', '--jwt-secret', SECRET, '--job-workers', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    worker.stderr.on('data', (d) => { stderr += d; });
    try {
      const ready = await s.of('media.progress', (d) => d.media_id === mediaId && (d.state === 'ready' || d.state === 'failed'));
      assert.equal(ready.state, 'ready', stderr.slice(-2000));
      assert.ok(s.events.some((e) => e.type === 'media.progress' && e.data.media_id === mediaId && e.data.state === 'processing'),
        'progress while processing, not only the end');
    } finally {
      const exited = new Promise((r) => worker.once('exit', r));
      worker.kill('SIGTERM');
      assert.equal(await exited, 0, stderr.slice(-2000));
      await s.close();
    }
  });
});

describe('Redis down and back', { skip }, () => {
  let redis, a, b;
  before(async () => {
    redis = await ownRedis();
    const database = createPgDatabase();
    a = await startNode(database, redis.url, 11);
    b = await startNode(database, redis.url, 12);
  });
  after(async () => { await stopAll(); if (redis) await redis.stop(); });

  test('nodes keep serving HTTP, readiness says degraded; after the restart sockets re-sync and delivery resumes', T, async () => {
    const x = await register(a.url), y = await register(b.url);
    const conv = ok(await client(a.url).post('/api/v1/conversations', { token: tok(x), json: { kind: 'direct', member_ids: [y.user.id] } }), 201);
    const sy = await connect(b, y);
    const streamY = await sse(b, y);
    const first = ok(await client(a.url).post(`/api/v1/conversations/${conv.id}/messages`, { token: tok(x), json: { text: 'before' } }), 201);
    await sy.of('message.new', (m) => m.id === first.id);

    await redis.stop();
    const ready = await until(async () => { const r = await client(a.url).get('/health/ready'); return r.json.bus === 'down' && r; });
    assert.equal(ready.status, 200, 'degraded, not unready: HTTP still works');
    assert.deepEqual(ready.json, { status: 'degraded', database: 'up', bus: 'down' });
    // HTTP keeps working: the write is persisted and acknowledged, only its live delivery waits
    const missed = ok(await client(a.url).post(`/api/v1/conversations/${conv.id}/messages`, { token: tok(x), json: { text: 'while down' } }), 201);
    ok(await client(b.url).get('/api/v1/auth/me', { token: tok(y) }));
    const m = await client(a.url).get('/metrics');
    assert.match(m.text, /^streamhub_bus_connected\{backend="redis"\} 0$/m);
    assert.ok(Number(/^streamhub_bus_publish_failures_total (\d+)$/m.exec(m.text)[1]) >= 1, 'the dropped publish is counted');

    await redis.start();
    assert.deepEqual(await sy.next((e) => e.type === 'resync'), RESYNC);
    assert.deepEqual((await streamY.next('resync')).data, RESYNC.data);
    await until(async () => (await client(a.url).get('/health/ready')).json.bus === 'up');
    // the client's catch-up after "resync": the existing sync command returns what it missed
    const caught = await sy.ack('message.sync', { after: first.id });
    assert.deepEqual(caught.messages.map((msg) => msg.id), [missed.id]);
    assert.ok(!sy.events.some((e) => e.type === 'message.new' && e.data.id === missed.id), 'the dropped publish was not delivered late');
    // live delivery resumes across nodes, both ways
    const after1 = ok(await client(a.url).post(`/api/v1/conversations/${conv.id}/messages`, { token: tok(x), json: { text: 'after' } }), 201);
    await sy.of('message.new', (msg) => msg.id === after1.id);
    const sx = await connect(a, x);
    const back = await sy.ack('message.send', { conversation_id: conv.id, text: 'back', client_id: 'b1' });
    await sx.of('message.new', (msg) => msg.id === back.message.id);
    const m2 = await client(b.url).get('/metrics');
    assert.ok(Number(/^streamhub_bus_reconnects_total (\d+)$/m.exec(m2.text)[1]) >= 1);
    streamY.close();
    await Promise.all([sx.close(), sy.close()]);
  });
});
