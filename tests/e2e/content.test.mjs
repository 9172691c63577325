// SPDX-License-Identifier: MIT
// Content beyond plain posts: 24-hour stories with seen flags, shares, duets and stitches with
// their authors' switches, views counted once per window, comment likes, hashtags and mentions,
// and the trending feed's time-decayed ranking.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer, stopAll } from './lib/harness.mjs';
import { client, register, expectError } from './lib/accounts.mjs';

const STORY_TTL = 3; // seconds: stories are configured to expire quickly here
let url;
before(async () => {
  url = (await startServer({ args: ['--trust-proxy', '--rate-limit', '0', '--auth-rate-limit', '0', '--story-ttl', String(STORY_TTL)] })).url;
});
after(stopAll);
const c = () => client(url);
const follow = (who, whom) => c().post(`/api/v1/users/${whom.creds.handle}/follow`, { token: who.tokens.access_token });
const post = async (who, json) => {
  const r = await c().post('/api/v1/posts', { token: who.tokens.access_token, json });
  assert.equal(r.status, 201, r.text);
  return r.json;
};
const uniqueTag = (p) => `${p}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

describe('stories', () => {
  test('grouped by author with seen flags, gone everywhere after their lifetime', async () => {
    const a = await register(url);
    const b = await register(url);
    const muted = await register(url);
    const viewer = await register(url);
    for (const u of [a, b, muted]) await follow(viewer, u);
    await c().post(`/api/v1/users/${muted.creds.handle}/mute`, { token: viewer.tokens.access_token });
    const s1 = await post(a, { type: 'story', caption: 'morning' });
    const s2 = await post(a, { type: 'story', caption: 'noon' });
    const s3 = await post(b, { type: 'story', caption: 'b story', visibility: 'followers' });
    await post(muted, { type: 'story', caption: 'muted story' });
    assert.equal(s1.type, 'story');
    assert.ok(s1.expires_at, 'stories carry their expiry');
    const tv = viewer.tokens.access_token;

    let r = await c().get('/api/v1/stories', { token: tv });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.items.map((g) => g.author.handle), [b.creds.handle, a.creds.handle], 'newest group first, muted left out');
    assert.deepEqual(r.json.items[1].stories.map((s) => s.caption), ['morning', 'noon'], 'oldest first within a group');
    assert.ok(r.json.items.every((g) => g.has_unseen));
    // Viewing marks a story seen; the group stays unseen until every story is.
    assert.equal((await c().post(`/api/v1/posts/${s1.id}/view`, { token: tv })).status, 200);
    r = await c().get('/api/v1/stories', { token: tv });
    assert.deepEqual(r.json.items[1].stories.map((s) => s.seen), [true, false]);
    await c().post(`/api/v1/posts/${s2.id}/view`, { token: tv, json: { watch_ms: 1500 } });
    r = await c().get('/api/v1/stories', { token: tv });
    assert.equal(r.json.items[1].has_unseen, false);
    // Paging by group.
    const p1 = await c().get('/api/v1/stories?limit=1', { token: tv });
    assert.equal(p1.json.items.length, 1);
    const p2 = await c().get(`/api/v1/stories?limit=1&cursor=${p1.json.next_cursor}`, { token: tv });
    assert.deepEqual(p2.json.items.map((g) => g.author.handle), [a.creds.handle]);
    assert.equal(p2.json.next_cursor, null);
    // Stories stay out of the home feed and the profile grid.
    const home = await c().get('/api/v1/feed/home', { token: tv });
    assert.ok(!home.json.items.some((p) => p.type === 'story'));
    assert.deepEqual((await c().get(`/api/v1/users/${a.creds.handle}/posts`)).json.items, []);
    // Strangers cannot see a followers-only story.
    expectError(await c().get(`/api/v1/posts/${s3.id}`), 404, 'post_not_found');
    expectError(await c().get('/api/v1/stories'), 401, 'unauthenticated');
    for (const q of ['limit=0', 'limit=abc', 'cursor=x', 'cursor=-5'])
      expectError(await c().get(`/api/v1/stories?${q}`, { token: tv }), 422, 'validation_failed');

    await sleep(STORY_TTL * 1000 + 300);
    for (const s of [s1, s2, s3]) {
      expectError(await c().get(`/api/v1/posts/${s.id}`, { token: tv }), 404, 'post_not_found');
      expectError(await c().get(`/api/v1/posts/${s.id}`, { token: a.tokens.access_token }), 404, 'post_not_found');
      expectError(await c().post(`/api/v1/posts/${s.id}/reactions`, { token: tv }), 404, 'post_not_found');
    }
    assert.deepEqual((await c().get('/api/v1/stories', { token: tv })).json.items, []);
  });
});

describe('shares, duets and stitches', () => {
  test('a share reposts a public post with a comment and counts on the source', async () => {
    const a = await register(url);
    const b = await register(url);
    const src = await post(a, { caption: 'share me' });
    const tb = b.tokens.access_token;
    const r = await c().post(`/api/v1/posts/${src.id}/shares`, { token: tb, json: { comment: 'look at this' } });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.type, 'share');
    assert.equal(r.json.share_of, src.id);
    assert.equal(r.json.caption, 'look at this');
    const got = await c().get(`/api/v1/posts/${r.json.id}`);
    assert.equal(got.json.shared_post.id, src.id);
    assert.equal((await c().get(`/api/v1/posts/${src.id}`)).json.share_count, 1);
    // No comment is fine; sharing a share shares nothing new (refused).
    assert.equal((await c().post(`/api/v1/posts/${src.id}/shares`, { token: tb })).status, 201);
    expectError(await c().post(`/api/v1/posts/${r.json.id}/shares`, { token: tb }), 422, 'validation_failed');
    assert.equal((await c().get(`/api/v1/posts/${src.id}`)).json.share_count, 2);
    // Deleting a share lowers the count.
    await c().del(`/api/v1/posts/${r.json.id}`, { token: tb });
    assert.equal((await c().get(`/api/v1/posts/${src.id}`)).json.share_count, 1);
    // Only public posts of public accounts can be shared.
    const fo = await post(a, { caption: 'followers only', visibility: 'followers' });
    await follow(b, a);
    expectError(await c().post(`/api/v1/posts/${fo.id}/shares`, { token: tb }), 403, 'not_shareable');
    // When the source's author blocks a viewer, the share no longer shows the source to them.
    const share = (await c().post(`/api/v1/posts/${src.id}/shares`, { token: tb })).json;
    const v = await register(url);
    await c().post(`/api/v1/users/${v.creds.handle}/block`, { token: a.tokens.access_token });
    const seen = await c().get(`/api/v1/posts/${share.id}`, { token: v.tokens.access_token });
    assert.equal(seen.status, 200);
    assert.equal(seen.json.shared_post, null);
    // Bad input.
    expectError(await c().post(`/api/v1/posts/${src.id}/shares`, { token: tb, json: { comment: 5 } }), 422, 'validation_failed');
    expectError(await c().post(`/api/v1/posts/${src.id}/shares`, { token: tb, json: { extra: 1 } }), 422, 'validation_failed');
    expectError(await c().post(`/api/v1/posts/${src.id}/shares`, {}), 401, 'unauthenticated');
    expectError(await c().post('/api/v1/posts/999999999/shares', { token: tb }), 422, 'validation_failed');
    expectError(await c().post('/api/v1/posts/nope/shares', { token: tb }), 404, 'post_not_found');
  });

  test('duets and stitches reference a source its author allows', async () => {
    const a = await register(url);
    const b = await register(url);
    const src = await post(a, { caption: 'duet me' });
    const d = await post(b, { caption: 'my duet', duet_of: src.id });
    assert.equal(d.duet_of, src.id);
    const s = await post(b, { caption: 'my stitch', stitch_of: src.id });
    assert.equal(s.stitch_of, src.id);
    let got = (await c().get(`/api/v1/posts/${src.id}`)).json;
    assert.equal(got.duet_count, 1);
    assert.equal(got.stitch_count, 1);
    await c().patch('/api/v1/users/me', { token: a.tokens.access_token, json: { allow_duets: false, allow_stitches: false } });
    expectError(await c().post('/api/v1/posts', { token: b.tokens.access_token, json: { caption: 'x', duet_of: src.id } }), 403, 'duets_not_allowed');
    expectError(await c().post('/api/v1/posts', { token: b.tokens.access_token, json: { caption: 'x', stitch_of: src.id } }), 403, 'stitches_not_allowed');
    await c().del(`/api/v1/posts/${d.id}`, { token: b.tokens.access_token });
    got = (await c().get(`/api/v1/posts/${src.id}`)).json;
    assert.equal(got.duet_count, 0);
    assert.equal(got.stitch_count, 1);
    // A source the creator cannot see does not exist for them.
    const hidden = await post(a, { caption: 'mine only', visibility: 'private' });
    const r = await c().post('/api/v1/posts', { token: b.tokens.access_token, json: { caption: 'x', stitch_of: hidden.id } });
    expectError(r, 422, 'validation_failed');
    assert.deepEqual(r.json.error.details, { field: 'stitch_of', reason: 'not_found' });
  });
});

describe('views and comment likes', () => {
  test('a view counts once per viewer per window, never the author\'s', async () => {
    const a = await register(url);
    const p = await post(a, { caption: 'watch me' });
    const viewers = await Promise.all(Array.from({ length: 20 }, () => register(url)));
    const path = `/api/v1/posts/${p.id}/view`;
    const results = await Promise.all(viewers.map((v) => c().post(path, { token: v.tokens.access_token, json: { watch_ms: 3000 } })));
    assert.ok(results.every((r) => r.status === 200 && r.json.counted === true), results.map((r) => r.text).join());
    const again = await c().post(path, { token: viewers[0].tokens.access_token, json: { watch_ms: 1000 } });
    assert.equal(again.json.counted, false);
    const own = await c().post(path, { token: a.tokens.access_token });
    assert.equal(own.json.counted, false);
    assert.equal((await c().get(`/api/v1/posts/${p.id}`)).json.view_count, 20);
    for (const json of [{ watch_ms: -1 }, { watch_ms: 'long' }, { watch_ms: 1.5 }, { watch_ms: 86400001 }, { seconds: 3 },
      { completed: 'yes' }, { completed: 1 }, { source: 'fyp' }, { source: 7 }, { source: '' }, { source: 'x'.repeat(5000) }])
      expectError(await c().post(path, { token: viewers[0].tokens.access_token, json }), 422, 'validation_failed');
    const full = await c().post(path, { token: viewers[1].tokens.access_token, json: { watch_ms: 9000, completed: true, source: 'for_you' } });
    assert.equal(full.status, 200, full.text);
    assert.equal(full.json.counted, false);
    expectError(await c().post(path, {}), 401, 'unauthenticated');
    expectError(await c().post('/api/v1/posts/123/view', { token: a.tokens.access_token }), 404, 'post_not_found');
  });

  test('comment likes are idempotent and counted', async () => {
    const a = await register(url);
    const b = await register(url);
    const p = await post(a, { caption: 'comment here' });
    const cm = (await c().post(`/api/v1/posts/${p.id}/comments`, { token: a.tokens.access_token, json: { body: 'first' } })).json;
    const path = `/api/v1/comments/${cm.id}/like`;
    const tb = b.tokens.access_token;
    let r = await c().post(path, { token: tb });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { liked: true, like_count: 1 });
    r = await c().post(path, { token: tb });
    assert.equal(r.json.like_count, 1, 'idempotent');
    const list = await c().get(`/api/v1/posts/${p.id}/comments`);
    assert.equal(list.json.items[0].like_count, 1);
    assert.equal((await c().del(path, { token: tb })).status, 204);
    assert.equal((await c().del(path, { token: tb })).status, 204);
    assert.equal((await c().get(`/api/v1/posts/${p.id}/comments`)).json.items[0].like_count, 0);
    expectError(await c().post(path, {}), 401, 'unauthenticated');
    expectError(await c().post('/api/v1/comments/42/like', { token: tb }), 404, 'comment_not_found');
    // A comment on a post the viewer cannot see does not exist for them.
    const hidden = await post(a, { caption: 'secret', visibility: 'private' });
    const hc = (await c().post(`/api/v1/posts/${hidden.id}/comments`, { token: a.tokens.access_token, json: { body: 'x' } })).json;
    expectError(await c().post(`/api/v1/comments/${hc.id}/like`, { token: tb }), 404, 'comment_not_found');
  });
});

describe('hashtags and mentions', () => {
  test('captions link hashtags with live counts; edits and deletes keep them exact', async () => {
    const a = await register(url);
    const tag = uniqueTag('Tag');
    const lower = tag.toLowerCase();
    const p1 = await post(a, { caption: `hello #${tag} and #${tag} again, mail@#x.y a#b` });
    assert.deepEqual(p1.hashtags, [lower, 'x'], 'lowercased, de-duplicated; "a#b" is not a tag, "@#x" is');
    const p2 = await post(a, { caption: `second #${lower}` });
    let h = await c().get(`/api/v1/hashtags/${tag}`);
    assert.equal(h.status, 200, h.text);
    assert.deepEqual([h.json.tag, h.json.post_count], [lower, 2]);
    assert.equal((await c().get(`/api/v1/hashtags/%23${lower}`)).json.post_count, 2, 'a leading # is accepted');
    const posts = await c().get(`/api/v1/hashtags/${lower}/posts`);
    assert.deepEqual(posts.json.items.map((p) => p.id), [p2.id, p1.id]);
    await c().patch(`/api/v1/posts/${p1.id}`, { token: a.tokens.access_token, json: { caption: 'no tags now' } });
    assert.equal((await c().get(`/api/v1/hashtags/${lower}`)).json.post_count, 1);
    await c().del(`/api/v1/posts/${p2.id}`, { token: a.tokens.access_token });
    // no public post carries it any more: it answers like a tag never used
    expectError(await c().get(`/api/v1/hashtags/${lower}`), 404, 'hashtag_not_found');
    assert.deepEqual((await c().get(`/api/v1/hashtags/${lower}/posts`)).json.items, []);
    expectError(await c().get('/api/v1/hashtags/neverusedtag123'), 404, 'hashtag_not_found');
    expectError(await c().get('/api/v1/hashtags/two%20words'), 404, 'hashtag_not_found');
    expectError(await c().get(`/api/v1/hashtags/${lower}/posts?limit=0`), 422, 'validation_failed');
    // Tags in any script.
    const uni = await post(a, { caption: 'カフェ #東京カフェ #Café' });
    assert.deepEqual(uni.hashtags, ['東京カフェ', 'café']);
    assert.equal((await c().get(`/api/v1/hashtags/${encodeURIComponent('東京カフェ')}`)).status, 200);
  });

  test('parsing edge cases', async () => {
    const a = await register(url);
    const p = await post(a, { caption: '#one #ONE #two_2 #!bang ##double end#no @ana. @bob_x, email@example.com @' });
    assert.deepEqual(p.hashtags, ['one', 'two_2', 'double']);
    assert.deepEqual(p.mentions, ['ana', 'bob_x']);
  });
});

describe('trending', () => {
  test('ranks by time-decayed engagement, pages without repeats, hides what the viewer may not see', async () => {
    // A server of its own so no other test's posts mix in.
    const t = await startServer({ args: ['--trust-proxy', '--rate-limit', '0', '--auth-rate-limit', '0'] });
    const cc = () => client(t.url);
    const a = await register(t.url);
    const mk = async (caption, visibility = 'public') =>
      (await cc().post('/api/v1/posts', { token: a.tokens.access_token, json: { caption, visibility } })).json;
    const quiet = await mk('quiet');
    const liked = await mk('liked');
    const hot = await mk('hot');
    await mk('followers only', 'followers');
    const fans = await Promise.all(Array.from({ length: 8 }, () => register(t.url)));
    await Promise.all(fans.map((f) => cc().post(`/api/v1/posts/${hot.id}/reactions`, { token: f.tokens.access_token })));
    await Promise.all(fans.slice(0, 2).map((f) => cc().post(`/api/v1/posts/${liked.id}/reactions`, { token: f.tokens.access_token })));
    await cc().post(`/api/v1/posts/${hot.id}/comments`, { token: fans[0].tokens.access_token, json: { body: 'wow' } });

    const r = await cc().get('/api/v1/feed/trending');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.items.map((p) => p.caption), ['hot', 'liked', 'quiet'], 'engagement outranks a few seconds of freshness');
    // Pages of one, in the same order, ending with a null cursor.
    const seen = [];
    let cursor = '';
    do {
      const page = await cc().get(`/api/v1/feed/trending?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.json.items.map((p) => p.caption));
      cursor = page.json.next_cursor;
    } while (cursor);
    assert.deepEqual(seen, ['hot', 'liked', 'quiet']);
    // Muted or blocked authors leave a viewer's trending feed.
    const v = await register(t.url);
    await cc().post(`/api/v1/users/${a.creds.handle}/mute`, { token: v.tokens.access_token });
    assert.deepEqual((await cc().get('/api/v1/feed/trending', { token: v.tokens.access_token })).json.items, []);
    // Deleting removes a post at once; unliking lowers its rank.
    await cc().del(`/api/v1/posts/${hot.id}`, { token: a.tokens.access_token });
    await Promise.all(fans.slice(0, 2).map((f) => cc().del(`/api/v1/posts/${liked.id}/reactions`, { token: f.tokens.access_token })));
    // With no engagement left, the newer post ranks first.
    assert.deepEqual((await cc().get('/api/v1/feed/trending')).json.items.map((p) => p.caption), ['liked', 'quiet']);
    for (const q of ['cursor=abc', 'cursor=1_', 'cursor=_5', 'cursor=1_2_3', 'limit=101'])
      expectError(await cc().get(`/api/v1/feed/trending?${q}`), 422, 'validation_failed');
    assert.ok(quiet.id);
  });
});

describe('purge', () => {
  test('deleted posts and expired stories are purged after the retention period', async () => {
    const t = await startServer({ args: ['--trust-proxy', '--rate-limit', '0', '--auth-rate-limit', '0', '--story-ttl', '1', '--purge-after', '1', '--maintenance-interval', '1'] });
    const cc = () => client(t.url);
    const a = await register(t.url);
    const b = await register(t.url);
    const p = (await cc().post('/api/v1/posts', { token: a.tokens.access_token, json: { caption: 'short-lived #purgeme' } })).json;
    await cc().post(`/api/v1/posts/${p.id}/reactions`, { token: b.tokens.access_token });
    await cc().post(`/api/v1/posts/${p.id}/comments`, { token: b.tokens.access_token, json: { body: 'bye' } });
    await cc().post(`/api/v1/posts/${p.id}/save`, { token: b.tokens.access_token });
    await cc().post('/api/v1/posts', { token: a.tokens.access_token, json: { type: 'story', caption: 'a story' } });
    assert.equal((await cc().get(`/api/v1/users/${a.creds.handle}`)).json.counts.posts, 1, 'stories are not counted as posts');
    await cc().del(`/api/v1/posts/${p.id}`, { token: a.tokens.access_token });
    let purged = 0;
    for (let i = 0; i < 60 && purged < 2; i++) {
      await sleep(100);
      purged = Number((await cc().get('/metrics')).text.match(/^streamhub_posts_purged_total (\d+)/m)[1]);
    }
    assert.equal(purged, 2);
    // no public post carries the tag any more: it answers like one never used
    expectError(await cc().get('/api/v1/hashtags/purgeme'), 404, 'hashtag_not_found');
    assert.deepEqual((await cc().get('/api/v1/users/me/saved', { token: b.tokens.access_token })).json.items, []);
  });
});
