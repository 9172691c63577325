// SPDX-License-Identifier: MIT
// The home and trending feeds read through their candidate caches (domain/feed_cache.c): a
// viewer whose timeline is already cached must see every change that concerns them at once —
// new posts, follows (also through an accepted request), unfollows, mutes, blocks in either
// direction, deletes and visibility edits — and trending must pick up new posts within its
// refresh interval while never showing a deleted or hidden one.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopAll, metricSum, CLUSTER_NODES } from './lib/harness.mjs';
import { client, register } from './lib/accounts.mjs';

let url, server;
before(async () => {
  server = await startServer({ args: ['--trust-proxy', '--rate-limit', '0', '--auth-rate-limit', '0'] });
  url = server.url;
});
after(stopAll);
const c = () => client(url);
const tok = (u) => ({ token: u.tokens.access_token });
const post = async (u, caption, visibility = 'public') => {
  const r = await c().post('/api/v1/posts', { ...tok(u), json: { caption, visibility } });
  assert.equal(r.status, 201, r.text);
  return r.json;
};
const home = async (u, q = '') => {
  const r = await c().get(`/api/v1/feed/home${q}`, tok(u));
  assert.equal(r.status, 200, r.text);
  return r.json;
};
const captions = async (u) => (await home(u)).items.map((p) => p.caption);
/** The cache's counter, summed over the nodes in cluster mode (each has its own cache). */
const metric = (outcome) => metricSum(server, `streamhub_feed_cache_total{outcome="${outcome}"}`);

describe('home feed with a warm timeline', () => {
  test('follows, new posts, mutes, unfollows and blocks show at once', async () => {
    const [v, a, b] = await Promise.all([register(url), register(url), register(url)]);
    await post(a, 'a1');
    await post(v, 'mine');
    const misses = await metric('miss');
    // one read more than there are nodes: behind round robin some node reads it twice
    for (let i = 0; i <= Math.max(CLUSTER_NODES, 1); i++) assert.deepEqual(await captions(v), ['mine']);
    assert.ok((await metric('miss')) - misses >= 1 && (await metric('hit')) >= 1, 'the second read came from the cache');

    assert.equal((await c().post(`/api/v1/users/${a.creds.handle}/follow`, tok(v))).status, 200);
    assert.deepEqual(await captions(v), ['mine', 'a1'], 'a follow shows the followee\'s older posts');
    await post(a, 'a2');
    assert.deepEqual(await captions(v), ['a2', 'mine', 'a1'], 'a new post by a followee shows');
    await post(b, 'b1');
    assert.deepEqual(await captions(v), ['a2', 'mine', 'a1'], 'a stranger\'s post does not');

    assert.equal((await c().post(`/api/v1/users/${a.creds.handle}/mute`, tok(v))).status, 204);
    assert.deepEqual(await captions(v), ['mine']);
    assert.equal((await c().del(`/api/v1/users/${a.creds.handle}/mute`, tok(v))).status, 204);
    assert.deepEqual(await captions(v), ['a2', 'mine', 'a1']);

    assert.equal((await c().del(`/api/v1/users/${a.creds.handle}/follow`, tok(v))).status, 204);
    assert.deepEqual(await captions(v), ['mine']);

    // A block by the *other* side ends the follow and empties the viewer's feed of them.
    await c().post(`/api/v1/users/${b.creds.handle}/follow`, tok(v));
    assert.deepEqual(await captions(v), ['b1', 'mine']);
    assert.equal((await c().post(`/api/v1/users/${v.creds.handle}/block`, tok(b))).status, 204);
    assert.deepEqual(await captions(v), ['mine']);
  });

  test('an accepted follow request, deletes and visibility edits', async () => {
    const [v, p] = await Promise.all([register(url), register(url)]);
    await c().patch('/api/v1/users/me', { ...tok(p), json: { is_private: true } });
    const secret = await post(p, 'for followers', 'followers');
    assert.deepEqual(await captions(v), []);
    const req = await c().post(`/api/v1/users/${p.creds.handle}/follow`, tok(v));
    assert.equal(req.json.status, 'requested', req.text);
    assert.deepEqual(await captions(v), [], 'a pending request shows nothing');
    const list = await c().get('/api/v1/follow-requests', tok(p));
    const rid = list.json.items[0].id;
    assert.equal((await c().post(`/api/v1/follow-requests/${rid}/accept`, tok(p))).status, 204);
    assert.deepEqual(await captions(v), ['for followers'], 'accepting shows the posts at once');

    const gone = await post(p, 'soon gone');
    assert.deepEqual(await captions(v), ['soon gone', 'for followers']);
    assert.equal((await c().del(`/api/v1/posts/${gone.id}`, tok(p))).status, 204);
    assert.deepEqual(await captions(v), ['for followers'], 'a delete shows at once');
    await c().patch(`/api/v1/posts/${secret.id}`, { ...tok(p), json: { visibility: 'private' } });
    assert.deepEqual(await captions(v), [], 'so does a visibility edit');
  });

  test('pages of a long timeline run past what the cache holds without gaps or repeats', async () => {
    const [v, a] = await Promise.all([register(url), register(url)]);
    await c().post(`/api/v1/users/${a.creds.handle}/follow`, tok(v));
    const made = [];
    for (let i = 0; i < 180; i++) made.push((await post(a, `p${i}`)).caption);
    const seen = [];
    let cursor = null;
    do {
      const page = await home(v, `?limit=50${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.items.map((p) => p.caption));
      cursor = page.next_cursor;
    } while (cursor);
    assert.deepEqual(seen, made.reverse());
  });
});

describe('trending through the shared list', () => {
  test('new posts arrive within the refresh interval; deleted and hidden ones never show', async () => {
    const t = await startServer({ args: ['--trust-proxy', '--rate-limit', '0', '--auth-rate-limit', '0', '--trending-refresh-ms', '300'] });
    const cc = () => client(t.url);
    const a = await register(t.url);
    const mk = async (caption) =>
      (await cc().post('/api/v1/posts', { ...tok(a), json: { caption } })).json;
    const first = await mk('first');
    const trending = async () => (await cc().get('/api/v1/feed/trending')).json.items.map((p) => p.caption);
    assert.deepEqual(await trending(), ['first']);
    await mk('second');
    let got = [];
    for (let i = 0; i < 50 && got.length < 2; i++) {
      got = await trending();
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(got, ['second', 'first']);
    await cc().patch(`/api/v1/posts/${first.id}`, { ...tok(a), json: { visibility: 'followers' } });
    assert.deepEqual(await trending(), ['second'], 'a post made non-public leaves at once');
    await cc().patch('/api/v1/users/me', { ...tok(a), json: { is_private: true } });
    assert.deepEqual(await trending(), [], 'so do the posts of an account made private');
  });
});
