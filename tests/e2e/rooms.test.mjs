// SPDX-License-Identifier: MIT
// Rooms, presence and live notifications on the WebSocket (npm `ws`): room chat delivered to
// every member (and every device), members only, slow mode refusing a too-fast message, a
// moderator's ban removing a member at once and refusing them afterwards, member counts pushed;
// presence between mutual followers (online, away, offline after the grace period, no flap on
// a quick reconnect), hidden from a non-mutual follower, over the socket and REST; a notification
// arriving on the socket.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startServer, stopAll, uniqueUser } from './lib/harness.mjs';
import { client, register, login, createUserCli, expectError } from './lib/accounts.mjs';

const ARGS = ['--trust-proxy', '--rate-limit', '0', '--auth-rate-limit', '0',
  '--room-members-interval', '1', '--presence-grace', '1'];
let server, url;
before(async () => { server = await startServer({ args: ARGS }); url = server.url; });
after(stopAll);
const c = () => client(url);
const tok = (u) => u.tokens.access_token;

let seq = 0;
/** A socket that logs everything it receives; call() sends a request and waits for its reply. */
async function socket(base, token) {
  const ws = new WebSocket(base.replace(/^http/, 'ws') + '/api/v1/ws', { headers: { authorization: `Bearer ${token}` } });
  const log = [], waiters = [];
  ws.on('error', () => {});
  ws.on('message', (m) => {
    log.push(JSON.parse(m.toString()));
    for (const w of [...waiters]) if (w()) waiters.splice(waiters.indexOf(w), 1);
  });
  const closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
  await new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('unexpected-response', () => reject(new Error('refused'))); });
  const s = {
    ws, log, closed,
    /** The first logged message at index >= from matching pred. */
    next(pred, from = 0) {
      return new Promise((resolve) => {
        const w = () => { const m = log.slice(from).find(pred); if (m) resolve(m); return !!m; };
        if (!w()) waiters.push(w);
      });
    },
    async call(type, data = {}) {
      const id = `r${++seq}`;
      ws.send(JSON.stringify({ type, id, data }));
      return s.next((m) => m.id === id && (m.type === 'ack' || m.type === 'error'));
    },
    close() { ws.close(); return closed; },
  };
  return s;
}
const ofType = (type, f = () => true) => (m) => m.type === type && f(m.data);

async function moderator() {
  const creds = { ...uniqueUser('mod'), password: 'a fine password' };
  createUserCli(server, { email: creds.email, handle: creds.handle, password: creds.password, role: 'moderator' });
  const tokens = await login(url, creds.handle, creds.password);
  return { tokens, user: tokens.user, creds };
}

describe('rooms', () => {
  test('join, chat to every member and device, members only, validation', async () => {
    const [a, b] = [await register(url), await register(url)];
    const room = `chat-${Date.now()}`;
    const a1 = await socket(url, tok(a)), a2 = await socket(url, tok(a)), b1 = await socket(url, tok(b));
    const outsider = await socket(url, tok(b));
    for (const s of [a1, a2, b1]) {
      const r = await s.call('room.join', { room });
      assert.equal(r.type, 'ack', JSON.stringify(r));
      assert.equal(r.data.room, room);
    }
    const sent = await b1.call('room.send', { room, text: 'hello room ✓' });
    assert.equal(sent.type, 'ack');
    for (const s of [a1, a2, b1]) {
      const m = await s.next(ofType('room.message', (d) => d.id === sent.data.id));
      assert.equal(m.data.text, 'hello room ✓');
      assert.equal(m.data.room, room);
      assert.equal(m.data.sender.handle, b.creds.handle);
      assert.equal(m.data.sender.id, b.user.id);
    }
    // the user's other socket did not join: it is not a member and hears nothing
    const notMember = await outsider.call('room.send', { room, text: 'let me in' });
    assert.equal(notMember.type, 'error');
    assert.equal(notMember.data.code, 'not_member');
    assert.ok(!outsider.log.some((m) => m.type === 'room.message'));
    for (const bad of [{ room: 'Bad Name', text: 'x' }, { room, text: '' }, { room, text: 'x'.repeat(501) }, { room }]) {
      const r = await a1.call('room.send', bad);
      assert.equal(r.type, 'error', JSON.stringify(bad));
      assert.equal(r.data.code, 'validation_failed');
    }
    assert.equal((await a1.call('room.send', { room, text: 'é'.repeat(500) })).type, 'ack', '500 characters, not bytes');
    assert.equal((await a1.call('room.join', { room: 'x'.repeat(65) })).data.code, 'validation_failed');
    // leaving stops delivery to that socket only
    assert.equal((await a2.call('room.leave', { room })).type, 'ack');
    assert.equal((await a2.call('room.leave', { room })).data.code, 'not_member');
    const after = await b1.call('room.send', { room, text: 'after leave' });
    await a1.next(ofType('room.message', (d) => d.id === after.data.id));
    await a2.call('ping', {});
    assert.ok(!a2.log.some((m) => m.type === 'room.message' && m.data.id === after.data.id));
    for (const s of [a1, a2, b1, outsider]) await s.close();
  });

  test('member counts are pushed and shown by GET /rooms/:name', async () => {
    const [a, b] = [await register(url), await register(url)];
    const room = `count-${Date.now()}`;
    const a1 = await socket(url, tok(a));
    assert.equal((await a1.call('room.join', { room })).data.members, 1);
    await a1.next(ofType('room.members', (d) => d.room === room && d.count === 1));
    const b1 = await socket(url, tok(b));
    const j = await b1.call('room.join', { room });
    assert.equal(j.data.members, 2);
    await a1.next(ofType('room.members', (d) => d.count === 2));
    const g = await c().get(`/api/v1/rooms/${room}`, { token: tok(a) });
    assert.equal(g.status, 200);
    assert.deepEqual(g.json, { name: room, members: 2, slow_mode_seconds: 0 });
    // a socket that goes away without leaving is counted out
    const from = a1.log.length;
    await b1.close();
    await a1.next(ofType('room.members', (d) => d.count === 1), from);
    expectError(await c().get('/api/v1/rooms/NOT_A_ROOM', { token: tok(a) }), 404, 'room_not_found');
    expectError(await c().get(`/api/v1/rooms/${room}`), 401);
    await a1.close();
  });

  test('slow mode set by a moderator refuses a too-fast message', async () => {
    const mod = await moderator();
    const a = await register(url);
    const room = `slow-${Date.now()}`;
    expectError(await c().patch(`/api/v1/rooms/${room}`, { token: tok(a), json: { slow_mode_seconds: 60 } }), 403, 'forbidden');
    expectError(await c().patch(`/api/v1/rooms/${room}`, { token: mod.tokens.access_token, json: { slow_mode_seconds: 99999 } }), 422);
    expectError(await c().patch(`/api/v1/rooms/${room}`, { token: mod.tokens.access_token, json: { slow: 1 } }), 422);
    assert.equal((await c().get(`/api/v1/rooms/${room}`, { token: tok(a) })).json.slow_mode_seconds, 0, 'bad input changed nothing');
    const a1 = await socket(url, tok(a));
    await a1.call('room.join', { room });
    assert.equal((await a1.call('room.send', { room, text: 'one' })).type, 'ack');
    assert.equal((await a1.call('room.send', { room, text: 'two' })).type, 'ack', 'no slow mode yet');
    const p = await c().patch(`/api/v1/rooms/${room}`, { token: mod.tokens.access_token, json: { slow_mode_seconds: 60 } });
    assert.equal(p.status, 200, p.text);
    assert.equal(p.json.slow_mode_seconds, 60);
    const refused = await a1.call('room.send', { room, text: 'three' });
    assert.equal(refused.type, 'error');
    assert.equal(refused.data.code, 'slow_mode');
    assert.match(refused.data.message, /wait \d+ s/);
    // another user is not slowed by a's messages
    const b = await register(url);
    const b1 = await socket(url, tok(b));
    const j = await b1.call('room.join', { room });
    assert.equal(j.data.slow_mode_seconds, 60);
    assert.equal((await b1.call('room.send', { room, text: 'mine' })).type, 'ack');
    assert.equal((await b1.call('room.send', { room, text: 'again' })).data.code, 'slow_mode');
    await a1.close();
    await b1.close();
  });

  test('a moderator ban removes a member at once and refuses them; unban lets them back', async () => {
    const mod = await moderator();
    const [a, bad] = [await register(url), await register(url)];
    const room = `ban-${Date.now()}`;
    const a1 = await socket(url, tok(a)), x1 = await socket(url, tok(bad));
    await a1.call('room.join', { room });
    await x1.call('room.join', { room });
    expectError(await c().post(`/api/v1/rooms/${room}/bans`, { token: tok(a), json: { user_id: bad.user.id } }), 403);
    expectError(await c().post(`/api/v1/rooms/${room}/bans`, { token: mod.tokens.access_token, json: { user_id: '999' } }), 404, 'user_not_found');
    expectError(await c().post(`/api/v1/rooms/${room}/bans`, { token: mod.tokens.access_token, json: {} }), 422);
    const ban = await c().post(`/api/v1/rooms/${room}/bans`, { token: mod.tokens.access_token, json: { user_id: bad.user.id } });
    assert.equal(ban.status, 200, ban.text);
    const removed = await x1.next(ofType('room.removed'));
    assert.deepEqual(removed.data, { room, reason: 'banned' });
    const m = await a1.call('room.send', { room, text: 'after the ban' });
    await a1.next(ofType('room.message', (d) => d.id === m.data.id));
    await x1.call('ping', {});
    assert.ok(!x1.log.some((e) => e.type === 'room.message' && e.data.id === m.data.id), 'banned member still hears the room');
    assert.equal((await x1.call('room.send', { room, text: 'hi' })).data.code, 'not_member');
    assert.equal((await x1.call('room.join', { room })).data.code, 'banned');
    const x2 = await socket(url, tok(bad));
    assert.equal((await x2.call('room.join', { room })).data.code, 'banned', 'on a new socket too');
    expectError(await c().del(`/api/v1/rooms/${room}/bans/${a.user.id}`, { token: mod.tokens.access_token }), 404, 'ban_not_found');
    assert.equal((await c().del(`/api/v1/rooms/${room}/bans/${bad.user.id}`, { token: mod.tokens.access_token })).status, 204);
    assert.equal((await x2.call('room.join', { room })).type, 'ack');
    for (const s of [a1, x1, x2]) await s.close();
  });
});

describe('presence', () => {
  const follow = (who, whom) => c().post(`/api/v1/users/${whom.creds.handle}/follow`, { token: tok(who) });

  test('mutual followers see online, away and offline; a non-mutual follower sees nothing', async () => {
    const [a, b, fan] = [await register(url), await register(url), await register(url)];
    await follow(a, b);
    await follow(b, a);
    await follow(fan, a); // one way only
    const b1 = await socket(url, tok(b));
    const fan1 = await socket(url, tok(fan));
    const sub = await b1.call('presence.subscribe', { user_ids: [a.user.id, fan.user.id] });
    assert.equal(sub.type, 'ack', JSON.stringify(sub));
    assert.deepEqual(sub.data.presence.map((p) => [p.user_id, p.status]), [[a.user.id, 'offline']]);
    assert.deepEqual(sub.data.denied, [fan.user.id]);
    const denied = await fan1.call('presence.subscribe', { user_ids: [a.user.id] });
    assert.deepEqual(denied.data.denied, [a.user.id]);
    assert.equal((await b1.call('presence.subscribe', { user_ids: 'nope' })).data.code, 'validation_failed');

    const a1 = await socket(url, tok(a));
    const on = await b1.next(ofType('presence', (d) => d.user_id === a.user.id && d.status === 'online'));
    assert.ok(on.data.last_seen_at);
    const rest = await c().get(`/api/v1/users/${a.creds.handle}/presence`, { token: tok(b) });
    assert.equal(rest.status, 200);
    assert.equal(rest.json.status, 'online');
    expectError(await c().get(`/api/v1/users/${a.creds.handle}/presence`, { token: tok(fan) }), 403, 'not_mutual');
    assert.equal((await c().get('/api/v1/users/me/presence', { token: tok(a) })).json.status, 'online');
    expectError(await c().get('/api/v1/users/nobody_here_xyz/presence', { token: tok(a) }), 404);

    assert.equal((await a1.call('presence.set', { status: 'away' })).type, 'ack');
    await b1.next(ofType('presence', (d) => d.status === 'away'));
    assert.equal((await a1.call('presence.set', { status: 'busy' })).data.code, 'validation_failed');
    await a1.close();
    const off = await b1.next(ofType('presence', (d) => d.status === 'offline'));
    assert.equal(off.data.user_id, a.user.id);
    assert.equal((await c().get(`/api/v1/users/${a.creds.handle}/presence`, { token: tok(b) })).json.status, 'offline');
    assert.ok(!fan1.log.some((m) => m.type === 'presence'), 'the one-way follower was told');
    await b1.close();
    await fan1.close();
  });

  test('a block ends presence subscriptions both ways at once', async () => {
    const [a, b, w] = [await register(url), await register(url), await register(url)];
    for (const [x, y] of [[a, b], [b, a], [a, w], [w, a], [b, w], [w, b]]) await follow(x, y);
    const [a1, b1, w1] = [await socket(url, tok(a)), await socket(url, tok(b)), await socket(url, tok(w))];
    assert.deepEqual((await a1.call('presence.subscribe', { user_ids: [b.user.id] })).data.denied, []);
    assert.deepEqual((await b1.call('presence.subscribe', { user_ids: [a.user.id] })).data.denied, []);
    // w watches both: once w hears a change, a subscriber still holding the topic has it queued too
    assert.deepEqual((await w1.call('presence.subscribe', { user_ids: [a.user.id, b.user.id] })).data.denied, []);
    assert.equal((await c().post(`/api/v1/users/${b.creds.handle}/block`, { token: tok(a) })).status, 204);
    for (const [who, sock, other] of [[a, a1, b1], [b, b1, a1]]) {
      const from = other.log.length;
      assert.equal((await sock.call('presence.set', { status: 'away' })).type, 'ack');
      await w1.next(ofType('presence', (d) => d.user_id === who.user.id && d.status === 'away'));
      await other.call('ping', {});
      assert.ok(!other.log.slice(from).some((m) => m.type === 'presence' && m.data.user_id === who.user.id),
        'a presence change crossed the block');
    }
    // and a new subscription is refused
    assert.deepEqual((await b1.call('presence.subscribe', { user_ids: [a.user.id] })).data.denied, [a.user.id]);
    for (const s of [a1, b1, w1]) await s.close();
  });

  test('a quick reconnect does not flap offline', async () => {
    const s = await startServer({ args: [...ARGS.slice(0, -1), '60'] });
    const sc = () => client(s.url);
    const [a, b] = [await register(s.url), await register(s.url)];
    await sc().post(`/api/v1/users/${b.creds.handle}/follow`, { token: tok(a) });
    await sc().post(`/api/v1/users/${a.creds.handle}/follow`, { token: tok(b) });
    const b1 = await socket(s.url, tok(b));
    await b1.call('presence.subscribe', { user_ids: [a.user.id] });
    let a1 = await socket(s.url, tok(a));
    await b1.next(ofType('presence', (d) => d.status === 'online'));
    const from = b1.log.length;
    await a1.close();
    a1 = await socket(s.url, tok(a));
    await a1.call('presence.set', { status: 'away' });
    const next = await b1.next(ofType('presence'), from);
    assert.equal(next.data.status, 'away', 'the first change b sees is the away, no offline/online in between');
    await a1.close();
    await b1.close();
  });
});

test('a live notification arrives on the socket', async () => {
  const [a, b] = [await register(url), await register(url)];
  const a1 = await socket(url, tok(a));
  await a1.call('ping', {});
  await c().post(`/api/v1/users/${a.creds.handle}/follow`, { token: tok(b) });
  const n = await a1.next(ofType('notification'));
  assert.equal(n.data.type, 'follow');
  assert.equal(n.data.actor.handle, b.creds.handle);
  const u = await a1.next(ofType('notifications.unread'));
  assert.equal(u.data.count, 1);
  await a1.close();
});

test('--presence off: the commands and the REST read say so', async () => {
  const s = await startServer({ args: [...ARGS, '--presence', 'off'] });
  const a = await register(s.url);
  const a1 = await socket(s.url, tok(a));
  assert.equal((await a1.call('presence.subscribe', { user_ids: [a.user.id] })).data.code, 'presence_disabled');
  assert.equal((await a1.call('presence.set', { status: 'away' })).data.code, 'presence_disabled');
  expectError(await client(s.url).get('/api/v1/users/me/presence', { token: tok(a) }), 403, 'presence_disabled');
  await a1.close();
});
