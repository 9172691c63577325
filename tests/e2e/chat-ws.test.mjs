// SPDX-License-Identifier: MIT
// Chat over the WebSocket with the npm `ws` client: DMs between two users' sockets (sent over
// the socket and over REST alike), typing (throttled, with an expiry), read and delivery
// receipts, reconnect-and-catch-up with "sync" (no loss, no duplicates, in order), blocked
// users refused, several devices of one user all receiving, group membership changes, message
// requests that stay silent until accepted, and error replies that carry the request's id.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startServer, stopAll } from './lib/harness.mjs';
import { client, register } from './lib/accounts.mjs';

let url;
before(async () => { url = (await startServer({ args: ['--trust-proxy', '--rate-limit', '0', '--auth-rate-limit', '0'] })).url; });
after(stopAll);
const c = () => client(url);
const tok = (u) => u.tokens.access_token;
const ok = (r, status = 200) => { assert.equal(r.status, status, r.text); return r.json; };
const dm = async (a, b) => ok(await c().post('/api/v1/conversations', { token: tok(a), json: { kind: 'direct', member_ids: [b.user.id] } }), 201);

let seq = 0;
/** A socket with an inbox: next(pred) waits for a matching event, call(type, data) for the reply. */
async function connect(user, { header = true } = {}) {
  const ws = new WebSocket(url.replace(/^http/, 'ws') + '/api/v1/ws', header ? { headers: { authorization: `Bearer ${tok(user)}` } } : {});
  const events = [];
  const waiters = [];
  ws.on('message', (raw) => {
    const m = JSON.parse(raw.toString());
    events.push(m);
    for (const w of [...waiters]) if (w.pred(m)) { waiters.splice(waiters.indexOf(w), 1); clearTimeout(w.t); w.resolve(m); }
  });
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  const s = {
    ws,
    events,
    /** Resolves with the first event (seen or future) matching pred. */
    next(pred, what = 'event') {
      const found = events.find(pred);
      if (found) { events.splice(events.indexOf(found), 1); return Promise.resolve(found); }
      return new Promise((resolve, reject) => {
        const w = { pred, resolve: (m) => { events.splice(events.indexOf(m), 1); resolve(m); } };
        w.t = setTimeout(() => { waiters.splice(waiters.indexOf(w), 1); reject(new Error(`no ${what} arrived; saw ${JSON.stringify(events)}`)); }, 10000);
        waiters.push(w);
      });
    },
    of(type, pred = () => true) { return s.next((m) => m.type === type && pred(m.data), type).then((m) => m.data); },
    /** Sends a request and resolves with its reply ({type:'ack'|'error', data}). */
    async call(type, data = {}) {
      const id = `r${++seq}`;
      const reply = s.next((m) => (m.type === 'ack' || m.type === 'error') && m.id === id, `reply to ${type}`);
      ws.send(JSON.stringify({ type, id, data }));
      return reply;
    },
    async ack(type, data) {
      const r = await s.call(type, data);
      assert.equal(r.type, 'ack', JSON.stringify(r));
      return r.data;
    },
    count(type) { return events.filter((m) => m.type === type).length; },
    close() { return new Promise((r) => { if (ws.readyState === WebSocket.CLOSED) r(); else { ws.once('close', r); ws.close(); } }); },
  };
  // Delivery starts once the socket is authenticated: "ready" for a header token, the auth ack
  // for a first-message one.
  if (header) await s.next((m) => m.type === 'ready', 'ready');
  else await s.ack('auth', { token: tok(user) });
  return s;
}

describe('chat over sockets', () => {
  test('two users exchange DMs over sockets; REST sends arrive the same way', async () => {
    const a = await register(url), b = await register(url);
    const conv = await dm(a, b);
    const sa = await connect(a), sb = await connect(b, { header: false });
    try {
      const sent = await sa.ack('message.send', { conversation_id: conv.id, text: 'hi over ws', client_id: 'w1' });
      assert.equal(sent.existing, false);
      assert.equal(sent.message.text, 'hi over ws');
      const got = await sb.of('message.new');
      assert.deepEqual(got, sent.message);
      // The sender's own sockets hear it too (its other devices need it).
      assert.equal((await sa.of('message.new')).id, sent.message.id);
      // A retried send with the same client_id returns the first message and sends nothing.
      const retry = await sa.ack('message.send', { conversation_id: conv.id, text: 'hi over ws', client_id: 'w1' });
      assert.equal(retry.existing, true);
      assert.equal(retry.message.id, sent.message.id);
      const rest = ok(await c().post(`/api/v1/conversations/${conv.id}/messages`, { token: tok(b), json: { text: 'hi over rest' } }), 201);
      const back = await sa.of('message.new');
      assert.equal(back.id, rest.id);
      assert.equal(back.text, 'hi over rest');
      assert.equal(sb.events.filter((m) => m.type === 'message.new' && m.data.id === sent.message.id).length, 0, 'no duplicate from the retry');
      // Persisted before delivered: the history has both.
      const hist = ok(await c().get(`/api/v1/conversations/${conv.id}/messages`, { token: tok(a) }));
      assert.deepEqual(hist.items.map((m) => m.id), [rest.id, sent.message.id]);
      // Edits and deletions travel the same way.
      const edited = await sa.ack('message.edit', { conversation_id: conv.id, message_id: sent.message.id, text: 'edited' });
      assert.equal(edited.message.text, 'edited');
      assert.equal((await sb.of('message.edited')).text, 'edited');
      await sa.ack('message.delete', { conversation_id: conv.id, message_id: sent.message.id });
      const gone = await sb.of('message.deleted');
      assert.equal(gone.id, sent.message.id);
      assert.equal(gone.deleted, true);
      assert.equal(gone.text, null);
    } finally { await sa.close(); await sb.close(); }
  });

  test('errors reply with the request id and the REST error code', async () => {
    const a = await register(url), b = await register(url), x = await register(url);
    const conv = await dm(a, b);
    const sx = await connect(x);
    try {
      let r = await sx.call('message.send', { conversation_id: conv.id, text: 'sneaky' });
      assert.equal(r.type, 'error');
      assert.equal(r.data.code, 'conversation_not_found');
      r = await sx.call('message.send', { conversation_id: conv.id, text: 'x'.repeat(4001) });
      assert.equal(r.data.code, 'validation_failed');
      assert.match(r.data.message, /text/);
      r = await sx.call('message.send', { text: 'no conversation' });
      assert.equal(r.data.code, 'validation_failed');
      r = await sx.call('read', { conversation_id: conv.id, message_id: 'x' });
      assert.equal(r.data.code, 'validation_failed');
      r = await sx.call('typing', { conversation_id: conv.id });
      assert.equal(r.data.code, 'conversation_not_found');
      r = await sx.call('sync', { after: 12 });
      assert.equal(r.data.code, 'validation_failed');
      assert.equal(ok(await c().get(`/api/v1/conversations/${conv.id}/messages`, { token: tok(a) })).items.length, 0);
    } finally { await sx.close(); }
  });

  test('typing reaches the other members, throttled, with an expiry', async () => {
    const a = await register(url), b = await register(url);
    const conv = await dm(a, b);
    const sa = await connect(a), sb = await connect(b);
    try {
      const first = await sa.ack('typing', { conversation_id: conv.id });
      assert.equal(first.throttled, false);
      const t = await sb.of('typing');
      assert.deepEqual(t, { conversation_id: conv.id, user_id: a.user.id, expires_in_ms: 6000 });
      const second = await sa.ack('typing', { conversation_id: conv.id });
      assert.equal(second.throttled, true);
      // A message after the throttled indicator is the barrier: nothing came between.
      await sa.ack('message.send', { conversation_id: conv.id, text: 'done typing' });
      await sb.of('message.new');
      assert.equal(sb.count('typing'), 0, 'the throttled indicator was not sent');
      assert.equal(sa.count('typing'), 0, 'the typist is not told of their own typing');
    } finally { await sa.close(); await sb.close(); }
  });

  test('read receipts go to the members, delivery receipts to the sender', async () => {
    const a = await register(url), b = await register(url);
    const conv = await dm(a, b);
    const sa = await connect(a), sb = await connect(b);
    try {
      const m = (await sa.ack('message.send', { conversation_id: conv.id, text: 'did you get this?' })).message;
      await sb.of('message.new');
      await sb.ack('delivered', { conversation_id: conv.id, message_id: m.id });
      assert.deepEqual(await sa.of('message.delivered'), { conversation_id: conv.id, user_id: b.user.id, message_id: m.id });
      await sb.ack('read', { conversation_id: conv.id, message_id: m.id });
      assert.deepEqual(await sa.of('conversation.read'), { conversation_id: conv.id, user_id: b.user.id, message_id: m.id });
      // The reader's own devices learn it too (to clear their unread badge).
      assert.equal((await sb.of('conversation.read')).message_id, m.id);
      // A receipt that does not move the pointer is not sent again.
      await sb.ack('read', { conversation_id: conv.id, message_id: m.id });
      await sb.ack('message.send', { conversation_id: conv.id, text: 'barrier' });
      await sa.of('message.new', (x) => x.text === 'barrier');
      assert.equal(sa.count('conversation.read'), 0);
      const view = ok(await c().get('/api/v1/conversations', { token: tok(a) })).items[0];
      assert.equal(view.unread, 1, 'the barrier is unread for a');
    } finally { await sa.close(); await sb.close(); }
  });

  test('reconnect and catch up with sync: nothing lost, nothing twice, in order', async () => {
    const a = await register(url), b = await register(url), d = await register(url);
    const c1 = await dm(a, b);
    const c2 = await dm(d, b);
    let sb = await connect(b);
    const sa = await connect(a);
    const first = (await sa.ack('message.send', { conversation_id: c1.id, text: 'before the tunnel' })).message;
    const seen = await sb.of('message.new');
    assert.equal(seen.id, first.id);
    await sb.close();
    // While b is away: socket and REST sends in two conversations, and an edit of a seen message.
    const missed = [];
    for (let i = 0; i < 4; i++) {
      missed.push((await sa.ack('message.send', { conversation_id: c1.id, text: `ws ${i}`, client_id: `m${i}` })).message.id);
      missed.push(ok(await c().post(`/api/v1/conversations/${c2.id}/messages`, { token: tok(d), json: { text: `rest ${i}` } }), 201).id);
    }
    // A retry of an already-sent message (same client_id) must not show up twice.
    await sa.ack('message.send', { conversation_id: c1.id, text: 'ws 0', client_id: 'm0' });
    await sa.ack('message.edit', { conversation_id: c1.id, message_id: first.id, text: 'before the tunnel (edited)' });
    sb = await connect(b);
    try {
      const sync = await sb.ack('sync', { after: seen.id });
      assert.deepEqual(sync.messages.map((m) => m.id), missed);
      assert.equal(new Set(sync.messages.map((m) => m.id)).size, missed.length);
      assert.equal(sync.has_more, false);
      assert.equal(sync.last_id, missed.at(-1));
      assert.deepEqual(sync.changed.map((m) => [m.id, m.text]), [[first.id, 'before the tunnel (edited)']]);
      assert.deepEqual((await sb.ack('sync', { after: sync.last_id })).messages, []);
      // "message.sync" is the same catch-up under its own name.
      assert.deepEqual((await sb.ack('message.sync', { after: seen.id })).messages.map((m) => m.id), missed);
      // Live delivery resumes on the new socket.
      const live = (await sa.ack('message.send', { conversation_id: c1.id, text: 'welcome back' })).message;
      assert.equal((await sb.of('message.new')).id, live.id);
      // Without "after", sync keeps the hub's meaning: a relay to the user's other sockets.
      const relay = await sb.ack('sync', { draft: 'hello' });
      assert.equal(typeof relay.delivered, 'number');
    } finally { await sa.close(); await sb.close(); }
  });

  test('a catch-up of long messages comes in pages that fit the socket', async () => {
    const a = await register(url), b = await register(url);
    const conv = await dm(a, b);
    const sent = [];
    for (let i = 0; i < 80; i++)
      sent.push(ok(await c().post(`/api/v1/conversations/${conv.id}/messages`, { token: tok(a), json: { text: `${i} ${'🙂'.repeat(3990)}` } }), 201).id);
    const sb = await connect(b);
    try {
      const got = [];
      let after = '0', pages = 0;
      for (;;) {
        const page = await sb.ack('sync', { after });
        got.push(...page.messages.map((m) => m.id));
        pages++;
        if (!page.has_more) break;
        after = page.last_id;
      }
      assert.deepEqual(got, sent);
      assert.ok(pages > 1, 'more than one page');
      assert.equal(sb.ws.readyState, WebSocket.OPEN);
    } finally { await sb.close(); }
  });

  test('blocked users are refused on the socket', async () => {
    const a = await register(url), b = await register(url);
    const conv = await dm(a, b);
    const sa = await connect(a), sb = await connect(b);
    try {
      assert.ok((await c().post(`/api/v1/users/${a.creds.handle}/block`, { token: tok(b) })).status < 300);
      const r = await sa.call('message.send', { conversation_id: conv.id, text: 'let me in' });
      assert.equal(r.type, 'error');
      assert.equal(r.data.code, 'cannot_message');
      const r2 = await sb.call('message.send', { conversation_id: conv.id, text: 'nor me' });
      assert.equal(r2.data.code, 'cannot_message');
      assert.equal(sb.count('message.new') + sa.count('message.new'), 0);
    } finally { await sa.close(); await sb.close(); }
  });

  test('every socket of a user receives (multi-device)', async () => {
    const a = await register(url), b = await register(url);
    const conv = await dm(a, b);
    const phone = await connect(b), laptop = await connect(b, { header: false }), sa = await connect(a);
    try {
      const m = (await sa.ack('message.send', { conversation_id: conv.id, text: 'to all your devices' })).message;
      assert.equal((await phone.of('message.new')).id, m.id);
      assert.equal((await laptop.of('message.new')).id, m.id);
      // What one device sends, the other sees.
      const mine = (await phone.ack('message.send', { conversation_id: conv.id, text: 'from the phone' })).message;
      assert.equal((await laptop.of('message.new')).id, mine.id);
      assert.equal((await sa.of('message.new', (x) => x.id === mine.id)).text, 'from the phone');
    } finally { await phone.close(); await laptop.close(); await sa.close(); }
  });

  test('group membership changes reach the members (and the one removed)', async () => {
    const a = await register(url), b = await register(url), d = await register(url);
    const sb = await connect(b), sd = await connect(d);
    try {
      const g = ok(await c().post('/api/v1/conversations', { token: tok(a), json: { kind: 'group', title: 'crew', member_ids: [b.user.id] } }), 201);
      const created = await sb.of('message.new');
      assert.equal(created.kind, 'system');
      assert.deepEqual(created.event, { event: 'created', title: 'crew', user_ids: [b.user.id] });
      ok(await c().post(`/api/v1/conversations/${g.id}/members`, { token: tok(a), json: { member_ids: [d.user.id] } }));
      assert.deepEqual((await sb.of('message.new')).event, { event: 'members_added', user_ids: [d.user.id] });
      assert.deepEqual((await sd.of('message.new')).event, { event: 'members_added', user_ids: [d.user.id] });
      const hello = ok(await c().post(`/api/v1/conversations/${g.id}/messages`, { token: tok(b), json: { text: 'welcome d' } }), 201);
      assert.equal((await sd.of('message.new')).id, hello.id);
      assert.equal((await c().del(`/api/v1/conversations/${g.id}/members/${d.user.id}`, { token: tok(a) })).status, 204);
      assert.deepEqual((await sd.of('message.new')).event, { event: 'member_removed', user_id: d.user.id });
      await sb.of('message.new', (x) => x.id === hello.id);
      assert.equal((await sb.of('message.new')).event.event, 'member_removed');
      // After removal d hears nothing more from the group.
      ok(await c().post(`/api/v1/conversations/${g.id}/messages`, { token: tok(a), json: { text: 'd is gone' } }), 201);
      await sb.of('message.new', (x) => x.text === 'd is gone');
      const r = await sd.call('message.send', { conversation_id: g.id, text: 'let me back' });
      assert.equal(r.data.code, 'conversation_not_found');
      assert.equal(sd.count('message.new'), 0);
      // The last admin leaving promotes the oldest member, in the same event.
      assert.equal((await c().post(`/api/v1/conversations/${g.id}/leave`, { token: tok(a) })).status, 204);
      assert.deepEqual((await sb.of('message.new')).event, { event: 'member_left', user_id: a.user.id, promoted: b.user.id });
    } finally { await sb.close(); await sd.close(); }
  });

  test('a message request stays silent until accepted', async () => {
    const priv = await register(url), stranger = await register(url), friend = await register(url);
    ok(await c().patch('/api/v1/users/me', { token: tok(priv), json: { is_private: true } }));
    const sp = await connect(priv), ss = await connect(stranger);
    try {
      const conv = await dm(stranger, priv);
      const m = (await ss.ack('message.send', { conversation_id: conv.id, text: 'hi, stranger here' })).message;
      // A barrier from someone priv talks to: the request's message must not come before it.
      const fc = await dm(priv, friend);
      ok(await c().post(`/api/v1/conversations/${fc.id}/messages`, { token: tok(friend), json: { text: 'barrier' } }), 201);
      await sp.of('message.new', (x) => x.text === 'barrier');
      assert.deepEqual(sp.events, [], 'nothing from the request');
      const r = await sp.call('typing', { conversation_id: conv.id });
      assert.equal(r.data.code, 'message_request_pending');
      ok(await c().post(`/api/v1/message-requests/${conv.id}/accept`, { token: tok(priv) }));
      assert.deepEqual(await ss.of('conversation.accepted'), { conversation_id: conv.id, user_id: priv.user.id });
      const next = (await ss.ack('message.send', { conversation_id: conv.id, text: 'thanks!' })).message;
      assert.equal((await sp.of('message.new')).id, next.id);
      // And a catch-up now includes the earlier request message, in order.
      const sync = await sp.ack('sync', { after: '0' });
      const ids = sync.messages.filter((x) => x.conversation_id === conv.id).map((x) => x.id);
      assert.deepEqual(ids, [m.id, next.id]);
    } finally { await sp.close(); await ss.close(); }
  });
});
