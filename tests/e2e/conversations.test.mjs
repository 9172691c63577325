// SPDX-License-Identifier: MIT
// Conversations over REST: 1:1s (one per pair), groups (admins, members, leaving, promotion),
// messages (limits, attachments, replies, edit, delete for everyone, idempotent client ids),
// history in both directions, unread counts and receipts, the inbox ordered by activity with
// cursors, blocked users, message requests for private accounts, the catch-up endpoint, and
// bad input answered with the right 4xx while changing nothing.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopAll } from './lib/harness.mjs';
import { client, register, expectError } from './lib/accounts.mjs';
import { tinyPng } from './lib/images.mjs';

let url;
// --ws-message-rate 0: some tests here send hundreds of messages as one user (pagination)
before(async () => { url = (await startServer({ args: ['--trust-proxy', '--rate-limit', '0', '--auth-rate-limit', '0', '--ws-message-rate', '0'] })).url; });
after(stopAll);
const c = () => client(url);
const tok = (u) => u.tokens.access_token;
const ok = (r, status = 200) => { assert.equal(r.status, status, r.text); return r.json; };
const dm = async (a, b, status = 201) => ok(await c().post('/api/v1/conversations', { token: tok(a), json: { kind: 'direct', member_ids: [b.user.id] } }), status);
const group = async (a, members, title = 'friends') =>
  ok(await c().post('/api/v1/conversations', { token: tok(a), json: { kind: 'group', title, member_ids: members.map((m) => m.user.id) } }), 201);
const send = async (who, conv, json, status = 201) => ok(await c().post(`/api/v1/conversations/${conv.id}/messages`, { token: tok(who), json }), status);
const history = async (who, conv, q = '') => ok(await c().get(`/api/v1/conversations/${conv.id}/messages${q}`, { token: tok(who) }));
const inbox = async (who, q = '') => ok(await c().get(`/api/v1/conversations${q}`, { token: tok(who) }));
const getConv = (who, conv) => c().get(`/api/v1/conversations/${conv.id}`, { token: tok(who) });

const upload = async (who) => ok(await c().post('/api/v1/media', { token: tok(who), body: tinyPng(), headers: { 'content-type': 'image/png' } }), 201);

describe('1:1 conversations', () => {
  test('one per pair: opening it again, from either side, returns the same one', async () => {
    const a = await register(url), b = await register(url);
    const conv = await dm(a, b);
    assert.equal(conv.kind, 'direct');
    assert.equal(conv.title, null);
    assert.equal(conv.member_count, 2);
    assert.equal(conv.peer.id, b.user.id);
    assert.deepEqual(conv.members.map((m) => m.user.id).sort(), [a.user.id, b.user.id].sort());
    assert.equal((await dm(a, b, 200)).id, conv.id);
    const fromB = await dm(b, a, 200);
    assert.equal(fromB.id, conv.id);
    assert.equal(fromB.peer.id, a.user.id);
    assert.deepEqual((await inbox(a)).items.map((x) => x.id), [conv.id]);
  });

  test('bad requests are refused and change nothing', async () => {
    const a = await register(url), b = await register(url);
    const p = (json, o = {}) => c().post('/api/v1/conversations', { token: tok(a), json, ...o });
    expectError(await c().post('/api/v1/conversations', { json: { kind: 'direct', member_ids: [b.user.id] } }), 401);
    expectError(await c().post('/api/v1/conversations', { token: tok(a), body: '{"kind":', headers: { 'content-type': 'application/json' } }), 400);
    expectError(await p({ kind: 'direct', member_ids: [a.user.id] }), 422, 'validation_failed');
    expectError(await p({ kind: 'direct', member_ids: [b.user.id, a.user.id] }), 422);
    expectError(await p({ kind: 'direct', member_ids: [] }), 422);
    expectError(await p({ kind: 'direct', member_ids: b.user.id }), 422);
    expectError(await p({ kind: 'direct', member_ids: [12345] }), 422);
    expectError(await p({ kind: 'chatroom', member_ids: [b.user.id] }), 422);
    expectError(await p({ kind: 'direct', member_ids: [b.user.id], title: 'x' }), 422);
    expectError(await p({ kind: 'direct', member_ids: [b.user.id], extra: 1 }), 422);
    expectError(await p({ kind: 'direct', member_ids: ['999999999999'] }), 404, 'user_not_found');
    expectError(await p({ kind: 'group', member_ids: [b.user.id] }), 422); // no title
    expectError(await p({ kind: 'group', title: 'x'.repeat(101), member_ids: [b.user.id] }), 422);
    expectError(await p({ kind: 'group', title: 'g', member_ids: [b.user.id, '999999999999'] }), 404, 'user_not_found');
    expectError(await p({ kind: 'group', title: 'g', member_ids: [b.user.id, b.user.id] }), 422);
    const many = Array.from({ length: 256 }, (_, i) => String(1000000 + i));
    expectError(await p({ kind: 'group', title: 'g', member_ids: many }), 422);
    assert.deepEqual((await inbox(a)).items, []);
    assert.deepEqual((await inbox(b)).items, []);
    expectError(await getConv(a, { id: '999999999999' }), 404, 'conversation_not_found');
    expectError(await getConv(a, { id: 'abc' }), 404);
    expectError(await c().get('/api/v1/conversations?limit=0', { token: tok(a) }), 422);
    expectError(await c().get('/api/v1/conversations'), 401);
  });

  test('another user\'s conversation is a 404 for everything', async () => {
    const a = await register(url), b = await register(url), x = await register(url);
    const conv = await dm(a, b);
    const m = await send(a, conv, { text: 'private' });
    expectError(await getConv(x, conv), 404, 'conversation_not_found');
    expectError(await c().get(`/api/v1/conversations/${conv.id}/messages`, { token: tok(x) }), 404);
    expectError(await c().post(`/api/v1/conversations/${conv.id}/messages`, { token: tok(x), json: { text: 'hi' } }), 404);
    expectError(await c().patch(`/api/v1/conversations/${conv.id}/messages/${m.id}`, { token: tok(x), json: { text: 'hi' } }), 404);
    expectError(await c().del(`/api/v1/conversations/${conv.id}/messages/${m.id}`, { token: tok(x) }), 404);
    expectError(await c().post(`/api/v1/conversations/${conv.id}/read`, { token: tok(x), json: { message_id: m.id } }), 404);
    expectError(await c().post(`/api/v1/conversations/${conv.id}/delivered`, { token: tok(x), json: { message_id: m.id } }), 404);
    expectError(await c().post(`/api/v1/conversations/${conv.id}/members`, { token: tok(x), json: { member_ids: [a.user.id] } }), 404);
    expectError(await c().post(`/api/v1/conversations/${conv.id}/leave`, { token: tok(x) }), 404);
    assert.equal((await history(a, conv)).items.length, 1);
  });
});

describe('every route', () => {
  test('anonymous is 401, a bad token is 401, malformed JSON is 400, and nothing changes', async () => {
    const a = await register(url), b = await register(url);
    const conv = await dm(a, b);
    const m = await send(a, conv, { text: 'keep me' });
    // Each with a body that would be valid, so the only thing wrong is the caller.
    const routes = [
      ['POST', '/api/v1/conversations', { kind: 'direct', member_ids: [b.user.id] }],
      ['GET', '/api/v1/conversations'],
      ['GET', `/api/v1/conversations/${conv.id}`],
      ['PATCH', `/api/v1/conversations/${conv.id}`, { title: 't' }],
      ['POST', `/api/v1/conversations/${conv.id}/members`, { member_ids: [b.user.id] }],
      ['PATCH', `/api/v1/conversations/${conv.id}/members/${b.user.id}`, { role: 'admin' }],
      ['DELETE', `/api/v1/conversations/${conv.id}/members/${b.user.id}`],
      ['POST', `/api/v1/conversations/${conv.id}/leave`, {}],
      ['GET', `/api/v1/conversations/${conv.id}/messages`],
      ['POST', `/api/v1/conversations/${conv.id}/messages`, { text: 'x' }],
      ['PATCH', `/api/v1/conversations/${conv.id}/messages/${m.id}`, { text: 'x' }],
      ['DELETE', `/api/v1/conversations/${conv.id}/messages/${m.id}`],
      ['POST', `/api/v1/conversations/${conv.id}/read`, { message_id: m.id }],
      ['POST', `/api/v1/conversations/${conv.id}/delivered`, { message_id: m.id }],
      ['GET', '/api/v1/message-requests'],
      ['POST', `/api/v1/message-requests/${conv.id}/accept`, {}],
      ['POST', `/api/v1/message-requests/${conv.id}/decline`, {}],
      ['GET', '/api/v1/messages/sync'],
    ];
    for (const [method, p, json] of routes) {
      const body = json ? { json } : {};
      expectError(await c().request(method, p, body), 401);
      expectError(await c().request(method, p, { ...body, token: 'not-a-token' }), 401);
      if (json) {
        expectError(await c().request(method, p, { token: tok(a), body: '{"text": ', headers: { 'content-type': 'application/json' } }), 400);
        expectError(await c().request(method, p, { token: tok(a), body: '[1]', headers: { 'content-type': 'application/json' } }), 400);
      }
    }
    const items = (await history(a, conv)).items;
    assert.deepEqual(items.map((x) => [x.id, x.text, x.deleted]), [[m.id, 'keep me', false]]);
    assert.equal(ok(await getConv(a, conv)).member_count, 2);
  });
});

describe('messages', () => {
  test('send, idempotent client ids, limits, history both ways', async () => {
    const a = await register(url), b = await register(url);
    const conv = await dm(a, b);
    const m1 = await send(a, conv, { text: 'hello', client_id: 'k1' });
    assert.equal(m1.text, 'hello');
    assert.equal(m1.sender_id, a.user.id);
    assert.equal(m1.conversation_id, conv.id);
    assert.equal(m1.client_id, 'k1');
    assert.equal(m1.kind, 'text');
    assert.equal(m1.edited_at, null);
    const again = await send(a, conv, { text: 'hello (retry)', client_id: 'k1' }, 200);
    assert.equal(again.id, m1.id);
    assert.equal(again.text, 'hello');
    // The same client id from the other sender is another message.
    const other = await send(b, conv, { text: 'hi', client_id: 'k1' });
    assert.notEqual(other.id, m1.id);
    const emoji = await send(b, conv, { text: 'wide', client_id: '🙂'.repeat(64) });
    assert.equal(emoji.client_id, '🙂'.repeat(64));
    assert.equal((await send(b, conv, { text: 'wide', client_id: '🙂'.repeat(64) }, 200)).id, emoji.id);
    const long = await send(b, conv, { text: 'é'.repeat(4000) });
    assert.equal(long.text.length, 4000);
    const bad = (json) => c().post(`/api/v1/conversations/${conv.id}/messages`, { token: tok(a), json });
    expectError(await bad({ text: 'x'.repeat(4001) }), 422);
    expectError(await bad({ text: '' }), 422);
    expectError(await bad({}), 422);
    expectError(await bad({ text: 5 }), 422);
    expectError(await bad({ text: 'x', client_id: 'c'.repeat(65) }), 422);
    expectError(await bad({ text: 'x', reply_to: 'nope' }), 422);
    expectError(await bad({ text: 'x', reply_to: '999999999999' }), 422);
    expectError(await bad({ text: 'x', attachments: 'abc' }), 422);
    expectError(await bad({ text: 'x', attachments: ['999999999999'] }), 422);
    expectError(await bad({ text: 'x', sender_id: b.user.id }), 422);
    expectError(await c().post(`/api/v1/conversations/${conv.id}/messages`, { json: { text: 'x' } }), 401);
    expectError(await c().post('/api/v1/conversations/999999999999/messages', { token: tok(a), json: { text: 'x' } }), 404);
    const ms = [];
    for (let i = 0; i < 5; i++) ms.push(await send(a, conv, { text: `n${i}` }));
    const all = [m1.id, other.id, emoji.id, long.id, ...ms.map((m) => m.id)];
    // Newest first, two per page.
    const seen = [];
    let cursor = '';
    do {
      const page = await history(b, conv, `?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.items.map((m) => m.id));
      cursor = page.next_cursor;
    } while (cursor);
    assert.deepEqual(seen, [...all].reverse());
    // Oldest first after a message id: the catch-up direction.
    let afterId = other.id, forward = [];
    for (;;) {
      const page = await history(b, conv, `?after=${afterId}&limit=3`);
      forward.push(...page.items.map((m) => m.id));
      assert.ok(!('next_after' in page), 'one list shape: next_cursor');
      if (!page.next_cursor) break;
      afterId = page.next_cursor;
    }
    assert.deepEqual(forward, all.slice(2));
    expectError(await c().get(`/api/v1/conversations/${conv.id}/messages?after=x`, { token: tok(a) }), 422);
    expectError(await c().get(`/api/v1/conversations/${conv.id}/messages?after=${m1.id}&cursor=${m1.id}`, { token: tok(a) }), 422);
  });

  test('attachments are the sender\'s own media; replies stay in their conversation', async () => {
    const a = await register(url), b = await register(url), x = await register(url);
    const conv = await dm(a, b);
    const other = await dm(a, x);
    const mine = await upload(a);
    const theirs = await upload(b);
    const m = await send(a, conv, { attachments: [mine.id] });
    assert.deepEqual(m.attachments, [mine.id]);
    assert.equal(m.text, '');
    assert.equal(m.media[0].id, mine.id);
    assert.equal(m.media[0].kind, 'image');
    // Once processed, the recipient gets signed URLs (the media record itself stays the owner's).
    let seen;
    for (let i = 0; i < 200; i++) {
      seen = (await history(b, conv)).items.find((x) => x.id === m.id).media[0];
      if (seen.state === 'ready' || seen.state === 'failed') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(seen.state, 'ready');
    const img = await c().get(new URL(seen.urls.image, url).pathname + new URL(seen.urls.image, url).search);
    assert.equal(img.status, 200);
    assert.equal(img.headers.get('content-type'), 'image/jpeg');
    expectError(await c().get(`/api/v1/media/${mine.id}`, { token: tok(b) }), 404);
    expectError(await c().post(`/api/v1/conversations/${conv.id}/messages`, { token: tok(a), json: { text: 'x', attachments: [theirs.id] } }), 422);
    expectError(await c().post(`/api/v1/conversations/${conv.id}/messages`, { token: tok(a), json: { attachments: [mine.id, mine.id] } }), 422);
    expectError(await c().post(`/api/v1/conversations/${conv.id}/messages`, { token: tok(a), json: { attachments: Array(11).fill(mine.id) } }), 422);
    const reply = await send(b, conv, { text: 're', reply_to: m.id });
    assert.equal(reply.reply_to, m.id);
    const elsewhere = await send(a, other, { text: 'hey x' });
    expectError(await c().post(`/api/v1/conversations/${conv.id}/messages`, { token: tok(a), json: { text: 'x', reply_to: elsewhere.id } }), 422);
    assert.equal((await history(a, conv)).items.length, 2);
  });

  test('edit by the sender only; delete for everyone by the sender', async () => {
    const a = await register(url), b = await register(url);
    const conv = await dm(a, b);
    const m = await send(a, conv, { text: 'typo' });
    const edit = (who, json, id = m.id) => c().patch(`/api/v1/conversations/${conv.id}/messages/${id}`, { token: tok(who), json });
    expectError(await edit(b, { text: 'hacked' }), 403, 'not_sender');
    expectError(await edit(a, { text: 'x'.repeat(4001) }), 422);
    expectError(await edit(a, { text: '' }), 422);
    expectError(await edit(a, { text: 'x', kind: 'system' }), 422);
    expectError(await edit(a, { text: 'x' }, '999999999999'), 404, 'message_not_found');
    const fixed = ok(await edit(a, { text: 'fixed' }));
    assert.equal(fixed.text, 'fixed');
    assert.ok(fixed.edited_at);
    let items = (await history(b, conv)).items;
    assert.equal(items[0].text, 'fixed');
    assert.ok(items[0].edited_at);
    expectError(await c().del(`/api/v1/conversations/${conv.id}/messages/${m.id}`, { token: tok(b) }), 403);
    assert.equal((await history(b, conv)).items[0].deleted, false);
    assert.equal((await c().del(`/api/v1/conversations/${conv.id}/messages/${m.id}`, { token: tok(a) })).status, 204);
    assert.equal((await c().del(`/api/v1/conversations/${conv.id}/messages/${m.id}`, { token: tok(a) })).status, 204, 'idempotent');
    items = (await history(b, conv)).items;
    assert.equal(items[0].id, m.id);
    assert.equal(items[0].deleted, true);
    assert.equal(items[0].text, null);
    expectError(await edit(a, { text: 'back' }), 409, 'message_deleted');
  });
});

describe('inbox, unread counts and receipts', () => {
  test('unread counts from the read pointer; receipts only move forward', async () => {
    const a = await register(url), b = await register(url);
    const conv = await dm(a, b);
    const ms = [];
    for (let i = 0; i < 4; i++) ms.push(await send(b, conv, { text: `m${i}` }));
    let item = (await inbox(a)).items[0];
    assert.equal(item.unread, 4);
    assert.equal(item.last_message.id, ms[3].id);
    assert.equal((await inbox(b)).items[0].unread, 0, 'own messages are not unread');
    const read = (who, json) => c().post(`/api/v1/conversations/${conv.id}/read`, { token: tok(who), json });
    assert.equal((await read(a, { message_id: ms[1].id })).status, 204);
    item = (await inbox(a)).items[0];
    assert.equal(item.unread, 2);
    assert.equal(item.last_read_id, ms[1].id);
    assert.equal((await read(a, { message_id: ms[0].id })).status, 204);
    assert.equal((await inbox(a)).items[0].last_read_id, ms[1].id, 'never backwards');
    expectError(await read(a, {}), 422);
    expectError(await read(a, { message_id: 17 }), 422);
    expectError(await read(a, { message_id: '999999999999' }), 404, 'message_not_found');
    const other = await dm(a, await register(url));
    const foreign = await send(a, other, { text: 'x' });
    expectError(await read(a, { message_id: foreign.id }), 404, 'message_not_found');
    const delivered = await c().post(`/api/v1/conversations/${conv.id}/delivered`, { token: tok(a), json: { message_id: ms[3].id } });
    assert.equal(delivered.status, 204);
    const full = ok(await getConv(b, conv));
    const aSide = full.members.find((m) => m.user.id === a.user.id);
    assert.equal(aSide.last_read_id, ms[1].id);
    assert.equal(aSide.last_delivered_id, ms[3].id);
    assert.equal(ok(await getConv(a, conv)).unread, 2);
    // A deleted message is no longer unread.
    await c().del(`/api/v1/conversations/${conv.id}/messages/${ms[3].id}`, { token: tok(b) });
    assert.equal((await inbox(a)).items.find((x) => x.id === conv.id).unread, 1);
  });

  test('the inbox is ordered by latest activity and pages by cursor without repeats', async () => {
    const me = await register(url);
    const peers = await Promise.all(Array.from({ length: 4 }, () => register(url)));
    const convs = [];
    for (const p of peers) convs.push(await dm(me, p));
    await send(peers[0], convs[0], { text: 'bump the oldest' });
    const expected = [convs[0], convs[3], convs[2], convs[1]].map((x) => x.id);
    assert.deepEqual((await inbox(me)).items.map((x) => x.id), expected);
    const seen = [];
    let cursor = '';
    do {
      const page = await inbox(me, `?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.items.map((x) => x.id));
      cursor = page.next_cursor;
    } while (cursor);
    assert.deepEqual(seen, expected);
    assert.equal((await inbox(me)).items[0].last_message.text, 'bump the oldest');
  });
});

describe('groups', () => {
  test('admins manage members; system events record every change', async () => {
    const a = await register(url), b = await register(url), d = await register(url), e = await register(url);
    const g = await group(a, [b]);
    assert.equal(g.kind, 'group');
    assert.equal(g.title, 'friends');
    assert.equal(g.role, 'admin');
    assert.equal(g.member_count, 2);
    assert.equal(ok(await getConv(b, g)).role, 'member');
    const add = (who, ids) => c().post(`/api/v1/conversations/${g.id}/members`, { token: tok(who), json: { member_ids: ids } });
    expectError(await add(b, [d.user.id]), 403, 'not_admin');
    expectError(await add(a, []), 422);
    expectError(await add(a, ['999999999999']), 404, 'user_not_found');
    assert.equal(ok(await getConv(a, g)).member_count, 2, 'nothing changed');
    const added = ok(await add(a, [d.user.id, e.user.id]));
    assert.equal(added.member_count, 4);
    assert.equal(ok(await add(a, [d.user.id])).member_count, 4, 'idempotent');
    // A late member sees history from when they joined.
    const events = (await history(d, g)).items.map((m) => m.event?.event);
    assert.deepEqual(events, ['members_added']);
    const early = (await history(b, g)).items.map((m) => m.event?.event);
    assert.deepEqual(early, ['members_added', 'created']);
    // Non-admins cannot remove or promote; admins can.
    expectError(await c().del(`/api/v1/conversations/${g.id}/members/${e.user.id}`, { token: tok(b) }), 403);
    expectError(await c().patch(`/api/v1/conversations/${g.id}/members/${b.user.id}`, { token: tok(b), json: { role: 'admin' } }), 403);
    expectError(await c().patch(`/api/v1/conversations/${g.id}/members/${b.user.id}`, { token: tok(a), json: { role: 'boss' } }), 422);
    expectError(await c().patch(`/api/v1/conversations/${g.id}/members/999999999999`, { token: tok(a), json: { role: 'admin' } }), 404, 'member_not_found');
    expectError(await c().patch(`/api/v1/conversations/${g.id}/members/${a.user.id}`, { token: tok(a), json: { role: 'member' } }), 409, 'last_admin');
    assert.equal((await c().del(`/api/v1/conversations/${g.id}/members/${e.user.id}`, { token: tok(a) })).status, 204);
    expectError(await getConv(e, g), 404);
    expectError(await c().post(`/api/v1/conversations/${g.id}/messages`, { token: tok(e), json: { text: 'still here?' } }), 404);
    expectError(await c().del(`/api/v1/conversations/${g.id}/members/${e.user.id}`, { token: tok(a) }), 404, 'member_not_found');
    const promoted = ok(await c().patch(`/api/v1/conversations/${g.id}/members/${d.user.id}`, { token: tok(a), json: { role: 'admin' } }));
    assert.equal(promoted.members.find((m) => m.user.id === d.user.id).role, 'admin');
    // Renaming is for admins.
    expectError(await c().patch(`/api/v1/conversations/${g.id}`, { token: tok(b), json: { title: 'mine' } }), 403);
    expectError(await c().patch(`/api/v1/conversations/${g.id}`, { token: tok(a), json: { title: '' } }), 422);
    assert.equal(ok(await c().patch(`/api/v1/conversations/${g.id}`, { token: tok(a), json: { title: 'renamed' } })).title, 'renamed');
    const log = (await history(a, g)).items.map((m) => m.event?.event).reverse();
    assert.deepEqual(log, ['created', 'members_added', 'member_removed', 'role_changed', 'title_changed']);
    const removed = (await history(a, g)).items.find((m) => m.event?.event === 'member_removed');
    assert.equal(removed.event.user_id, e.user.id);
    assert.equal(removed.sender_id, a.user.id);
    assert.equal(removed.text, null);
  });

  test('a group admin may delete anyone\'s message; a member only their own', async () => {
    const a = await register(url), b = await register(url), d = await register(url);
    const g = await group(a, [b, d]);
    const mb = await send(b, g, { text: 'from b' });
    const md = await send(d, g, { text: 'from d' });
    expectError(await c().del(`/api/v1/conversations/${g.id}/messages/${md.id}`, { token: tok(b) }), 403, 'not_sender');
    expectError(await c().patch(`/api/v1/conversations/${g.id}/messages/${md.id}`, { token: tok(a), json: { text: 'admin edit' } }), 403, 'not_sender');
    assert.equal((await c().del(`/api/v1/conversations/${g.id}/messages/${md.id}`, { token: tok(a) })).status, 204);
    assert.equal((await c().del(`/api/v1/conversations/${g.id}/messages/${mb.id}`, { token: tok(b) })).status, 204);
    const items = (await history(d, g)).items.filter((x) => x.kind === 'text');
    assert.deepEqual(items.map((x) => [x.id, x.deleted]), [[md.id, true], [mb.id, true]]);
    // System messages cannot be deleted or edited by anyone.
    const sys = (await history(a, g)).items.find((x) => x.kind === 'system');
    expectError(await c().del(`/api/v1/conversations/${g.id}/messages/${sys.id}`, { token: tok(a) }), 403);
    expectError(await c().patch(`/api/v1/conversations/${g.id}/messages/${sys.id}`, { token: tok(a), json: { text: 'x' } }), 403);
  });

  test('leaving: the oldest member takes over when the last admin goes', async () => {
    const a = await register(url), b = await register(url), d = await register(url);
    const g = await group(a, [b, d]);
    await send(b, g, { text: 'hi all' });
    assert.equal((await c().post(`/api/v1/conversations/${g.id}/leave`, { token: tok(a) })).status, 204);
    expectError(await getConv(a, g), 404);
    const view = ok(await getConv(b, g));
    assert.equal(view.role, 'admin', 'b joined first');
    assert.equal(view.member_count, 2);
    const left = (await history(b, g)).items[0];
    assert.equal(left.event.event, 'member_left');
    assert.equal(left.event.user_id, a.user.id);
    assert.equal(left.event.promoted, b.user.id);
    // Leaving through DELETE on oneself works too; a 1:1 cannot be left.
    assert.equal((await c().del(`/api/v1/conversations/${g.id}/members/${d.user.id}`, { token: tok(d) })).status, 204);
    assert.equal(ok(await getConv(b, g)).member_count, 1);
    const one = await dm(a, b);
    expectError(await c().post(`/api/v1/conversations/${one.id}/leave`, { token: tok(a) }), 409, 'not_a_group');
    expectError(await c().post(`/api/v1/conversations/${one.id}/members`, { token: tok(a), json: { member_ids: [d.user.id] } }), 409, 'not_a_group');
  });

  test('a group holds at most 256 members', async () => {
    const a = await register(url);
    const members = await Promise.all(Array.from({ length: 6 }, () => register(url)));
    const g = await group(a, members.slice(0, 1));
    // Far more ids than fit are refused before anything is looked up.
    const tooMany = Array.from({ length: 256 }, (_, i) => String(1000000 + i));
    expectError(await c().post(`/api/v1/conversations/${g.id}/members`, { token: tok(a), json: { member_ids: tooMany } }), 422);
    assert.equal(ok(await getConv(a, g)).member_count, 2);
  });
});

describe('blocks and message requests', () => {
  test('blocked users cannot message each other or open a new 1:1', async () => {
    const a = await register(url), b = await register(url), d = await register(url);
    const conv = await dm(a, b);
    await send(b, conv, { text: 'before' });
    assert.equal((await c().post(`/api/v1/users/${b.creds.handle}/block`, { token: tok(a) })).status < 300, true);
    expectError(await c().post(`/api/v1/conversations/${conv.id}/messages`, { token: tok(b), json: { text: 'after' } }), 403, 'cannot_message');
    expectError(await c().post(`/api/v1/conversations/${conv.id}/messages`, { token: tok(a), json: { text: 'after' } }), 403, 'cannot_message');
    assert.equal((await history(a, conv)).items.length, 1);
    await c().post(`/api/v1/users/${a.creds.handle}/block`, { token: tok(d) });
    expectError(await c().post('/api/v1/conversations', { token: tok(a), json: { kind: 'direct', member_ids: [d.user.id] } }), 404, 'user_not_found');
    expectError(await c().post('/api/v1/conversations', { token: tok(d), json: { kind: 'direct', member_ids: [a.user.id] } }), 404, 'user_not_found');
    expectError(await c().post('/api/v1/conversations', { token: tok(a), json: { kind: 'group', title: 'g', member_ids: [d.user.id] } }), 404, 'user_not_found');
    assert.deepEqual((await inbox(d)).items, []);
  });

  test('a private account gets DMs from non-followers as requests', async () => {
    const priv = await register(url), stranger = await register(url), fan = await register(url);
    ok(await c().patch('/api/v1/users/me', { token: tok(priv), json: { is_private: true } }));
    // A follower (accepted) may DM directly.
    await c().post(`/api/v1/users/${priv.creds.handle}/follow`, { token: tok(fan) });
    const reqs = ok(await c().get('/api/v1/follow-requests', { token: tok(priv) }));
    await c().post(`/api/v1/follow-requests/${reqs.items[0].id}/accept`, { token: tok(priv) });
    const direct = await dm(fan, priv);
    assert.deepEqual((await inbox(priv)).items.map((x) => x.id), [direct.id]);
    // A stranger's DM is a request: not in the inbox, listed under message-requests.
    const conv = await dm(stranger, priv);
    const m = await send(stranger, conv, { text: 'hello?' });
    assert.deepEqual((await inbox(stranger)).items.map((x) => x.id), [conv.id], 'the sender sees it');
    assert.deepEqual((await inbox(priv)).items.map((x) => x.id), [direct.id]);
    const pending = ok(await c().get('/api/v1/message-requests', { token: tok(priv) }));
    assert.deepEqual(pending.items.map((x) => x.id), [conv.id]);
    assert.equal(pending.items[0].state, 'request');
    assert.equal(pending.items[0].unread, 1);
    assert.equal(pending.items[0].last_message.text, 'hello?');
    // The recipient may read the request but not act in it before accepting.
    assert.equal((await history(priv, conv)).items[0].id, m.id);
    expectError(await c().post(`/api/v1/conversations/${conv.id}/read`, { token: tok(priv), json: { message_id: m.id } }), 403, 'message_request_pending');
    expectError(await c().post(`/api/v1/message-requests/${direct.id}/accept`, { token: tok(priv) }), 404, 'request_not_found');
    expectError(await c().post(`/api/v1/message-requests/${conv.id}/accept`, { token: tok(stranger) }), 404, 'request_not_found');
    const accepted = ok(await c().post(`/api/v1/message-requests/${conv.id}/accept`, { token: tok(priv) }));
    assert.equal(accepted.state, 'active');
    assert.deepEqual((await inbox(priv)).items.map((x) => x.id).sort(), [direct.id, conv.id].sort());
    assert.deepEqual(ok(await c().get('/api/v1/message-requests', { token: tok(priv) })).items, []);
    assert.equal((await c().post(`/api/v1/conversations/${conv.id}/read`, { token: tok(priv), json: { message_id: m.id } })).status, 204);
  });

  test('declining hides a request for good; the sender is not told', async () => {
    const priv = await register(url), stranger = await register(url);
    ok(await c().patch('/api/v1/users/me', { token: tok(priv), json: { is_private: true } }));
    const conv = await dm(stranger, priv);
    await send(stranger, conv, { text: 'spam' });
    assert.equal((await c().post(`/api/v1/message-requests/${conv.id}/decline`, { token: tok(priv) })).status, 204);
    assert.deepEqual(ok(await c().get('/api/v1/message-requests', { token: tok(priv) })).items, []);
    expectError(await getConv(priv, conv), 404);
    await send(stranger, conv, { text: 'more spam' }, 201);
    assert.deepEqual(ok(await c().get('/api/v1/message-requests', { token: tok(priv) })).items, []);
    assert.deepEqual((await inbox(priv)).items, []);
    // Opening the 1:1 oneself brings it back.
    assert.equal((await dm(priv, stranger, 200)).id, conv.id);
    assert.deepEqual((await inbox(priv)).items.map((x) => x.id), [conv.id]);
  });

  test('replying to a request accepts it', async () => {
    const priv = await register(url), stranger = await register(url);
    ok(await c().patch('/api/v1/users/me', { token: tok(priv), json: { is_private: true } }));
    const conv = await dm(stranger, priv);
    await send(stranger, conv, { text: 'hi' });
    await send(priv, conv, { text: 'hi back' });
    assert.deepEqual((await inbox(priv)).items.map((x) => x.id), [conv.id]);
  });
});

describe('catch-up', () => {
  test('GET /messages/sync returns every missed message across conversations, in order, and what changed', async () => {
    const me = await register(url), b = await register(url), d = await register(url);
    const c1 = await dm(me, b);
    const c2 = await group(d, [me]);
    const first = await send(b, c1, { text: 'one' });
    const sync = async (after) => ok(await c().get(`/api/v1/messages/sync?after=${after}`, { token: tok(me) }));
    const sent = [];
    for (let i = 0; i < 3; i++) {
      sent.push(await send(b, c1, { text: `b${i}` }));
      sent.push(await send(d, c2, { text: `d${i}` }));
    }
    await c().patch(`/api/v1/conversations/${c1.id}/messages/${first.id}`, { token: tok(b), json: { text: 'one (edited)' } });
    const got = await sync(first.id);
    assert.deepEqual(got.messages.map((m) => m.id), sent.map((m) => m.id));
    assert.equal(got.has_more, false);
    assert.equal(got.last_id, sent.at(-1).id);
    assert.deepEqual(got.changed.map((m) => [m.id, m.text]), [[first.id, 'one (edited)']]);
    const none = await sync(got.last_id);
    assert.deepEqual(none.messages, []);
    assert.equal(none.last_id, got.last_id);
    const everything = await sync(0);
    assert.ok(everything.messages.some((m) => m.event?.event === 'created'));
    assert.deepEqual(everything.messages.map((m) => m.id), [...everything.messages.map((m) => m.id)].sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : 1)));
    expectError(await c().get('/api/v1/messages/sync?after=x', { token: tok(me) }), 422);
    expectError(await c().get('/api/v1/messages/sync'), 401);
    // Someone else's messages never appear.
    const x = await register(url);
    assert.deepEqual((await ok(await c().get('/api/v1/messages/sync', { token: tok(x) }))).messages, []);
  });

  test('catch-up pages through more than 200 messages without loss or repeats', async () => {
    const me = await register(url), b = await register(url);
    const conv = await dm(b, me);
    const sent = [];
    for (let i = 0; i < 230; i++) sent.push((await send(b, conv, { text: `#${i}` })).id);
    const got = [];
    let after = '0', pages = 0;
    for (;;) {
      const page = ok(await c().get(`/api/v1/messages/sync?after=${after}`, { token: tok(me) }));
      got.push(...page.messages.map((m) => m.id));
      pages++;
      // the one list shape too: next_cursor is last_id while more wait, else null
      assert.equal(page.next_cursor, page.has_more ? page.last_id : null);
      if (!page.has_more) break;
      after = page.next_cursor;
    }
    assert.equal(pages, 2);
    assert.deepEqual(got, sent);
  });
});

describe('concurrency', () => {
  test('racing sends with one client_id make one message; racing opens make one 1:1', async () => {
    const a = await register(url), b = await register(url);
    const [x, y] = await Promise.all([
      c().post('/api/v1/conversations', { token: tok(a), json: { kind: 'direct', member_ids: [b.user.id] } }),
      c().post('/api/v1/conversations', { token: tok(b), json: { kind: 'direct', member_ids: [a.user.id] } }),
    ]);
    assert.deepEqual([x.status, y.status].sort(), [200, 201]);
    assert.equal(x.json.id, y.json.id);
    const conv = x.json;
    const rs = await Promise.all(Array.from({ length: 8 }, () =>
      c().post(`/api/v1/conversations/${conv.id}/messages`, { token: tok(a), json: { text: 'once', client_id: 'race' } })));
    assert.deepEqual(rs.map((r) => r.status).sort(), [200, 200, 200, 200, 200, 200, 200, 201]);
    assert.equal(new Set(rs.map((r) => r.json.id)).size, 1);
    // Many senders at once: every message is stored once and history is in id order.
    const burst = await Promise.all(Array.from({ length: 20 }, (_, i) => send(i % 2 ? a : b, conv, { text: `burst ${i}` })));
    const hist = (await history(a, conv, '?limit=100')).items.map((m) => m.id);
    assert.equal(hist.length, 21);
    for (const m of burst) assert.ok(hist.includes(m.id));
    assert.deepEqual(hist, [...hist].sort((p, q) => (BigInt(p) > BigInt(q) ? -1 : 1)));
  });
});
