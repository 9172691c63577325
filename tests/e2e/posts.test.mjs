// SPDX-License-Identifier: MIT
// Posts (text for now): create, read, edit with history, soft delete, author lists, and a
// table-driven walk of every visibility x relationship cell through every read endpoint.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopAll } from './lib/harness.mjs';
import { client, register, expectError } from './lib/accounts.mjs';
// bounds errors also carry details.min/max (tests/e2e/lists.test.mjs checks those)
const fieldReason = (r) => ({ field: r.json.error.details.field, reason: r.json.error.details.reason });

let url;
before(async () => { url = (await startServer({ args: ['--trust-proxy', '--rate-limit', '0', '--auth-rate-limit', '0'] })).url; });
after(stopAll);
const c = () => client(url);
const follow = (who, whom) => c().post(`/api/v1/users/${whom.creds.handle}/follow`, { token: who.tokens.access_token });

describe('posts', () => {
  test('create, read, edit with history, delete', async () => {
    const a = await register(url);
    const t = a.tokens.access_token;
    const caption = "first post 🎬 with 'quotes'; DROP TABLE posts; --";
    const r = await c().post('/api/v1/posts', { token: t, json: { caption } });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.caption, caption);
    assert.equal(r.json.type, 'text');
    assert.equal(r.json.visibility, 'public', 'the account default');
    assert.equal(r.json.author.handle, a.creds.handle);
    assert.equal(r.json.edited, false);
    const id = r.json.id;
    assert.equal((await c().get(`/api/v1/posts/${id}`)).json.caption, caption);
    assert.equal((await c().get(`/api/v1/users/${a.creds.handle}`)).json.counts.posts, 1);

    const e = await c().patch(`/api/v1/posts/${id}`, { token: t, json: { caption: 'edited' } });
    assert.equal(e.status, 200, e.text);
    assert.equal(e.json.caption, 'edited');
    assert.equal(e.json.edited, true);
    await c().patch(`/api/v1/posts/${id}`, { token: t, json: { visibility: 'followers' } });
    const h = await c().get(`/api/v1/posts/${id}/edits`, { token: t });
    assert.deepEqual(h.json.items.map((x) => [x.caption, x.visibility]), [['edited', 'public'], [caption, 'public']]);

    assert.equal((await c().del(`/api/v1/posts/${id}`, { token: t })).status, 204);
    expectError(await c().get(`/api/v1/posts/${id}`, { token: t }), 404, 'post_not_found');
    expectError(await c().del(`/api/v1/posts/${id}`, { token: t }), 404, 'post_not_found');
    expectError(await c().get(`/api/v1/posts/${id}/edits`, { token: t }), 404, 'post_not_found');
    assert.equal((await c().get(`/api/v1/users/${a.creds.handle}`)).json.counts.posts, 0);
    assert.deepEqual((await c().get(`/api/v1/users/${a.creds.handle}/posts`)).json.items, []);
  });

  test('bad input and other users\' posts change nothing', async () => {
    const a = await register(url);
    const b = await register(url);
    const t = a.tokens.access_token;
    const cases = [
      [{}, 'caption', 'required'],
      [{ caption: '' }, 'caption', 'required'],
      [{ caption: 5 }, 'caption', 'must_be_string'],
      [{ caption: 'x'.repeat(2201) }, 'caption', 'too_long'],
      [{ caption: 'ok', visibility: 'everyone' }, 'visibility', 'not_allowed'],
      [{ caption: 'ok', type: 'video' }, 'media_id', 'required'],
      [{ caption: 'ok', media_id: '12' }, 'media_id', 'not_allowed'],
      [{ type: 'reel', media_id: '12' }, 'media_id', 'not_found'],
      [{ type: 'image', media_id: 12 }, 'media_id', 'must_be_string'],
      [{ caption: 'ok', type: 'poem' }, 'type', 'not_allowed'],
      [{ caption: 'ok', visibility: 'circle' }, 'circle_id', 'required'],
      [{ caption: 'ok', circle_id: '123' }, 'circle_id', 'needs_circle_visibility'],
      [{ caption: 'ok', visibility: 'circle', circle_id: '123' }, 'circle_id', 'not_found'],
      [{ caption: 'ok', circle_id: 5 }, 'circle_id', 'must_be_string'],
      [{ caption: 'ok', duet_of: 'abc' }, 'duet_of', 'invalid_format'],
      [{ caption: 'ok', duet_of: '1', stitch_of: '2' }, 'stitch_of', 'only_one_source'],
      [{ caption: 'ok', media: [1] }, 'media', 'not_allowed'],
    ];
    for (const [json, field, reason] of cases) {
      const r = await c().post('/api/v1/posts', { token: t, json });
      expectError(r, 422, 'validation_failed');
      assert.deepEqual(fieldReason(r), { field, reason }, JSON.stringify(json));
    }
    assert.equal((await c().post('/api/v1/posts', { token: t, json: { caption: 'é'.repeat(2200) } })).status, 201, '2,200 characters is fine');
    expectError(await c().post('/api/v1/posts', { json: { caption: 'x' } }), 401, 'unauthenticated');
    const p = (await c().post('/api/v1/posts', { token: t, json: { caption: 'mine' } })).json;
    const tb = b.tokens.access_token;
    expectError(await c().patch(`/api/v1/posts/${p.id}`, { token: tb, json: { caption: 'hacked' } }), 403, 'not_author');
    expectError(await c().del(`/api/v1/posts/${p.id}`, { token: tb }), 403, 'not_author');
    expectError(await c().patch(`/api/v1/posts/${p.id}`, { token: t, json: { type: 'video' } }), 422, 'validation_failed');
    expectError(await c().patch(`/api/v1/posts/${p.id}`, { token: t, json: { caption: '' } }), 422, 'validation_failed');
    expectError(await c().get('/api/v1/posts/999999999999'), 404, 'post_not_found');
    expectError(await c().get('/api/v1/posts/abc'), 404, 'post_not_found');
    assert.equal((await c().get(`/api/v1/posts/${p.id}`)).json.caption, 'mine');
  });

  test('author lists page newest first', async () => {
    const a = await register(url);
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push((await c().post('/api/v1/posts', { token: a.tokens.access_token, json: { caption: `p${i}` } })).json.id);
    const p1 = await c().get(`/api/v1/users/${a.creds.handle}/posts?limit=3`);
    const p2 = await c().get(`/api/v1/users/${a.creds.handle}/posts?limit=3&cursor=${p1.json.next_cursor}`);
    assert.deepEqual([...p1.json.items, ...p2.json.items].map((p) => p.id), ids.reverse());
    assert.equal(p2.json.next_cursor, null);
  });
});

describe('visibility', () => {
  test('every visibility x relationship cell, on every read endpoint', async () => {
    const author = await register(url);
    const follower = await register(url);
    const friend = await register(url);
    const member = await register(url);
    const stranger = await register(url);
    const blocked = await register(url);
    const ta = author.tokens.access_token;
    await follow(follower, author);
    await follow(friend, author);
    await follow(author, friend);
    await follow(blocked, author);
    await c().post(`/api/v1/users/${blocked.creds.handle}/block`, { token: ta });
    const circle = (await c().post('/api/v1/circles', { token: ta, json: { name: 'close friends' } })).json;
    assert.equal((await c().request('PUT', `/api/v1/circles/${circle.id}/members/${member.creds.handle}`, { token: ta })).status, 204);

    const tag = `vis${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const posts = {};
    for (const v of ['public', 'followers', 'friends', 'circle', 'private']) {
      const json = { caption: `${v} #${tag}`, visibility: v, ...(v === 'circle' ? { circle_id: circle.id } : {}) };
      const r = await c().post('/api/v1/posts', { token: ta, json });
      assert.equal(r.status, 201, r.text);
      posts[v] = r.json.id;
    }

    const viewers = { author, follower, friend, member, stranger, blocked, anonymous: null };
    const expected = {
      author: ['public', 'followers', 'friends', 'circle', 'private'],
      follower: ['public', 'followers'],
      friend: ['public', 'followers', 'friends'],
      member: ['public', 'circle'],
      stranger: ['public'],
      blocked: [],
      anonymous: ['public'],
    };
    const follows = { author: true, follower: true, friend: true };
    const kinds = (items) => items.filter((p) => p.author.id === author.user.id).map((p) => p.caption.split(' ')[0]).sort();
    const check = async (expect) => {
      for (const [name, who] of Object.entries(viewers)) {
        const token = who ? who.tokens.access_token : undefined;
        for (const [v, id] of Object.entries(posts)) {
          const status = expect[name].includes(v) ? 200 : 404;
          for (const path of [`/api/v1/posts/${id}`, `/api/v1/posts/${id}/edits`, `/api/v1/posts/${id}/comments`, `/api/v1/posts/${id}/reactions`])
            assert.equal((await c().get(path, { token })).status, status, `${name} reading ${path} of a ${v} post`);
        }
        const list = await c().get(`/api/v1/users/${author.creds.handle}/posts`, { token });
        if (name === 'blocked') assert.equal(list.status, 404, 'blocked viewers do not see the author at all');
        else assert.deepEqual(kinds(list.json.items), [...expect[name]].sort(), `${name} listing`);
        const byTag = await c().get(`/api/v1/hashtags/${tag}/posts`, { token });
        assert.deepEqual(kinds(byTag.json.items), [...expect[name]].sort(), `${name} on the hashtag page`);
        if (token) {
          const home = await c().get('/api/v1/feed/home?limit=50', { token });
          assert.deepEqual(kinds(home.json.items), follows[name] ? [...expect[name]].sort() : [], `${name} home feed`);
        }
      }
    };
    await check(expected);

    // A private account shows its posts only to followers, except circle posts to members.
    await c().patch('/api/v1/users/me', { token: ta, json: { is_private: true } });
    await check({ ...expected, stranger: [], anonymous: [], member: ['circle'] });

    // Removing the member hides the circle post from them; deleting the circle leaves it to the author.
    await c().request('DELETE', `/api/v1/circles/${circle.id}/members/${member.creds.handle}`, { token: ta });
    expectError(await c().get(`/api/v1/posts/${posts.circle}`, { token: member.tokens.access_token }), 404, 'post_not_found');
    await c().request('PUT', `/api/v1/circles/${circle.id}/members/${member.creds.handle}`, { token: ta });
    assert.equal((await c().del(`/api/v1/circles/${circle.id}`, { token: ta })).status, 204);
    expectError(await c().get(`/api/v1/posts/${posts.circle}`, { token: member.tokens.access_token }), 404, 'post_not_found');
    assert.equal((await c().get(`/api/v1/posts/${posts.circle}`, { token: ta })).status, 200);
  });
});

describe('reactions', () => {
  test('react, change type, unreact; idempotent; listed', async () => {
    const a = await register(url);
    const b = await register(url);
    const post = (await c().post('/api/v1/posts', { token: a.tokens.access_token, json: { caption: 'react to me' } })).json;
    const tb = b.tokens.access_token;
    const path = `/api/v1/posts/${post.id}/reactions`;
    const r1 = await c().post(path, { token: tb });
    assert.equal(r1.status, 200, r1.text);
    assert.equal(r1.json.type, 'like');
    assert.equal((await c().post(path, { token: tb, json: { type: 'fire' } })).json.type, 'fire');
    let p = await c().get(`/api/v1/posts/${post.id}`, { token: tb });
    assert.equal(p.json.reaction_count, 1, 'changing the type does not count twice');
    assert.equal(p.json.viewer_reaction, 'fire');
    const list = await c().get(path);
    assert.deepEqual(list.json.items.map((x) => [x.user.handle, x.type]), [[b.creds.handle, 'fire']]);
    assert.equal((await c().del(path, { token: tb })).status, 204);
    assert.equal((await c().del(path, { token: tb })).status, 204, 'idempotent');
    p = await c().get(`/api/v1/posts/${post.id}`, { token: tb });
    assert.equal(p.json.reaction_count, 0);
    assert.equal(p.json.viewer_reaction, null);
    expectError(await c().post(path, { token: tb, json: { type: 'meh' } }), 422, 'validation_failed');
    expectError(await c().post(path, { token: tb, json: { type: 3 } }), 422, 'validation_failed');
    expectError(await c().post(path, { json: {} }), 401, 'unauthenticated');
    expectError(await c().post('/api/v1/posts/123456789/reactions', { token: tb }), 404, 'post_not_found');
    // A post the viewer may not see cannot be reacted to.
    const hidden = (await c().post('/api/v1/posts', { token: a.tokens.access_token, json: { caption: 'secret', visibility: 'private' } })).json;
    expectError(await c().post(`/api/v1/posts/${hidden.id}/reactions`, { token: tb }), 404, 'post_not_found');
    expectError(await c().get(`/api/v1/posts/${hidden.id}/reactions`, { token: tb }), 404, 'post_not_found');
  });

  test('100 concurrent likes from 100 users count exactly', async () => {
    const author = await register(url);
    const post = (await c().post('/api/v1/posts', { token: author.tokens.access_token, json: { caption: 'popular' } })).json;
    const fans = await Promise.all(Array.from({ length: 100 }, () => register(url)));
    const path = `/api/v1/posts/${post.id}/reactions`;
    const results = await Promise.all(fans.map((f) => c().post(path, { token: f.tokens.access_token })));
    assert.ok(results.every((r) => r.status === 200), results.map((r) => r.status).join(','));
    // Repeated likes from the same users change nothing.
    await Promise.all(fans.slice(0, 30).map((f) => c().post(path, { token: f.tokens.access_token })));
    assert.equal((await c().get(`/api/v1/posts/${post.id}`)).json.reaction_count, 100);
    await Promise.all(fans.slice(0, 25).map((f) => c().del(path, { token: f.tokens.access_token })));
    assert.equal((await c().get(`/api/v1/posts/${post.id}`)).json.reaction_count, 75);
    let seen = 0, cursor = '';
    do {
      const r = await c().get(`${path}?limit=40${cursor ? `&cursor=${cursor}` : ''}`);
      seen += r.json.items.length;
      cursor = r.json.next_cursor;
    } while (cursor);
    assert.equal(seen, 75);
  });
});

describe('comments', () => {
  test('threads, edits, deletes and who may do what', async () => {
    const author = await register(url);
    const a = await register(url);
    const b = await register(url);
    const ta = a.tokens.access_token, tb = b.tokens.access_token, tauth = author.tokens.access_token;
    const post = (await c().post('/api/v1/posts', { token: tauth, json: { caption: 'talk to me' } })).json;
    const path = `/api/v1/posts/${post.id}/comments`;
    const top = await c().post(path, { token: ta, json: { body: 'first! 🎉' } });
    assert.equal(top.status, 201, top.text);
    assert.equal(top.json.parent_id, null);
    assert.equal(top.json.author.handle, a.creds.handle);
    const reply = (await c().post(path, { token: tb, json: { body: 'reply', parent_id: top.json.id } })).json;
    assert.equal(reply.parent_id, top.json.id);
    const deeper = (await c().post(path, { token: ta, json: { body: 'reply to reply', parent_id: reply.id } })).json;
    assert.equal(deeper.parent_id, top.json.id, 'threads stay one level deep');
    const tops = await c().get(path);
    assert.deepEqual(tops.json.items.map((x) => x.body), ['first! 🎉']);
    const replies = await c().get(`${path}?parent_id=${top.json.id}`);
    assert.deepEqual(replies.json.items.map((x) => x.body), ['reply', 'reply to reply']);
    assert.equal((await c().get(`/api/v1/posts/${post.id}`)).json.comment_count, 3);

    expectError(await c().patch(`/api/v1/comments/${top.json.id}`, { token: tb, json: { body: 'hijack' } }), 403, 'not_author');
    const ed = await c().patch(`/api/v1/comments/${top.json.id}`, { token: ta, json: { body: 'first (edited)' } });
    assert.equal(ed.json.body, 'first (edited)');
    assert.equal(ed.json.edited, true);
    expectError(await c().del(`/api/v1/comments/${reply.id}`, { token: ta }), 403, 'not_allowed');
    assert.equal((await c().del(`/api/v1/comments/${reply.id}`, { token: tauth })).status, 204, 'the post author moderates');
    assert.equal((await c().del(`/api/v1/comments/${deeper.id}`, { token: ta })).status, 204);
    expectError(await c().del(`/api/v1/comments/${deeper.id}`, { token: ta }), 404, 'comment_not_found');
    assert.equal((await c().get(`/api/v1/posts/${post.id}`)).json.comment_count, 1);

    const cases = [
      [{}, 'body', 'required'],
      [{ body: '' }, 'body', 'required'],
      [{ body: 7 }, 'body', 'must_be_string'],
      [{ body: 'x'.repeat(2201) }, 'body', 'too_long'],
      [{ body: 'x', parent_id: 'abc' }, 'parent_id', 'invalid_format'],
      [{ body: 'x', parent_id: '123456789' }, 'parent_id', 'not_found'],
      [{ body: 'x', extra: 1 }, 'extra', 'not_allowed'],
    ];
    for (const [json, field, reason] of cases) {
      const r = await c().post(path, { token: ta, json });
      expectError(r, 422, 'validation_failed');
      assert.deepEqual(fieldReason(r), { field, reason }, JSON.stringify(json));
    }
    expectError(await c().post(path, { json: { body: 'anon' } }), 401, 'unauthenticated');
    expectError(await c().post('/api/v1/posts/123456789/comments', { token: ta, json: { body: 'x' } }), 404, 'post_not_found');
    expectError(await c().patch('/api/v1/comments/abc', { token: ta, json: { body: 'x' } }), 404, 'comment_not_found');

    // Comments can be turned off per post, by its author only.
    expectError(await c().patch(`/api/v1/posts/${post.id}`, { token: ta, json: { comments_enabled: false } }), 403, 'not_author');
    const off = await c().patch(`/api/v1/posts/${post.id}`, { token: tauth, json: { comments_enabled: false } });
    assert.equal(off.json.comments_enabled, false);
    expectError(await c().post(path, { token: tb, json: { body: 'too late' } }), 403, 'comments_disabled');
  });

  test('blocks hide comments, and blocked users cannot comment', async () => {
    const author = await register(url);
    const troll = await register(url);
    const reader = await register(url);
    const post = (await c().post('/api/v1/posts', { token: author.tokens.access_token, json: { caption: 'hi' } })).json;
    const path = `/api/v1/posts/${post.id}/comments`;
    await c().post(path, { token: troll.tokens.access_token, json: { body: 'troll comment' } });
    await c().post(`/api/v1/users/${troll.creds.handle}/block`, { token: reader.tokens.access_token });
    assert.deepEqual((await c().get(path, { token: reader.tokens.access_token })).json.items, []);
    assert.equal((await c().get(path)).json.items.length, 1, 'others still see it');
    await c().post(`/api/v1/users/${troll.creds.handle}/block`, { token: author.tokens.access_token });
    expectError(await c().post(path, { token: troll.tokens.access_token, json: { body: 'again' } }), 404, 'post_not_found');
  });
});

describe('home feed', () => {
  test('a viewer following many accounts (the walking plan) gets the same rules', async () => {
    const me = await register(url);
    const tm = me.tokens.access_token;
    const others = await Promise.all(Array.from({ length: 70 }, () => register(url)));
    for (const o of others) await follow(me, o);
    const [muted, friend, stranger] = [others[0], others[1], await register(url)];
    await follow(friend, me);
    await c().post(`/api/v1/users/${muted.creds.handle}/mute`, { token: tm });
    const made = [];
    for (const [i, o] of others.entries()) {
      const visibility = i === 1 ? 'friends' : i === 2 ? 'friends' : i === 3 ? 'private' : 'public';
      made.push({ i, id: (await c().post('/api/v1/posts', { token: o.tokens.access_token, json: { caption: `p${i}`, visibility } })).json.id });
    }
    await c().post('/api/v1/posts', { token: stranger.tokens.access_token, json: { caption: 'not followed' } });
    const mine = (await c().post('/api/v1/posts', { token: tm, json: { caption: 'mine' } })).json.id;
    // Expected: mine, then every followed post except the muted author's, the non-friend's
    // friends-only post (index 2) and the private one (index 3); friend (index 1) is mutual.
    const expected = [mine, ...made.filter((m) => ![0, 2, 3].includes(m.i)).map((m) => m.id).reverse()];
    const seen = [];
    let cursor = '';
    do {
      const r = await c().get(`/api/v1/feed/home?limit=7${cursor ? `&cursor=${cursor}` : ''}`, { token: tm });
      assert.equal(r.status, 200, r.text);
      seen.push(...r.json.items.map((p) => p.id));
      cursor = r.json.next_cursor;
    } while (cursor);
    assert.deepEqual(seen, expected);
  });

  test('own and followed posts the viewer may see, newest first, minus muted authors', async () => {
    const me = await register(url);
    const friend = await register(url);
    const followed = await register(url);
    const muted = await register(url);
    const stranger = await register(url);
    const tm = me.tokens.access_token;
    for (const u of [friend, followed, muted]) await follow(me, u);
    await follow(friend, me);
    await c().post(`/api/v1/users/${muted.creds.handle}/mute`, { token: tm });
    const post = async (u, caption, visibility = 'public') =>
      (await c().post('/api/v1/posts', { token: u.tokens.access_token, json: { caption, visibility } })).json.id;
    await post(me, 'mine');
    await post(friend, 'friend public');
    await post(friend, 'friend friends-only', 'friends');
    await post(followed, 'followed public');
    await post(followed, 'followed friends-only', 'friends');
    await post(followed, 'followed private', 'private');
    await post(muted, 'muted public');
    await post(stranger, 'stranger public');
    const deleted = await post(followed, 'deleted later');
    await c().del(`/api/v1/posts/${deleted}`, { token: followed.tokens.access_token });

    const want = ['followed public', 'friend friends-only', 'friend public', 'mine'];
    const all = await c().get('/api/v1/feed/home', { token: tm });
    assert.equal(all.status, 200, all.text);
    assert.deepEqual(all.json.items.map((p) => p.caption), want);
    // Paging by two gives the same sequence with no gaps or repeats.
    const seen = [];
    let cursor = '';
    for (let i = 0; i < 6; i++) {
      const r = await c().get(`/api/v1/feed/home?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: tm });
      seen.push(...r.json.items.map((p) => p.caption));
      cursor = r.json.next_cursor;
      if (!cursor) break;
    }
    assert.deepEqual(seen, want);
    expectError(await c().get('/api/v1/feed/home'), 401, 'unauthenticated');
    expectError(await c().get('/api/v1/feed/home?limit=0', { token: tm }), 422, 'validation_failed');
  });
});

describe('saves', () => {
  test('private bookmarks: idempotent, counted, re-checked for visibility when listed', async () => {
    const author = await register(url);
    const me = await register(url);
    const other = await register(url);
    const tm = me.tokens.access_token;
    const p1 = (await c().post('/api/v1/posts', { token: author.tokens.access_token, json: { caption: 'keep this' } })).json;
    const p2 = (await c().post('/api/v1/posts', { token: author.tokens.access_token, json: { caption: 'and this' } })).json;
    for (const p of [p1, p2]) assert.equal((await c().post(`/api/v1/posts/${p.id}/save`, { token: tm })).status, 204);
    assert.equal((await c().post(`/api/v1/posts/${p1.id}/save`, { token: tm })).status, 204, 'idempotent');
    assert.equal((await c().get(`/api/v1/posts/${p1.id}`)).json.save_count, 1);
    const saved = await c().get('/api/v1/users/me/saved', { token: tm });
    assert.deepEqual(saved.json.items.map((p) => p.caption), ['and this', 'keep this']);
    assert.deepEqual((await c().get('/api/v1/users/me/saved', { token: other.tokens.access_token })).json.items, [], 'saves are per user');
    // The author makes one post private: it leaves the list without being unsaved.
    await c().patch(`/api/v1/posts/${p2.id}`, { token: author.tokens.access_token, json: { visibility: 'private' } });
    assert.deepEqual((await c().get('/api/v1/users/me/saved', { token: tm })).json.items.map((p) => p.caption), ['keep this']);
    assert.equal((await c().del(`/api/v1/posts/${p1.id}/save`, { token: tm })).status, 204);
    assert.equal((await c().del(`/api/v1/posts/${p1.id}/save`, { token: tm })).status, 204, 'idempotent');
    assert.equal((await c().get(`/api/v1/posts/${p1.id}`)).json.save_count, 0);
    expectError(await c().post(`/api/v1/posts/${p2.id}/save`, { token: other.tokens.access_token }), 404, 'post_not_found');
    expectError(await c().post(`/api/v1/posts/${p1.id}/save`), 401, 'unauthenticated');
    expectError(await c().get('/api/v1/users/me/saved'), 401, 'unauthenticated');
    expectError(await c().get('/api/v1/users/me/saved?cursor=-1', { token: tm }), 422, 'validation_failed');
  });
});
