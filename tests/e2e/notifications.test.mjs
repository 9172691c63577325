// SPDX-License-Identifier: MIT
// Notifications: created for every listed action, grouped while unread, never for one's own
// actions nor between blocked or muted users, re-checked against visibility when listed, with
// unread counts, marking read and per-type preferences.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopAll } from './lib/harness.mjs';
import { client, register, expectError } from './lib/accounts.mjs';

let url;
before(async () => { url = (await startServer({ args: ['--trust-proxy', '--rate-limit', '0', '--auth-rate-limit', '0'] })).url; });
after(stopAll);
const c = () => client(url);
const tok = (u) => u.tokens.access_token;
const follow = (who, whom) => c().post(`/api/v1/users/${whom.creds.handle}/follow`, { token: tok(who) });
const post = async (who, json) => (await c().post('/api/v1/posts', { token: tok(who), json })).json;
const list = async (who, q = '') => {
  const r = await c().get(`/api/v1/notifications${q}`, { token: tok(who) });
  assert.equal(r.status, 200, r.text);
  return r.json;
};
const kinds = async (who) => (await list(who)).items.map((n) => [n.type, n.actor.handle, n.actor_count]);
const unread = async (who) => (await c().get('/api/v1/notifications/unread-count', { token: tok(who) })).json.unread;

describe('notifications', () => {
  test('one for each kind of action, newest first, with a readable summary', async () => {
    const a = await register(url);
    const b = await register(url);
    await follow(b, a);
    const p = await post(a, { caption: 'hello' });
    await c().post(`/api/v1/posts/${p.id}/reactions`, { token: tok(b) });
    const cm = (await c().post(`/api/v1/posts/${p.id}/comments`, { token: tok(b), json: { body: `nice @${a.creds.handle}` } })).json;
    const mine = (await c().post(`/api/v1/posts/${p.id}/comments`, { token: tok(a), json: { body: 'thanks' } })).json;
    await c().post(`/api/v1/posts/${p.id}/comments`, { token: tok(b), json: { body: 'reply', parent_id: mine.id } });
    await c().post(`/api/v1/comments/${mine.id}/like`, { token: tok(b) });
    await c().post(`/api/v1/posts/${p.id}/shares`, { token: tok(b) });
    await post(b, { caption: 'duet', duet_of: p.id });
    await post(b, { caption: 'stitch', stitch_of: p.id });
    await post(b, { caption: `hey @${a.creds.handle}` });
    const got = await kinds(a);
    assert.deepEqual(got.map((x) => x[0]), ['mention', 'stitch', 'duet', 'share', 'comment_like', 'reply', 'comment', 'like', 'follow']);
    assert.ok(got.every((x) => x[1] === b.creds.handle && x[2] === 1));
    const items = (await list(a)).items;
    assert.equal(items.find((n) => n.type === 'like').text, `${b.creds.handle} liked your post`);
    assert.equal(items.find((n) => n.type === 'comment').comment_id, cm.id);
    assert.equal(items.find((n) => n.type === 'like').post_id, p.id);
    assert.equal(await unread(a), 9);
    // Nothing for one's own actions: b heard nothing from a's comment and like of their own post.
    assert.deepEqual(await kinds(b), []);
  });

  test('likes and follows group while unread; reading starts a new group', async () => {
    const a = await register(url);
    const p = await post(a, { caption: 'popular' });
    const fans = await Promise.all(Array.from({ length: 13 }, () => register(url)));
    for (const f of fans) await c().post(`/api/v1/posts/${p.id}/reactions`, { token: tok(f) });
    await Promise.all(fans.slice(0, 5).map((f) => follow(f, a)));
    let items = (await list(a)).items;
    assert.deepEqual(items.map((n) => [n.type, n.actor_count]), [['follow', 5], ['like', 13]]);
    const like = items[1];
    assert.equal(like.actor.handle, fans[12].creds.handle, 'the newest actor');
    assert.equal(like.text, `${fans[12].creds.handle} and 12 others liked your post`);
    assert.equal(await unread(a), 2);
    const r = await c().post('/api/v1/notifications/read', { token: tok(a), json: { ids: [like.id] } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.unread, 1);
    const late = await register(url);
    await c().post(`/api/v1/posts/${p.id}/reactions`, { token: tok(late) });
    items = (await list(a)).items;
    assert.deepEqual(items.map((n) => [n.type, n.actor_count, n.read]), [['like', 1, false], ['follow', 5, false], ['like', 13, true]]);
    assert.equal((await c().post('/api/v1/notifications/read', { token: tok(a), json: { all: true } })).json.unread, 0);
    assert.ok((await list(a)).items.every((n) => n.read));
    // Pages of one walk the whole list.
    const seen = [];
    let cursor = '';
    do {
      const page = await list(a, `?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.items.map((n) => n.id));
      cursor = page.next_cursor;
    } while (cursor);
    assert.deepEqual(seen, items.map((n) => n.id));
  });

  test('follow requests and their acceptance', async () => {
    const priv = await register(url);
    const fan = await register(url);
    await c().patch('/api/v1/users/me', { token: tok(priv), json: { is_private: true } });
    await follow(fan, priv);
    assert.deepEqual((await kinds(priv)).map((x) => x[0]), ['follow_request']);
    const req = (await c().get('/api/v1/follow-requests', { token: tok(priv) })).json.items[0];
    await c().post(`/api/v1/follow-requests/${req.request_id || req.id}/accept`, { token: tok(priv) });
    assert.deepEqual((await kinds(fan)).map((x) => x[0]), ['follow_accepted']);
  });

  test('never between blocked or muted users; mentions only reach those who can see the post', async () => {
    const a = await register(url);
    const blocked = await register(url);
    const muted = await register(url);
    const stranger = await register(url);
    const p = await post(a, { caption: 'post' });
    await c().post(`/api/v1/users/${muted.creds.handle}/mute`, { token: tok(a) });
    await c().post(`/api/v1/posts/${p.id}/reactions`, { token: tok(muted) });
    await follow(muted, a);
    await c().post(`/api/v1/posts/${p.id}/reactions`, { token: tok(blocked) });
    await c().post(`/api/v1/users/${blocked.creds.handle}/block`, { token: tok(a) });
    // The like from before the block disappears from the list; nothing new arrives.
    assert.deepEqual(await kinds(a), []);
    await post(a, { caption: `secret for @${stranger.creds.handle}`, visibility: 'private' });
    assert.deepEqual(await kinds(stranger), [], 'a private post does not notify the mentioned');
    const fo = await post(a, { caption: `for followers @${stranger.creds.handle}`, visibility: 'followers' });
    assert.deepEqual(await kinds(stranger), []);
    await follow(stranger, a);
    await c().patch(`/api/v1/posts/${fo.id}`, { token: tok(a), json: { caption: `edited @${stranger.creds.handle}` } });
    assert.deepEqual((await kinds(stranger)), [], 'an edit does not repeat a mention already made');
    const pub = await post(a, { caption: `public @${stranger.creds.handle}` });
    assert.deepEqual((await kinds(stranger)).map((x) => x[0]), ['mention']);
    // Deleting the post removes its notification from the list.
    await c().del(`/api/v1/posts/${pub.id}`, { token: tok(a) });
    assert.deepEqual(await kinds(stranger), []);
  });

  test('preferences switch types off and on', async () => {
    const a = await register(url);
    const b = await register(url);
    let prefs = await c().get('/api/v1/notifications/preferences', { token: tok(a) });
    assert.equal(prefs.status, 200);
    assert.equal(prefs.json.like, true);
    prefs = await c().patch('/api/v1/notifications/preferences', { token: tok(a), json: { like: false, follow: false } });
    assert.equal(prefs.status, 200, prefs.text);
    assert.deepEqual([prefs.json.like, prefs.json.follow, prefs.json.comment], [false, false, true]);
    const p = await post(a, { caption: 'x' });
    await c().post(`/api/v1/posts/${p.id}/reactions`, { token: tok(b) });
    await follow(b, a);
    await c().post(`/api/v1/posts/${p.id}/comments`, { token: tok(b), json: { body: 'hi' } });
    assert.deepEqual((await kinds(a)).map((x) => x[0]), ['comment']);
    await c().patch('/api/v1/notifications/preferences', { token: tok(a), json: { like: true } });
    assert.equal((await c().get('/api/v1/notifications/preferences', { token: tok(a) })).json.like, true);
  });

  test('bad input and anonymous callers', async () => {
    const a = await register(url);
    const other = await register(url);
    for (const json of [{}, { ids: 'x' }, { ids: [1] }, { ids: ['abc'] }, { ids: Array(101).fill('1') }, { all: 'yes' }, { all: true, ids: [] }, { extra: 1 }])
      expectError(await c().post('/api/v1/notifications/read', { token: tok(a), json }), 422, 'validation_failed');
    for (const json of [{ likes: false }, { like: 'no' }, { like: null }])
      expectError(await c().patch('/api/v1/notifications/preferences', { token: tok(a), json }), 422, 'validation_failed');
    for (const q of ['?limit=0', '?cursor=zz'])
      expectError(await c().get(`/api/v1/notifications${q}`, { token: tok(a) }), 422, 'validation_failed');
    for (const [m, p] of [['GET', '/api/v1/notifications'], ['GET', '/api/v1/notifications/unread-count'], ['GET', '/api/v1/notifications/preferences']])
      expectError(await c().request(m, p), 401, 'unauthenticated');
    expectError(await c().post('/api/v1/notifications/read', { json: { all: true } }), 401, 'unauthenticated');
    // Marking someone else's notification read changes nothing for them.
    const p = await post(other, { caption: 'x' });
    await c().post(`/api/v1/posts/${p.id}/reactions`, { token: tok(a) });
    const theirs = (await list(other)).items[0];
    await c().post('/api/v1/notifications/read', { token: tok(a), json: { ids: [theirs.id] } });
    assert.equal((await list(other)).items[0].read, false);
  });
});
