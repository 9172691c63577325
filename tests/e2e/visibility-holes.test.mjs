// SPDX-License-Identifier: MIT
// Holes in the visibility rules (issue 10): duets and stitches wider than their source, hashtag
// counts and hashtag search revealing private posts, edit history, reaction lists, notification
// counts and pushes, presence after a block, mutes and circle posts in search. Each test builds
// the situation that leaked and checks it no longer does; docs/social.md states the rules.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { startServer, stopAll } from './lib/harness.mjs';
import { client, register, expectError, BIN } from './lib/accounts.mjs';

const work = mkdtempSync(path.join(tmpdir(), 'sh-vis-'));
let server, url;
before(async () => {
  // one tiny clip: enough for a real duet rendering, fast to transcode
  execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=15',
    '-t', '1', '-c:v', 'libx264', '-preset', 'ultrafast', path.join(work, 'tiny.mp4')]);
  server = await startServer({ args: ['--trust-proxy', '--rate-limit', '0', '--auth-rate-limit', '0', '--job-workers', '1'] });
  url = server.url;
});
after(stopAll);

const c = () => client(url);
const tok = (u) => u.tokens.access_token;
const as = (u) => (u ? { token: tok(u) } : {});
const follow = (who, whom) => c().post(`/api/v1/users/${whom.creds.handle}/follow`, { token: tok(who) });
const post = async (who, json) => {
  const r = await c().post('/api/v1/posts', { token: tok(who), json });
  assert.equal(r.status, 201, r.text);
  return r.json;
};
const status = async (who, id) => (await c().get(`/api/v1/posts/${id}`, as(who))).status;
const uniqueTag = (p) => `${p}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

function imported(owner, file) {
  const args = ['admin', 'import-media', '--owner', owner.creds.handle, '--file', path.join(work, file), '--data-dir', server.dataDir];
  if (server.database) args.push('--database', server.database);
  const r = spawnSync(BIN, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.match(/imported media (\d+)/)[1];
}

async function waitReady(owner, id) {
  for (let i = 0; i < 1200; i++) {
    const m = await c().get(`/api/v1/media/${id}`, as(owner));
    if (m.json.state === 'ready' || m.json.state === 'failed') return m.json;
    await sleep(100);
  }
  throw new Error(`media ${id} never finished`);
}

describe('duets and stitches are never wider than their source', () => {
  test('a duet needs the viewer to see its source too, at every read', async () => {
    const a = await register(url), f = await register(url), both = await register(url), onlyF = await register(url);
    await follow(f, a);
    await follow(both, a);
    await follow(both, f);
    await follow(onlyF, f);
    const src = await post(a, { caption: 'followers only', visibility: 'followers' });
    // a public duet of a followers-only source is refused, and nothing is created
    const wide = await c().post('/api/v1/posts', { token: tok(f), json: { caption: 'x', duet_of: src.id, visibility: 'public' } });
    expectError(wide, 422, 'validation_failed');
    assert.deepEqual(wide.json.error.details, { field: 'visibility', reason: 'wider_than_source' });
    assert.equal((await c().get(`/api/v1/posts/${src.id}`, as(a))).json.duet_count, 0);
    const duet = await post(f, { caption: 'my duet', duet_of: src.id, visibility: 'followers' });
    const stitch = await post(f, { caption: 'my stitch', stitch_of: src.id, visibility: 'followers' });
    for (const d of [duet, stitch]) {
      assert.equal(await status(f, d.id), 200, 'its creator');
      assert.equal(await status(both, d.id), 200, 'follows both');
      assert.equal(await status(a, d.id), 404, 'the source author does not follow the creator');
      assert.equal(await status(onlyF, d.id), 404, 'follows the creator, not the source author');
      assert.equal(await status(null, d.id), 404, 'anonymous');
    }
    const grid = (await c().get(`/api/v1/users/${f.creds.handle}/posts`, as(onlyF))).json.items.map((p) => p.id);
    assert.ok(!grid.includes(duet.id) && !grid.includes(stitch.id), 'not in the profile grid either');
    const home = (await c().get('/api/v1/feed/home', as(onlyF))).json.items.map((p) => p.id);
    assert.ok(!home.includes(duet.id), 'not in the home feed');
  });

  test('narrowing, deleting or blocking the source hides its duets at once', async () => {
    const a = await register(url), f = await register(url), fan = await register(url);
    await follow(fan, f);
    const tag = uniqueTag('duetsrc');
    const src = await post(a, { caption: 'public source', visibility: 'public' });
    const duet = await post(f, { caption: `duet #${tag}`, duet_of: src.id, visibility: 'public' });
    assert.equal(await status(null, duet.id), 200);
    assert.equal(await status(fan, duet.id), 200);
    await c().patch(`/api/v1/posts/${src.id}`, { token: tok(a), json: { visibility: 'followers' } });
    assert.equal(await status(null, duet.id), 404, 'source narrowed: anonymous');
    assert.equal(await status(fan, duet.id), 404, 'source narrowed: a follower of the creator only');
    assert.equal(await status(f, duet.id), 200, 'the creator still sees (and can delete) it');
    const tagPage = (await c().get(`/api/v1/hashtags/${tag}/posts`)).json.items;
    assert.deepEqual(tagPage, [], 'not on the hashtag page');
    const trending = (await c().get('/api/v1/feed/trending?limit=100')).json.items.map((p) => p.id);
    assert.ok(!trending.includes(duet.id), 'not trending');
    await c().patch(`/api/v1/posts/${src.id}`, { token: tok(a), json: { visibility: 'public' } });
    assert.equal(await status(fan, duet.id), 200, 'widened again');
    await c().post(`/api/v1/users/${fan.creds.handle}/block`, { token: tok(a) });
    assert.equal(await status(fan, duet.id), 404, 'the source author blocks the viewer');
    assert.equal(await status(null, duet.id), 200);
    const r = await c().del(`/api/v1/posts/${src.id}`, { token: tok(a) });
    assert.equal(r.status, 204);
    assert.equal(await status(null, duet.id), 404, 'source deleted');
  });

  test('circle sources: only viewers in the circle see duets of them', async () => {
    const a = await register(url), f = await register(url), outsider = await register(url);
    await follow(outsider, f);
    const circle = (await c().post('/api/v1/circles', { token: tok(a), json: { name: 'close' } })).json;
    await c().request('PUT', `/api/v1/circles/${circle.id}/members/${f.creds.handle}`, { token: tok(a) });
    const src = await post(a, { caption: 'for the circle', visibility: 'circle', circle_id: circle.id });
    expectError(await c().post('/api/v1/posts', { token: tok(f), json: { caption: 'x', stitch_of: src.id, visibility: 'public' } }), 422, 'validation_failed');
    const stitch = await post(f, { caption: 'stitch', stitch_of: src.id, visibility: 'followers' });
    assert.equal(await status(outsider, stitch.id), 404);
    await c().request('PUT', `/api/v1/circles/${circle.id}/members/${outsider.creds.handle}`, { token: tok(a) });
    assert.equal(await status(outsider, stitch.id), 200, 'in the circle now');
  });

  test('a rendered duet is shown only through its post: no reuse, no DM, gone with the source', async () => {
    const a = await register(url), f = await register(url);
    const srcMedia = imported(a, 'tiny.mp4');
    assert.equal((await waitReady(a, srcMedia)).state, 'ready');
    const src = await post(a, { type: 'video', media_id: srcMedia, visibility: 'public' });
    const mine = imported(f, 'tiny.mp4');
    await waitReady(f, mine);
    const conv = (await c().post('/api/v1/conversations', { token: tok(f), json: { kind: 'direct', member_ids: [a.user.id] } })).json;
    const duet = await post(f, { type: 'video', media_id: mine, duet_of: src.id, visibility: 'public' });
    let seen;
    for (let i = 0; i < 300; i++) {
      seen = await c().get(`/api/v1/posts/${duet.id}`);
      if (seen.status === 200) break;
      await sleep(100);
    }
    assert.equal(seen.status, 200, seen.text);
    assert.ok(seen.json.media.master, 'signed URLs for those who may see the post');
    // the rendering is a media record of its own; the clip stays f's own video
    const rendering = seen.json.media.id;
    assert.notEqual(rendering, mine);
    assert.equal((await waitReady(f, mine)).state, 'ready');
    // the rendering holds the source's video: no other post and no message may hand it out
    const again = await c().post('/api/v1/posts', { token: tok(f), json: { type: 'video', media_id: rendering, visibility: 'public' } });
    expectError(again, 422, 'validation_failed');
    assert.deepEqual(again.json.error.details, { field: 'media_id', reason: 'in_use' });
    const dm = await c().post(`/api/v1/conversations/${conv.id}/messages`, { token: tok(f), json: { attachments: [rendering] } });
    expectError(dm, 422, 'validation_failed');
    const clipDm = await c().post(`/api/v1/conversations/${conv.id}/messages`, { token: tok(f), json: { attachments: [mine] } });
    assert.equal(clipDm.status, 201, 'the clip itself may still be sent');
    // narrowing the source takes the duet (and with it every way to its URLs) away
    await c().patch(`/api/v1/posts/${src.id}`, { token: tok(a), json: { visibility: 'private' } });
    expectError(await c().get(`/api/v1/posts/${duet.id}`), 404, 'post_not_found');
    const grid = (await c().get(`/api/v1/users/${f.creds.handle}/posts`)).json.items.map((p) => p.id);
    assert.ok(!grid.includes(duet.id));
  });
});

describe('hashtag counts and hashtag search show public posts of public accounts only', () => {
  const count = async (tag) => {
    const r = await c().get(`/api/v1/hashtags/${tag}`);
    if (r.status === 404) { expectError(r, 404, 'hashtag_not_found'); return 0; }
    assert.equal(r.status, 200, r.text);
    return r.json.post_count;
  };
  const found = async (tag, who) =>
    (await c().get(`/api/v1/search?type=hashtags&q=${tag}`, as(who))).json.items.filter((h) => h.tag === tag).map((h) => h.post_count);

  test('tags used only in narrower posts are unknown to everyone, even their followers', async () => {
    const a = await register(url), fan = await register(url);
    await follow(fan, a);
    const circle = (await c().post('/api/v1/circles', { token: tok(a), json: { name: 'c' } })).json;
    await c().request('PUT', `/api/v1/circles/${circle.id}/members/${fan.creds.handle}`, { token: tok(a) });
    const base = uniqueTag('hid');
    const narrow = [['followers', {}], ['friends', {}], ['circle', { circle_id: circle.id }], ['private', {}]];
    const posts = {};
    for (const [visibility, extra] of narrow) posts[visibility] = await post(a, { caption: `#${base}${visibility}`, visibility, ...extra });
    for (const [visibility] of narrow) {
      assert.equal(await count(`${base}${visibility}`), 0, `${visibility}: GET /hashtags/:tag is 404`);
      assert.deepEqual(await found(`${base}${visibility}`, fan), [], `${visibility}: not found by hashtag search`);
    }
    assert.deepEqual(await found(base, fan), [], 'nor by prefix');
    // the tag's page still lists what the viewer may see, and an unknown tag's page is just empty
    const page = (await c().get(`/api/v1/hashtags/${base}followers/posts`, as(fan))).json.items.map((p) => p.id);
    assert.deepEqual(page, [posts.followers.id]);
    for (const t of [`${base}followers`, uniqueTag('neverused')]) {
      const r = await c().get(`/api/v1/hashtags/${t}/posts`);
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json.items, []);
    }
    expectError(await c().get('/api/v1/hashtags/two%20words/posts'), 404, 'hashtag_not_found');
  });

  test('the public count stays exact through edits, privacy changes and deletes', async () => {
    const a = await register(url), b = await register(url);
    const tag = uniqueTag('pub'), other = uniqueTag('moved');
    const p1 = await post(a, { caption: `one #${tag}`, visibility: 'public' });
    await post(b, { caption: `two #${tag}`, visibility: 'public' });
    await post(b, { caption: `three #${tag}`, visibility: 'followers' });
    assert.equal(await count(tag), 2);
    assert.deepEqual(await found(tag), [2]);
    const edit = (json) => c().patch(`/api/v1/posts/${p1.id}`, { token: tok(a), json });
    assert.equal((await edit({ visibility: 'followers' })).status, 200);
    assert.equal(await count(tag), 1, 'narrowed');
    assert.equal((await edit({ caption: `one #${other}` })).status, 200);
    assert.equal(await count(other), 0, 're-tagged while narrow');
    assert.equal(await count(tag), 1);
    assert.equal((await edit({ visibility: 'public' })).status, 200);
    assert.equal(await count(other), 1, 'widened again');
    assert.equal((await edit({ caption: `one #${tag} #${other}` })).status, 200);
    assert.equal(await count(tag), 2);
    assert.equal(await count(other), 1);
    const priv = (v) => c().patch('/api/v1/users/me', { token: tok(a), json: { is_private: v } });
    assert.equal((await priv(true)).status, 200);
    assert.equal(await count(tag), 1, 'account went private');
    assert.equal(await count(other), 0);
    assert.deepEqual(await found(other), []);
    assert.equal((await priv(true)).status, 200);
    assert.equal(await count(tag), 1, 'setting the same privacy twice moves nothing');
    assert.equal((await priv(false)).status, 200);
    assert.equal(await count(tag), 2, 'public again');
    assert.equal((await c().del(`/api/v1/posts/${p1.id}`, { token: tok(a) })).status, 204);
    assert.equal(await count(tag), 1, 'deleted');
    assert.equal(await count(other), 0);
  });
});

/** A socket logging what it receives (only the pushes are needed here). */
async function socket(token) {
  const ws = new WebSocket(url.replace(/^http/, 'ws') + '/api/v1/ws', { headers: { authorization: `Bearer ${token}` } });
  const log = [], waiters = [];
  ws.on('error', () => {});
  ws.on('message', (m) => {
    log.push(JSON.parse(m.toString()));
    for (const w of [...waiters]) if (w()) waiters.splice(waiters.indexOf(w), 1);
  });
  const closed = new Promise((resolve) => ws.on('close', resolve));
  await new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('unexpected-response', () => reject(new Error('refused'))); });
  return {
    log,
    next: (pred) => new Promise((resolve) => {
      const w = () => { const m = log.find(pred); if (m) resolve(m); return !!m; };
      if (!w()) waiters.push(w);
    }),
    close() { ws.close(); return closed; },
  };
}

describe('edit history, reactions, notifications and search', () => {
  test('a widened post shows others only the versions written for at least its audience', async () => {
    const a = await register(url), fan = await register(url), stranger = await register(url);
    await follow(fan, a);
    const p = await post(a, { caption: 'for my followers only', visibility: 'followers' });
    const edit = (json) => c().patch(`/api/v1/posts/${p.id}`, { token: tok(a), json });
    assert.equal((await edit({ caption: 'still for followers' })).status, 200);
    assert.equal((await edit({ visibility: 'public' })).status, 200);
    assert.equal((await edit({ caption: 'hello world' })).status, 200);
    const history = async (who) => (await c().get(`/api/v1/posts/${p.id}/edits`, as(who))).json.items.map((e) => e.caption);
    assert.deepEqual(await history(a), ['still for followers', 'still for followers', 'for my followers only'], 'the author sees every version');
    for (const who of [null, stranger, fan]) assert.deepEqual(await history(who), ['still for followers'], 'only the version written for the public');
    assert.equal((await edit({ visibility: 'followers' })).status, 200);
    assert.deepEqual(await history(fan), ['hello world', 'still for followers', 'still for followers', 'for my followers only'],
      'narrowed back to followers: every version was written for at least them');
    const circle = (await c().post('/api/v1/circles', { token: tok(a), json: { name: 'inner' } })).json;
    const q = await post(a, { caption: 'circle words', visibility: 'circle', circle_id: circle.id });
    await c().patch(`/api/v1/posts/${q.id}`, { token: tok(a), json: { visibility: 'followers', circle_id: null } });
    assert.deepEqual((await c().get(`/api/v1/posts/${q.id}/edits`, as(fan))).json.items, [], 'a circle version is never shown to others');
  });

  test('reaction lists leave out users blocked either way', async () => {
    const a = await register(url), x = await register(url), y = await register(url), v = await register(url);
    const p = await post(a, { caption: 'react', visibility: 'public' });
    for (const u of [x, y]) assert.equal((await c().post(`/api/v1/posts/${p.id}/reactions`, { token: tok(u) })).status, 200);
    const who = async (viewer) => (await c().get(`/api/v1/posts/${p.id}/reactions`, as(viewer))).json.items.map((r) => r.user.handle).sort();
    assert.deepEqual(await who(v), [x.creds.handle, y.creds.handle].sort());
    await c().post(`/api/v1/users/${x.creds.handle}/block`, { token: tok(v) });
    await c().post(`/api/v1/users/${v.creds.handle}/block`, { token: tok(y) });
    assert.deepEqual(await who(v), [], 'one blocked by the viewer, one blocking the viewer');
    assert.deepEqual(await who(null), [x.creds.handle, y.creds.handle].sort(), 'others still see both');
  });

  test('pushes and the unread count leave out what the list leaves out', async () => {
    const a = await register(url), r = await register(url), fan = await register(url), later = await register(url);
    await follow(fan, a);
    const p = await post(a, { caption: 'open for now', visibility: 'public' });
    const mine = (await c().post(`/api/v1/posts/${p.id}/comments`, { token: tok(r), json: { body: 'first!' } })).json;
    await c().patch(`/api/v1/posts/${p.id}`, { token: tok(a), json: { visibility: 'followers' } });
    const s = await socket(tok(r));
    // a reply on a post r can no longer see: stored, but neither listed, pushed nor counted
    const reply = await c().post(`/api/v1/posts/${p.id}/comments`, { token: tok(fan), json: { body: 'replying', parent_id: mine.id } });
    assert.equal(reply.status, 201, reply.text);
    // then something r may see, which is pushed: anything pushed before it would be logged first
    await follow(later, r);
    await s.next((m) => m.type === 'notification' && m.data.type === 'follow');
    // the count is a frame of its own, published just after the notification: wait for it too
    await s.next((m) => m.type === 'notifications.unread');
    const pushed = s.log.filter((m) => m.type === 'notification').map((m) => m.data.type);
    assert.deepEqual(pushed, ['follow'], 'the hidden reply was pushed');
    const counts = s.log.filter((m) => m.type === 'notifications.unread').map((m) => m.data.count);
    assert.deepEqual(counts, [1]);
    const listed = (await c().get('/api/v1/notifications', as(r))).json.items.map((n) => n.type);
    assert.deepEqual(listed, ['follow']);
    assert.equal((await c().get('/api/v1/notifications/unread-count', as(r))).json.unread, 1);
    // widening the post brings the reply back everywhere
    await c().patch(`/api/v1/posts/${p.id}`, { token: tok(a), json: { visibility: 'public' } });
    assert.equal((await c().get('/api/v1/notifications/unread-count', as(r))).json.unread, 2);
    await s.close();
  });

  test('muting removes the muted user\'s older notifications from the list and the count', async () => {
    const a = await register(url), x = await register(url), y = await register(url);
    const p = await post(a, { caption: 'like me', visibility: 'public' });
    await c().post(`/api/v1/posts/${p.id}/reactions`, { token: tok(x) });
    await follow(x, a);
    await follow(y, a);
    const types = async () => (await c().get('/api/v1/notifications', as(a))).json.items.map((n) => [n.type, n.actor.handle]);
    assert.equal((await c().get('/api/v1/notifications/unread-count', as(a))).json.unread, 2);
    assert.equal((await c().post(`/api/v1/users/${x.creds.handle}/mute`, { token: tok(a) })).status, 204);
    // the grouped follow row now names y (the newest actor); x's like is gone
    assert.deepEqual(await types(), [['follow', y.creds.handle]]);
    assert.equal((await c().get('/api/v1/notifications/unread-count', as(a))).json.unread, 1);
    await c().del(`/api/v1/users/${x.creds.handle}/mute`, { token: tok(a) });
    assert.equal((await c().get('/api/v1/notifications/unread-count', as(a))).json.unread, 2, 'unmuting shows them again');
  });

  test('search finds circle posts for circle members who do not follow the author', async () => {
    const a = await register(url), member = await register(url), outsider = await register(url);
    const circle = (await c().post('/api/v1/circles', { token: tok(a), json: { name: 'close' } })).json;
    await c().request('PUT', `/api/v1/circles/${circle.id}/members/${member.creds.handle}`, { token: tok(a) });
    const word = `circleword${Date.now().toString(36)}`;
    const p = await post(a, { caption: `a ${word} for the circle`, visibility: 'circle', circle_id: circle.id });
    const hits = async (who) => (await c().get(`/api/v1/search?type=posts&q=${word}`, as(who))).json.items.map((h) => h.id);
    assert.deepEqual(await hits(member), [p.id]);
    assert.deepEqual(await hits(outsider), []);
    assert.deepEqual(await hits(null), []);
    assert.deepEqual(await hits(a), [p.id]);
  });
});
