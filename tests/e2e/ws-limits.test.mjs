// SPDX-License-Identifier: MIT
// Per-user limits of the realtime side (docs/realtime.md#limits), with the npm `ws` client and
// budgets set low by flags: messages (socket and REST share one budget), typing, room joins and
// other commands answer `rate_limited` with the request's id and details.retry_after_ms, and the
// refused command changes nothing; one user's sockets share a budget while other users keep
// theirs; room caps per socket and per user (`too_many_rooms`); SSE streams per user
// (`too_many_streams`).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import WebSocket from 'ws';
import { startServer, stopAll, directUrl } from './lib/harness.mjs';
import { client, register, expectError } from './lib/accounts.mjs';

const MESSAGES = 3, TYPING = 2, JOINS = 6, COMMANDS = 5, PER_SOCKET = 2, PER_USER = 3, STREAMS = 2;
const ARGS = ['--trust-proxy', '--rate-limit', '0', '--auth-rate-limit', '0', '--sse-heartbeat', '1',
  '--ws-message-rate', String(MESSAGES), '--ws-typing-rate', String(TYPING),
  '--ws-room-join-rate', String(JOINS), '--ws-command-rate', String(COMMANDS),
  '--ws-rooms-per-socket', String(PER_SOCKET), '--ws-rooms-per-user', String(PER_USER),
  '--sse-streams-per-user', String(STREAMS)];
let url;
// The budgets and caps are each node's own (docs/realtime.md#limits): in cluster mode every
// socket, stream and request goes to one node directly, not through nginx, which would spread a
// user's sockets over nodes with a budget each.
before(async () => { url = directUrl(await startServer({ args: ARGS })); });
after(stopAll);
const c = () => client(url);
const tok = (u) => u.tokens.access_token;
const ok = (r, status = 200) => { assert.equal(r.status, status, r.text); return r.json; };

let seq = 0;
/** A socket whose call() sends a request and resolves with its reply (ack or error). */
async function connect(user) {
  const ws = new WebSocket(url.replace(/^http/, 'ws') + '/api/v1/ws', { headers: { authorization: `Bearer ${tok(user)}` } });
  const pending = new Map();
  ws.on('message', (raw) => {
    const m = JSON.parse(raw.toString());
    if (m.id && pending.has(m.id)) { pending.get(m.id)(m); pending.delete(m.id); }
  });
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  return {
    call(type, data = {}) {
      const id = `q${++seq}`;
      return new Promise((resolve) => { pending.set(id, resolve); ws.send(JSON.stringify({ type, id, data })); });
    },
    raw(text) { ws.send(text); },
    close() { return new Promise((r) => { ws.once('close', r); ws.close(); }); },
  };
}

/** Asserts the documented refusal: error, same id, code, details with the wait and the budget. */
function limited(reply, id, budget, limit) {
  assert.equal(reply.type, 'error', JSON.stringify(reply));
  assert.equal(reply.id, id);
  assert.equal(reply.data.code, 'rate_limited');
  assert.match(reply.data.message, new RegExp(`more than ${limit} `));
  const d = reply.data.details;
  assert.equal(d.budget, budget);
  assert.equal(d.limit, limit);
  assert.equal(d.window_seconds, 60);
  assert.ok(Number.isInteger(d.retry_after_ms) && d.retry_after_ms > 0 && d.retry_after_ms <= 60000 / limit, JSON.stringify(d));
}

describe('socket budgets', () => {
  test('messages: socket and REST share one per-user budget; the refused one is not stored', async () => {
    const [a, b] = [await register(url), await register(url)];
    const conv = ok(await c().post('/api/v1/conversations', { token: tok(a), json: { kind: 'direct', member_ids: [b.user.id] } }), 201);
    const s1 = await connect(a), s2 = await connect(a);
    assert.equal((await s1.call('message.send', { conversation_id: conv.id, text: 'one' })).type, 'ack');
    ok(await c().post(`/api/v1/conversations/${conv.id}/messages`, { token: tok(a), json: { text: 'two (rest)' } }), 201);
    assert.equal((await s2.call('message.send', { conversation_id: conv.id, text: 'three' })).type, 'ack');
    // the budget is spent for every socket of the user and for REST
    limited(await s1.call('message.send', { conversation_id: conv.id, text: 'four' }), `q${seq}`, 'messages', MESSAGES);
    limited(await s2.call('message.edit', { conversation_id: conv.id, message_id: '1', text: 'x' }), `q${seq}`, 'messages', MESSAGES);
    const rest = await c().post(`/api/v1/conversations/${conv.id}/messages`, { token: tok(a), json: { text: 'five (rest)' } });
    expectError(rest, 429, 'rate_limited');
    assert.ok(Number(rest.headers.get('retry-after')) >= 1);
    assert.ok(rest.json.error.details.retry_after_ms > 0);
    assert.equal(rest.json.error.details.budget, 'messages');
    const hist = ok(await c().get(`/api/v1/conversations/${conv.id}/messages`, { token: tok(a) }));
    assert.deepEqual(hist.items.map((m) => m.text).sort(), ['one', 'three', 'two (rest)']);
    // another user's budget is untouched
    const sb = await connect(b);
    assert.equal((await sb.call('message.send', { conversation_id: conv.id, text: 'from b' })).type, 'ack');
    // room.send draws from the same budget
    assert.equal((await s1.call('room.join', { room: `lim-${Date.now()}` })).type, 'ack');
    limited(await s1.call('room.send', { room: 'whatever', text: 'hi' }), `q${seq}`, 'messages', MESSAGES);
    await Promise.all([s1.close(), s2.close(), sb.close()]);
  });

  test('typing and other commands have their own budgets; malformed requests are refused first', async () => {
    const [a, b] = [await register(url), await register(url)];
    const conv = ok(await c().post('/api/v1/conversations', { token: tok(a), json: { kind: 'direct', member_ids: [b.user.id] } }), 201);
    const s = await connect(a);
    for (let i = 0; i < TYPING; i++) assert.equal((await s.call('typing', { conversation_id: conv.id })).type, 'ack');
    limited(await s.call('typing', { conversation_id: conv.id }), `q${seq}`, 'typing commands', TYPING);
    // messages are a different budget
    assert.equal((await s.call('message.send', { conversation_id: conv.id, text: 'still fine' })).type, 'ack');
    for (let i = 0; i < COMMANDS; i++) assert.equal((await s.call('ping', { n: i })).type, 'ack');
    limited(await s.call('ping', {}), `q${seq}`, 'socket commands', COMMANDS);
    // a second socket of the same user opens with the budget already spent
    const s2 = await connect(a);
    limited(await s2.call('read', { conversation_id: conv.id, message_id: '1' }), `q${seq}`, 'socket commands', COMMANDS);
    // envelope errors come before (and cost no token): unknown types, bad ids
    const r = await s2.call('no.such.command', {});
    assert.equal(r.data.code, 'unknown_type');
    await Promise.all([s.close(), s2.close()]);
  });
});

describe('room caps', () => {
  test('per socket, per user, then the join budget', async () => {
    const a = await register(url);
    const stamp = Date.now();
    const room = (i) => `cap-${stamp}-${i}`;
    const s1 = await connect(a), s2 = await connect(a);
    assert.equal((await s1.call('room.join', { room: room(1) })).type, 'ack');
    assert.equal((await s1.call('room.join', { room: room(2) })).type, 'ack');
    let r = await s1.call('room.join', { room: room(3) });
    assert.equal(r.type, 'error');
    assert.equal(r.id, `q${seq}`);
    assert.equal(r.data.code, 'too_many_rooms');
    assert.match(r.data.message, new RegExp(`at most ${PER_SOCKET} rooms`));
    assert.deepEqual(r.data.details, { scope: 'socket', limit: PER_SOCKET });
    // the refused room was not joined: nobody holds it
    assert.equal((await s2.call('room.join', { room: room(3) })).data.members, 1);
    r = await s2.call('room.join', { room: room(4) });
    assert.equal(r.data.code, 'too_many_rooms');
    assert.deepEqual(r.data.details, { scope: 'user', limit: PER_USER });
    // a room the user is already in adds nothing, so it is allowed
    r = await s2.call('room.join', { room: room(1) });
    assert.equal(r.type, 'ack', JSON.stringify(r));
    assert.equal(r.data.members, 1);
    // six joins spent (refused ones count): the seventh is over the join budget
    limited(await s2.call('room.join', { room: room(1) }), `q${seq}`, 'room joins', JOINS);
    await Promise.all([s1.close(), s2.close()]);
  });
});

/** Opens GET /api/v1/events; resolves with {status, json, close} once the headers are in. */
function sse(token) {
  return new Promise((resolve, reject) => {
    const req = http.get(new URL('/api/v1/events', url), { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } }, (res) => {
      const s = { status: res.statusCode, headers: res.headers, close: () => req.destroy() };
      if (res.statusCode === 200) return resolve(s);
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ ...s, json: JSON.parse(body) }));
    });
    req.on('error', reject);
  });
}

describe('SSE streams', () => {
  test('per user cap, freed when a stream closes', async () => {
    const [a, b] = [await register(url), await register(url)];
    const open = [];
    for (let i = 0; i < STREAMS; i++) {
      const s = await sse(tok(a));
      assert.equal(s.status, 200);
      open.push(s);
    }
    const refused = await sse(tok(a));
    assert.equal(refused.status, 429);
    assert.equal(refused.json.error.code, 'too_many_streams');
    assert.match(refused.json.error.message, new RegExp(`at most ${STREAMS} `));
    assert.equal(refused.json.error.details.limit, STREAMS);
    assert.ok(Number(refused.headers['retry-after']) >= 1);
    const other = await sse(tok(b)); // another user is not affected
    assert.equal(other.status, 200);
    other.close();
    open.shift().close();
    // the server notices the closed stream at its next write (heartbeat every second)
    let again;
    for (;;) {
      again = await sse(tok(a));
      if (again.status === 200) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    again.close();
    for (const s of open) s.close();
  });
});
