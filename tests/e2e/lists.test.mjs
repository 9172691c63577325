// SPDX-License-Identifier: MIT
// Lists of posts and comments (issue 10): every list shows what the signed-in viewer did to each
// item (viewer_reaction, saved; viewer_liked on comments, with reply_count) and embeds a share's
// source as GET /posts/:id does; pages are short only at the end; ?type= narrows feeds; the
// circle feed is its owner's view of the members' posts. Runs on SQLite and, with
// STREAMHUB_TEST_PG, on PostgreSQL.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopAll } from './lib/harness.mjs';
import WebSocket from 'ws';
import { client, register, expectError } from './lib/accounts.mjs';

let url;
before(async () => {
  url = (await startServer({ args: ['--trust-proxy', '--rate-limit', '0', '--auth-rate-limit', '0'] })).url;
});
after(stopAll);
const c = () => client(url);
const tok = (u) => ({ token: u.tokens.access_token });
const post = async (u, json) => {
  const r = await c().post('/api/v1/posts', { ...tok(u), json: typeof json === 'string' ? { caption: json } : json });
  assert.equal(r.status, 201, r.text);
  return r.json;
};
const get = async (path, u) => {
  const r = await c().get(path, u ? tok(u) : {});
  assert.equal(r.status, 200, `${path}: ${r.text}`);
  return r.json;
};
const byId = (page, id) => page.items.find((p) => p.id === id);

describe('viewer state in lists', () => {
  let viewer, author, liked, saved, plain, share, tag;
  before(async () => {
    [viewer, author] = await Promise.all([register(url), register(url)]);
    tag = `vs${Date.now()}`;
    const word = `zebrafish${Date.now()}`;
    liked = await post(author, `liked #${tag} ${word}`);
    saved = await post(author, `saved #${tag} ${word}`);
    plain = await post(author, `plain #${tag} ${word}`);
    assert.equal((await c().post(`/api/v1/users/${author.creds.handle}/follow`, tok(viewer))).status, 200);
    assert.equal((await c().post(`/api/v1/posts/${liked.id}/reactions`, { ...tok(viewer), json: { type: 'fire' } })).status, 200);
    assert.equal((await c().post(`/api/v1/posts/${saved.id}/save`, tok(viewer))).status, 204);
    const r = await c().post(`/api/v1/posts/${plain.id}/shares`, { ...tok(author), json: { comment: `shared #${tag} ${word}` } });
    assert.equal(r.status, 201, r.text);
    share = r.json;
    author.word = word;
  });

  const check = (page, where) => {
    assert.equal(byId(page, liked.id).viewer_reaction, 'fire', where);
    assert.equal(byId(page, liked.id).saved, false, where);
    assert.equal(byId(page, saved.id).viewer_reaction, null, where);
    assert.equal(byId(page, saved.id).saved, true, where);
    assert.equal(byId(page, plain.id).viewer_reaction, null, where);
    const s = byId(page, share.id);
    assert.ok(s.shared_post, `${where}: the share embeds its source`);
    assert.equal(s.shared_post.id, plain.id, where);
    assert.equal(s.shared_post.caption, plain.caption, where);
  };

  test('home, trending, profile posts, hashtag page and search carry it', async () => {
    check(await get('/api/v1/feed/home', viewer), 'home');
    check(await get(`/api/v1/users/${author.creds.handle}/posts`, viewer), 'profile posts');
    check(await get(`/api/v1/hashtags/${tag}/posts`, viewer), 'hashtag page');
    const found = await get(`/api/v1/search?type=posts&q=${author.word}`, viewer);
    check(found, 'search');
    // trending's shared snapshot takes new posts in at its next refresh (1 s): ask again until
    // all four are in it
    const ours = [liked.id, saved.id, plain.id, share.id];
    let seen = { items: [] };
    for (let i = 0; i < 100 && seen.items.length < 4; i++) {
      if (i) await new Promise((r) => setTimeout(r, 50));
      const page = await get('/api/v1/feed/trending?limit=100', viewer);
      seen = { items: page.items.filter((p) => ours.includes(p.id)) };
    }
    check(seen, 'trending');
  });

  test('the single GET says the same, saved included', async () => {
    const one = await get(`/api/v1/posts/${saved.id}`, viewer);
    assert.equal(one.saved, true);
    assert.equal(one.viewer_reaction, null);
    assert.equal((await get(`/api/v1/posts/${liked.id}`, viewer)).viewer_reaction, 'fire');
  });

  test('anonymous readers get no viewer fields, but still the embedded source', async () => {
    const page = await get(`/api/v1/users/${author.creds.handle}/posts`);
    assert.ok(!('viewer_reaction' in byId(page, liked.id)));
    assert.ok(!('saved' in byId(page, saved.id)));
    assert.equal(byId(page, share.id).shared_post.id, plain.id);
    assert.ok(!('shared_post' in byId(page, plain.id)), 'only shares carry shared_post');
  });

  test('another viewer sees their own state, not the first one\'s', async () => {
    const other = await register(url);
    const page = await get(`/api/v1/users/${author.creds.handle}/posts`, other);
    assert.equal(byId(page, liked.id).viewer_reaction, null);
    assert.equal(byId(page, saved.id).saved, false);
    const saves = await get('/api/v1/users/me/saved', viewer);
    assert.deepEqual(saves.items.map((p) => p.id), [saved.id]);
    assert.equal(saves.items[0].saved, true);
  });

  test('a share whose source the viewer may not see embeds null', async () => {
    const a = await register(url);
    const src = await post(a, 'soon followers only');
    const r = await c().post(`/api/v1/posts/${src.id}/shares`, { ...tok(author), json: {} });
    assert.equal(r.status, 201, r.text);
    assert.equal((await c().patch(`/api/v1/posts/${src.id}`, { ...tok(a), json: { visibility: 'followers' } })).status, 200);
    const page = await get(`/api/v1/users/${author.creds.handle}/posts`, viewer);
    assert.equal(byId(page, r.json.id).shared_post, null);
    assert.equal((await get(`/api/v1/posts/${r.json.id}`, viewer)).shared_post, null);
  });

  test('comments carry viewer_liked and reply_count', async () => {
    const p = await post(author, 'with comments');
    const mk = async (u, body, parent_id) => {
      const r = await c().post(`/api/v1/posts/${p.id}/comments`, { ...tok(u), json: parent_id ? { body, parent_id } : { body } });
      assert.equal(r.status, 201, r.text);
      return r.json;
    };
    const top1 = await mk(author, 'one');
    const top2 = await mk(author, 'two');
    await mk(viewer, 'reply a', top1.id);
    const gone = await mk(viewer, 'reply b', top1.id);
    await mk(author, 'reply c', top1.id);
    assert.equal((await c().del(`/api/v1/comments/${gone.id}`, tok(viewer))).status, 204);
    assert.equal((await c().post(`/api/v1/comments/${top2.id}/like`, tok(viewer))).status, 200);
    const list = await get(`/api/v1/posts/${p.id}/comments`, viewer);
    const one = list.items.find((x) => x.id === top1.id);
    const two = list.items.find((x) => x.id === top2.id);
    assert.equal(one.reply_count, 2, 'deleted replies do not count');
    assert.equal(one.viewer_liked, false);
    assert.equal(two.reply_count, 0);
    assert.equal(two.viewer_liked, true);
    const theirs = await get(`/api/v1/posts/${p.id}/comments`, author);
    assert.equal(theirs.items.find((x) => x.id === top2.id).viewer_liked, false);
    const anon = await get(`/api/v1/posts/${p.id}/comments`);
    assert.ok(!('viewer_liked' in anon.items[0]));
    assert.equal(anon.items.find((x) => x.id === top1.id).reply_count, 2);
    const replies = await get(`/api/v1/posts/${p.id}/comments?parent_id=${top1.id}`, viewer);
    assert.equal(replies.items.length, 2);
    assert.ok(replies.items.every((x) => x.reply_count === 0 && x.viewer_liked === false));
  });
});

describe('short pages only at the end', () => {
  test('profile posts and the hashtag page refill pages the gate thinned', async () => {
    const [a, v] = await Promise.all([register(url), register(url)]);
    const tag = `thin${Date.now()}`;
    // newest first: 2 visible, then 6 private, then 3 visible
    for (let i = 0; i < 3; i++) await post(a, { caption: `old ${i} #${tag}` });
    for (let i = 0; i < 6; i++) await post(a, { caption: `hidden ${i} #${tag}`, visibility: 'private' });
    for (let i = 0; i < 2; i++) await post(a, { caption: `new ${i} #${tag}` });
    for (const path of [`/api/v1/users/${a.creds.handle}/posts`, `/api/v1/hashtags/${tag}/posts`]) {
      const first = await get(`${path}?limit=4`, v);
      assert.equal(first.items.length, 4, `${path}: a full first page`);
      assert.ok(first.items.every((p) => p.visibility === 'public'));
      assert.ok(first.next_cursor);
      const rest = await get(`${path}?limit=4&cursor=${first.next_cursor}`, v);
      assert.equal(rest.items.length, 1);
      assert.equal(rest.next_cursor, null);
    }
  });

  test('saved posts refill too', async () => {
    const [a, v] = await Promise.all([register(url), register(url)]);
    const ids = [];
    for (let i = 0; i < 5; i++) {
      const p = await post(a, `s${i}`);
      assert.equal((await c().post(`/api/v1/posts/${p.id}/save`, tok(v))).status, 204);
      ids.push(p.id);
    }
    // the two newest saves become invisible to v
    for (const id of ids.slice(3))
      assert.equal((await c().patch(`/api/v1/posts/${id}`, { ...tok(a), json: { visibility: 'private' } })).status, 200);
    const page = await get('/api/v1/users/me/saved?limit=2', v);
    assert.deepEqual(page.items.map((p) => p.id), [ids[2], ids[1]]);
    assert.ok(page.next_cursor);
    const rest = await get(`/api/v1/users/me/saved?limit=2&cursor=${page.next_cursor}`, v);
    assert.deepEqual(rest.items.map((p) => p.id), [ids[0]]);
    assert.equal(rest.next_cursor, null);
  });
});

describe('stories', () => {
  test('authors whose stories are all hidden leave no hole in a page', async () => {
    const [v, a, b, cc] = await Promise.all([register(url), register(url), register(url), register(url)]);
    for (const u of [a, b, cc])
      assert.equal((await c().post(`/api/v1/users/${u.creds.handle}/follow`, tok(v))).status, 200);
    await post(cc, { caption: 'c story', type: 'story' });
    await post(b, { caption: 'b only for b', type: 'story', visibility: 'private' });
    await post(a, { caption: 'a story', type: 'story' });
    const page = await get('/api/v1/stories?limit=2', v);
    assert.deepEqual(page.items.map((g) => g.author.handle), [a.creds.handle, cc.creds.handle]);
    assert.equal(page.next_cursor, null);
  });
});

describe('?type= on feeds', () => {
  test('narrows home, trending, profile posts and hashtag pages; other values are 422', async () => {
    const a = await register(url);
    const tag = `ty${Date.now()}`;
    const text = await post(a, `text #${tag}`);
    const r = await c().post(`/api/v1/posts/${text.id}/shares`, { ...tok(a), json: { comment: `share #${tag}` } });
    assert.equal(r.status, 201, r.text);
    for (const path of ['/api/v1/feed/home', `/api/v1/users/${a.creds.handle}/posts`, `/api/v1/hashtags/${tag}/posts`]) {
      const sep = path.includes('?') ? '&' : '?';
      assert.deepEqual((await get(`${path}${sep}type=share`, a)).items.map((p) => p.id), [r.json.id], path);
      assert.deepEqual((await get(`${path}${sep}type=text`, a)).items.map((p) => p.id), [text.id], path);
      assert.deepEqual((await get(`${path}${sep}type=reel`, a)).items, [], path);
      for (const bad of ['story', 'REEL', 'nope', ''])
        if (bad) {
          const e = await c().get(`${path}${sep}type=${bad}`, tok(a));
          expectError(e, 422, 'validation_failed');
          assert.equal(e.json.error.details.field, 'type');
        }
    }
    const trending = await get('/api/v1/feed/trending?type=share&limit=100', a);
    assert.ok(trending.items.every((p) => p.type === 'share'));
    assert.ok(trending.items.some((p) => p.id === r.json.id));
    expectError(await c().get('/api/v1/feed/trending?type=video2'), 422, 'validation_failed');
  });
});

describe('circle feed', () => {
  test('the owner sees the members\' posts they may see, newest first', async () => {
    const [owner, m1, m2, outsider] = await Promise.all([register(url), register(url), register(url), register(url)]);
    const circle = (await c().post('/api/v1/circles', { ...tok(owner), json: { name: 'close' } })).json;
    for (const m of [m1, m2])
      assert.equal((await c().request('PUT', `/api/v1/circles/${circle.id}/members/${m.creds.handle}`, tok(owner))).status, 204);
    const p1 = await post(m1, 'm1 public');
    await post(m2, { caption: 'm2 followers', visibility: 'followers' });
    const p3 = await post(m2, 'm2 public');
    await post(outsider, 'not a member');
    const feed = await get(`/api/v1/feed/circles/${circle.id}`, owner);
    assert.deepEqual(feed.items.map((p) => p.id), [p3.id, p1.id], 'followers-only posts stay hidden from a non-follower');
    assert.equal(feed.next_cursor, null);
    assert.equal((await c().post(`/api/v1/users/${m2.creds.handle}/follow`, tok(owner))).status, 200);
    const after = await get(`/api/v1/feed/circles/${circle.id}?limit=2`, owner);
    assert.equal(after.items.length, 2);
    assert.equal(after.items[0].id, p3.id);
    const rest = await get(`/api/v1/feed/circles/${circle.id}?limit=2&cursor=${after.next_cursor}`, owner);
    assert.deepEqual(rest.items.map((p) => p.id), [p1.id]);
    assert.equal((await get(`/api/v1/feed/circles/${circle.id}?type=share`, owner)).items.length, 0);
  });

  test('owner only: others, unknown ids and bad input', async () => {
    const [owner, member] = await Promise.all([register(url), register(url)]);
    const circle = (await c().post('/api/v1/circles', { ...tok(owner), json: { name: 'mine' } })).json;
    await c().request('PUT', `/api/v1/circles/${circle.id}/members/${member.creds.handle}`, tok(owner));
    expectError(await c().get(`/api/v1/feed/circles/${circle.id}`, tok(member)), 404, 'circle_not_found');
    expectError(await c().get(`/api/v1/feed/circles/${circle.id}`), 401);
    expectError(await c().get(`/api/v1/feed/circles/${circle.id}`, { token: 'not-a-token' }), 401);
    expectError(await c().get('/api/v1/feed/circles/999999999999', tok(owner)), 404, 'circle_not_found');
    expectError(await c().get('/api/v1/feed/circles/abc', tok(owner)), 404, 'circle_not_found');
    expectError(await c().get(`/api/v1/feed/circles/${circle.id}?limit=0`, tok(owner)), 422, 'validation_failed');
    expectError(await c().get(`/api/v1/feed/circles/${circle.id}?cursor=x`, tok(owner)), 422, 'validation_failed');
    expectError(await c().get(`/api/v1/feed/circles/${circle.id}?type=story`, tok(owner)), 422, 'validation_failed');
  });
});

describe('one list shape and stated limits', () => {
  test('length errors state the limit and carry max (and min)', async () => {
    const u = await register(url);
    const long = 'x'.repeat(2201);
    const cases = [
      [c().post('/api/v1/posts', { ...tok(u), json: { caption: long } }), 'caption', 'too_long', 'caption must be at most 2200 characters', undefined, 2200],
      [c().patch('/api/v1/users/me', { ...tok(u), json: { bio: 'b'.repeat(151) } }), 'bio', 'too_long', 'bio must be at most 150 characters', undefined, 150],
      [c().post('/api/v1/circles', { ...tok(u), json: { name: 'n'.repeat(61) } }), 'name', 'too_long', 'name must be at most 60 characters', 1, 60],
      [c().get('/api/v1/feed/home?limit=0', tok(u)), 'limit', 'out_of_range', 'limit must be between 1 and 100', 1, 100],
      [c().get('/api/v1/users/me/saved?limit=101', tok(u)), 'limit', 'out_of_range', 'limit must be between 1 and 100', 1, 100],
      [c().patch('/api/v1/users/me', { ...tok(u), json: { handle: 'ab' } }), 'handle', 'too_short', 'handle must be at least 3 characters', 3, 30],
      [c().post('/api/v1/auth/register', { json: { email: `s${Date.now()}@example.com`, handle: `h${Date.now()}`, password: 'short' } }), 'password', 'too_short', 'password must be at least 8 characters', 8, 128],
    ];
    for (const [pending, field, reason, message, min, max] of cases) {
      const r = await pending;
      expectError(r, 422, 'validation_failed');
      assert.equal(r.json.error.details.field, field, r.text);
      assert.equal(r.json.error.details.reason, reason, r.text);
      assert.equal(r.json.error.message, message);
      assert.equal(r.json.error.details.max, max, r.text);
      assert.equal(r.json.error.details.min, min, r.text);
    }
    const p = await post(u, 'for a long comment');
    const r = await c().post(`/api/v1/posts/${p.id}/comments`, { ...tok(u), json: { body: long } });
    expectError(r, 422, 'validation_failed');
    assert.equal(r.json.error.message, 'body must be at most 2200 characters');
    assert.equal(r.json.error.details.max, 2200);
    // exactly at the limit is fine
    assert.equal((await c().post('/api/v1/posts', { ...tok(u), json: { caption: 'y'.repeat(2200) } })).status, 201);
  });

  test('a message over the limit says so over REST and on the socket alike', async () => {
    const [a, b] = await Promise.all([register(url), register(url)]);
    const conv = await c().post('/api/v1/conversations', { ...tok(a), json: { kind: 'direct', member_ids: [b.user.id] } });
    assert.equal(conv.status, 201, conv.text);
    const text = 'm'.repeat(4001);
    const r = await c().post(`/api/v1/conversations/${conv.json.id}/messages`, { ...tok(a), json: { text } });
    expectError(r, 422, 'validation_failed');
    assert.equal(r.json.error.message, 'text must be at most 4000 characters');
    assert.equal(r.json.error.details.max, 4000);
    const ws = new WebSocket(url.replace(/^http/, 'ws') + '/api/v1/ws', { headers: { authorization: `Bearer ${a.tokens.access_token}` } });
    const reply = await new Promise((resolve, reject) => {
      ws.on('error', reject);
      ws.on('message', (raw) => {
        const m = JSON.parse(raw.toString());
        if (m.type === 'ready')
          ws.send(JSON.stringify({ type: 'message.send', id: 'x1', data: { conversation_id: conv.json.id, text } }));
        else if (m.id === 'x1') resolve(m);
      });
    });
    ws.close();
    assert.equal(reply.type, 'error');
    assert.equal(reply.data.code, 'validation_failed');
    assert.equal(reply.data.message, 'text must be at most 4000 characters');
  });

  test('unknown query parameters are ignored, the same way on every list', async () => {
    const u = await register(url);
    await post(u, 'q1');
    for (const path of ['/api/v1/feed/home', `/api/v1/users/${u.creds.handle}/posts`, '/api/v1/notifications', '/api/v1/users/me/saved']) {
      const plain = await get(path, u);
      const extra = await get(`${path}?bogus=1&_=${Date.now()}`, u);
      assert.deepEqual(extra.items.map((x) => x.id), plain.items.map((x) => x.id), path);
      assert.ok('next_cursor' in extra, path);
    }
  });
});

describe('OpenAPI servers', () => {
  test('the document points "Try it out" at the server it came from, whatever its port', async () => {
    const docUrl = `${url}/openapi.json`;
    const doc = (await get('/openapi.json')).servers;
    assert.equal(doc.length, 1);
    // Swagger UI resolves a relative server URL against the document's own URL
    const base = new URL(doc[0].url, docUrl);
    assert.equal(base.origin, new URL(url).origin, 'same host and port as the document');
    assert.notEqual(new URL(url).port, '8080', 'the test server runs on another port than the old fixed entry');
    const probe = await fetch(new URL('health', base));
    assert.equal(probe.status, 200);
  });
});
