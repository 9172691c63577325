// SPDX-License-Identifier: MIT
// For You and the interest graph (issue 14, docs/discovery.md): onboarding topics, signals that
// move the next page (likes toward a topic, "not interested" away from a post, a creator or a
// hashtag), the visibility matrix walked through every page, pagination that never repeats,
// reasons on every item, and bad input. Runs on SQLite and PostgreSQL through the suites.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, stopAll, metricSum } from './lib/harness.mjs';
import { setTimeout as sleep } from 'node:timers/promises';
import { client, register, login, createUserCli, expectError, BIN } from './lib/accounts.mjs';
import { uniqueUser } from './lib/harness.mjs';

const work = mkdtempSync(path.join(tmpdir(), 'sh-foryou-'));
let server, url;
before(async () => {
  execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10',
    '-t', '1', '-c:v', 'libx264', '-preset', 'ultrafast', path.join(work, 'tiny.mp4')]);
  // no job workers: imported media stays processing, so its post stays not ready
  server = await startServer({ args: ['--trust-proxy', '--rate-limit', '0', '--auth-rate-limit', '0', '--job-workers', '0'] });
  url = server.url;
});
after(stopAll);

const c = () => client(url);
const tok = (u) => u.tokens.access_token;
const as = (u) => (u ? { token: tok(u) } : {});
const uniqueTag = (p) => `${p}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const post = async (who, json) => {
  const r = await c().post('/api/v1/posts', { token: tok(who), json: { visibility: 'public', ...json } });
  assert.equal(r.status, 201, r.text);
  return r.json.id;
};
const forYou = (who, query = '') => c().get(`/api/v1/feed/for-you${query}`, as(who));
/** Every interest signal sent so far has been applied: the batching writer lands them up to
 * INTERESTS_FLUSH_MS after the action, so a test reads the profile or the next page only once
 * the writer's counters say so (queued = written + dropped). */
async function signalsApplied() {
  // each node queues and writes the signals of the requests it took: summed over the nodes
  const m = async () => ({
    queued: await metricSum(server, 'streamhub_interest_signals_queued_total'),
    done: await metricSum(server, 'streamhub_interest_signals_written_total') + await metricSum(server, 'streamhub_interest_signals_dropped_total'),
  });
  const want = (await m()).queued;
  for (let i = 0; i < 200; i++) {
    const now = await m();
    if (now.done >= want) return;
    await sleep(25);
  }
  assert.fail('interest signals were never applied');
}
const refresh = async (who) => assert.equal((await c().post('/api/v1/feed/refresh', { token: tok(who) })).status, 204);

/** Every page of one session: [{id, author, reason}], failing on a repeat. */
async function walk(who, pages = 30) {
  const seen = [];
  let cursor = null;
  for (let i = 0; i < pages; i++) {
    const r = await forYou(who, `?limit=20${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(r.status, 200, r.text);
    for (const p of r.json.items) {
      assert.ok(!seen.some((s) => s.id === p.id), `post ${p.id} served twice in one session`);
      seen.push(p);
    }
    cursor = r.json.next_cursor;
    if (!cursor) break;
  }
  return seen;
}

function importedMedia(owner) {
  const args = ['admin', 'import-media', '--owner', owner.creds.handle, '--file', path.join(work, 'tiny.mp4'), '--data-dir', server.dataDir];
  if (server.database) args.push('--database', server.database);
  const r = spawnSync(BIN, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.match(/imported media (\d+)/)[1];
}

describe('the interest profile', () => {
  test('onboarding seeds topics; the profile shows them; DELETE resets it', async () => {
    const u = await register(url);
    const r = await c().request('PUT', '/api/v1/users/me/interests', { token: tok(u), json: { topics: ['#Cats', 'cooking'] } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.topics.map((t) => t.topic).sort(), ['cats', 'cooking']);
    assert.ok(r.json.topics.every((t) => t.weight > 2.9 && t.weight <= 3), r.text);
    assert.equal(r.json.half_life_days, 7);
    const got = await c().get('/api/v1/users/me/interests', as(u));
    assert.deepEqual(got.json.topics, r.json.topics);
    assert.equal((await c().del('/api/v1/users/me/interests', as(u))).status, 204);
    assert.deepEqual((await c().get('/api/v1/users/me/interests', as(u))).json.topics, []);
  });

  test('likes, comments and views move topics, content type, style, hours and creators', async () => {
    const u = await register(url), creator = await register(url);
    const tag = uniqueTag('knit');
    const id = await post(creator, { caption: `my #${tag} scarf pattern` });
    const liked = await c().post(`/api/v1/posts/${id}/reactions`, { token: tok(u), json: { type: 'like' } });
    assert.ok(liked.status < 300, liked.text);
    assert.equal((await c().post(`/api/v1/posts/${id}/comments`, { token: tok(u), json: { body: 'lovely' } })).status, 201);
    await signalsApplied();
    const p = (await c().get('/api/v1/users/me/interests', as(u))).json;
    const topic = p.topics.find((t) => t.topic === tag);
    assert.ok(topic && Math.abs(topic.weight - 5) < 0.01, `like 2 + comment 3 on #${tag}: ${JSON.stringify(p.topics)}`);
    const term = p.topics.find((t) => t.topic === 'scarf');
    assert.ok(term && Math.abs(term.weight - 2.5) < 0.01, 'a caption term takes half');
    assert.equal(p.content_types[0].type, 'text');
    assert.deepEqual(p.engagement_style.map((s) => s.style).sort(), ['commenter', 'liker']);
    assert.equal(p.active_hours.length, 1);
    assert.equal(p.creators[0].user_id, creator.user.id);
    // a skip is negative
    const other = await post(creator, { caption: `#${tag}` });
    await c().post(`/api/v1/posts/${other}/view`, { token: tok(u), json: { watch_ms: 500 } });
    await signalsApplied();
    const after2 = (await c().get('/api/v1/users/me/interests', as(u))).json;
    assert.ok(Math.abs(after2.topics.find((t) => t.topic === tag).weight - 4.5) < 0.01, JSON.stringify(after2.topics));
  });

  test('bad input is 4xx and changes nothing', async () => {
    const u = await register(url);
    const put = (json) => c().request('PUT', '/api/v1/users/me/interests', { token: tok(u), json });
    expectError(await put({}), 422);
    expectError(await put({ topics: 'cats' }), 422);
    expectError(await put({ topics: [] }), 422);
    expectError(await put({ topics: ['two words'] }), 422, 'invalid_topic');
    expectError(await put({ topics: Array.from({ length: 21 }, (_, i) => `t${i}`) }), 422);
    expectError(await put({ topics: ['ok'], extra: 1 }), 422);
    assert.deepEqual((await c().get('/api/v1/users/me/interests', as(u))).json.topics, []);
    expectError(await c().get('/api/v1/users/me/interests'), 401);
    expectError(await c().request('PUT', '/api/v1/users/me/interests', { json: { topics: ['a'] } }), 401);
  });
});

describe('For You', () => {
  test('cold start: anonymous gets a page; a new user gets the topics they chose', async () => {
    const creator = await register(url);
    const tag = uniqueTag('origami');
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await post(creator, { caption: `fold ${i} #${tag}` }));
    const anon = await forYou(null);
    assert.equal(anon.status, 200, anon.text);
    assert.ok(anon.json.items.length > 0);
    const u = await register(url);
    await c().request('PUT', '/api/v1/users/me/interests', { token: tok(u), json: { topics: [tag] } });
    const r = await forYou(u, '?limit=20');
    const picked = r.json.items.filter((p) => ids.includes(p.id));
    assert.equal(picked.length, 3, `the chosen topic's posts come first: ${r.text}`);
    for (const p of picked) assert.deepEqual([p.reason.kind, p.reason.text], ['topic', `because you liked videos in #${tag}`]);
  });

  test('a user who likes #cats videos gets more #cats', async () => {
    const cats = uniqueTag('cats'), dogs = uniqueTag('dogs');
    const catPeople = [await register(url), await register(url)], dogPeople = [await register(url), await register(url)];
    const catPosts = [], dogPosts = [];
    for (let i = 0; i < 8; i++) {
      catPosts.push(await post(catPeople[i % 2], { caption: `cat ${i} #${cats}` }));
      dogPosts.push(await post(dogPeople[i % 2], { caption: `dog ${i} #${dogs}` }));
    }
    const liker = await register(url), control = await register(url);
    for (const id of catPosts.slice(0, 2)) {
      await c().post(`/api/v1/posts/${id}/reactions`, { token: tok(liker), json: { type: 'like' } });
      await c().post(`/api/v1/posts/${id}/view`, { token: tok(liker), json: { watch_ms: 9000, completed: true, source: 'for_you' } });
    }
    await signalsApplied();
    const page = async (who) => (await forYou(who, '?limit=10')).json.items;
    const mine = await page(liker), theirs = await page(control);
    const count = (items, list) => items.filter((p) => list.includes(p.id)).length;
    assert.ok(mine.slice(0, 4).every((p) => catPosts.includes(p.id)), 'cats lead the page of the one who liked them');
    assert.ok(theirs.slice(0, 4).some((p) => !catPosts.includes(p.id)), 'but not anyone else\'s');
    const top = (items) => count(items.slice(0, 5), catPosts);
    assert.ok(top(mine) > top(theirs), `more cats at the top: ${top(mine)} vs ${top(theirs)}`);
    // a topic fills at most half a page (the diversity rule), so on a page of 10 the liker's
    // cats can at most tie the dogs; what the like changes is the order (asserted above)
    assert.ok(count(mine, catPosts) >= count(mine, dogPosts), 'no fewer cats than dogs');
    assert.equal(mine[0].reason.kind, 'topic');
    assert.equal(mine[0].reason.text, `because you liked videos in #${cats}`);
  });

  test('not interested: a post, a creator and a hashtag leave the next page; undo brings them back', async () => {
    const u = await register(url), x = await register(url), y = await register(url);
    await c().post(`/api/v1/users/${x.creds.handle}/follow`, { token: tok(u) });
    const tag = uniqueTag('golf');
    const xPosts = [await post(x, { caption: 'x one' }), await post(x, { caption: 'x two' })];
    const yPost = await post(y, { caption: 'y plain' });
    const tagged = await post(y, { caption: `swing #${tag}` });
    await c().request('PUT', '/api/v1/users/me/interests', { token: tok(u), json: { topics: [tag] } });
    await signalsApplied();
    let items = (await forYou(u, '?limit=20')).json.items.map((p) => p.id);
    assert.ok(xPosts.every((id) => items.includes(id)), 'followed creator first');
    assert.ok(items.includes(tagged));
    const follows = (await forYou(null)).json; // anonymous sessions are separate
    assert.ok(follows.items);

    assert.equal((await c().post(`/api/v1/users/${x.creds.handle}/not-interested`, { token: tok(u) })).status, 204);
    assert.equal((await c().post(`/api/v1/hashtags/${tag}/not-interested`, { token: tok(u) })).status, 204);
    assert.equal((await c().post(`/api/v1/posts/${yPost}/not-interested`, { token: tok(u) })).status, 204);
    assert.equal((await c().post(`/api/v1/posts/${yPost}/not-interested`, { token: tok(u) })).status, 204, 'idempotent');
    await refresh(u);
    const all = (await walk(u)).map((p) => p.id);
    for (const id of [...xPosts, yPost, tagged]) assert.ok(!all.includes(id), `${id} still served`);
    const prof = (await c().get('/api/v1/users/me/interests', as(u))).json;
    assert.ok(prof.topics.find((t) => t.topic === tag).weight < 0, 'the hashtag took the negative signal');

    assert.equal((await c().del(`/api/v1/users/${x.creds.handle}/not-interested`, as(u))).status, 204);
    assert.equal((await c().del(`/api/v1/posts/${yPost}/not-interested`, as(u))).status, 204);
    await refresh(u);
    items = (await walk(u)).map((p) => p.id);
    assert.ok(xPosts.every((id) => items.includes(id)), 'the creator is back');
    assert.ok(items.includes(yPost), 'the post is back');
    assert.ok(!items.includes(tagged), 'the hashtag is still marked');
  });

  test('no blocked, muted, private, followers-only, deleted or not-ready post is ever served', async () => {
    const v = await register(url), blocker = await register(url), blocked = await register(url), muted = await register(url);
    const priv = await register(url), owner = await register(url), media = await register(url);
    const tag = uniqueTag('hidden');
    await c().request('PUT', '/api/v1/users/me/interests', { token: tok(v), json: { topics: [tag] } });
    const bad = [], viewerOnly = [];
    viewerOnly.push(await post(blocker, { caption: `#${tag} by a blocker` }));
    await c().post(`/api/v1/users/${v.creds.handle}/block`, { token: tok(blocker) });
    viewerOnly.push(await post(blocked, { caption: `#${tag} by the blocked` }));
    await c().post(`/api/v1/users/${blocked.creds.handle}/block`, { token: tok(v) });
    viewerOnly.push(await post(muted, { caption: `#${tag} by the muted` }));
    assert.equal((await c().post(`/api/v1/users/${muted.creds.handle}/mute`, { token: tok(v) })).status, 204);
    bad.push(await post(priv, { caption: `#${tag} private account` }));
    assert.equal((await c().patch('/api/v1/users/me', { token: tok(priv), json: { is_private: true } })).status, 200);
    bad.push(await post(owner, { caption: `#${tag} followers only`, visibility: 'followers' }));
    const gone = await post(owner, { caption: `#${tag} deleted` });
    assert.equal((await c().del(`/api/v1/posts/${gone}`, as(owner))).status, 204);
    bad.push(gone);
    const m = importedMedia(media);
    bad.push(await post(media, { type: 'video', media_id: m, caption: `#${tag} still processing` }));
    const fine = await post(owner, { caption: `#${tag} public` });
    const also = await post(owner, { caption: `#${tag} another public` });
    for (const who of [v, null]) {
      const similar = await c().get(`/api/v1/posts/${fine}/similar?limit=30`, as(who));
      assert.equal(similar.status, 200, similar.text);
      const simIds = similar.json.items.map((p) => p.id);
      assert.ok(simIds.includes(also), 'a post sharing the hashtag is similar');
      assert.ok(!simIds.includes(fine), 'not the post itself');
      const explore = (await c().get('/api/v1/explore', as(who))).json;
      const explored = [...explore.trending_hashtags, ...explore.shelves].flatMap((s) => s.posts.map((p) => p.id));
      // the chosen topic has a shelf, unless it trends already (then it is shown there once)
      if (who) assert.ok([...explore.shelves.map((s) => s.topic), ...explore.trending_hashtags.map((t) => t.tag)].includes(tag), JSON.stringify(explore));
      for (const id of who ? [...bad, ...viewerOnly] : bad) {
        assert.ok(!simIds.includes(id), `${id} leaked through similar`);
        assert.ok(!explored.includes(id), `${id} leaked through explore`);
      }
      if (who) {
        const sugg = (await c().get('/api/v1/users/suggested?limit=30', as(who))).json.items.map((u) => u.id);
        for (const u of [blocker, blocked]) assert.ok(!sugg.includes(u.user.id), 'no blocked account suggested');
      }
      const ids = (await walk(who)).map((p) => p.id);
      for (const id of who ? [...bad, ...viewerOnly] : bad) assert.ok(!ids.includes(id), `${id} leaked to ${who ? 'the viewer' : 'anonymous'}`);
      assert.ok(ids.includes(fine), 'the public post of the topic is served');
      // anonymous readers are blocked and muted by no one: those public posts are theirs to see
      if (!who) assert.ok(viewerOnly.every((id) => ids.includes(id)), 'anonymous sees public posts');
    }
  });

  test('pages never repeat within a session, every item has a reason, refresh starts over', async () => {
    const u = await register(url);
    const a = await walk(u, 5);
    assert.ok(a.length > 20, `several pages: ${a.length}`);
    for (const p of a) {
      assert.equal(typeof p.reason.kind, 'string');
      assert.ok(p.reason.text.length > 0);
      assert.ok(['following', 'topic', 'trending', 'exploration', 'similar', 'model'].includes(p.reason.source));
    }
    for (let i = 1; i < a.length; i++) {
      // no creator twice in a row, unless only their posts were left
      if (a[i].author.id === a[i - 1].author.id) assert.ok(a.slice(i).every((p) => p.author.id === a[i].author.id));
    }
    const again = (await forYou(u, '?limit=20')).json.items;
    assert.ok(again.every((p) => !a.some((s) => s.id === p.id)), 'a new session skips what was served lately');
    await refresh(u);
    assert.ok((await forYou(u, '?limit=20')).json.items.length > 0);
    const anon = await walk(null, 3);
    assert.ok(anon.length > 0);
  });

  test('similar posts, suggested accounts and explore carry reasons', async () => {
    const u = await register(url), a = await register(url), b = await register(url), cc = await register(url);
    await c().post(`/api/v1/users/${a.creds.handle}/follow`, { token: tok(u) });
    await c().post(`/api/v1/users/${cc.creds.handle}/follow`, { token: tok(u) });
    await c().post(`/api/v1/users/${b.creds.handle}/follow`, { token: tok(a) });
    await c().post(`/api/v1/users/${b.creds.handle}/follow`, { token: tok(cc) });
    let r = await c().get('/api/v1/users/suggested', as(u));
    assert.equal(r.status, 200, r.text);
    const sb = r.json.items.find((x) => x.id === b.user.id);
    assert.ok(sb, 'a friend of friends');
    assert.equal(sb.reason.kind, 'friends_of_friends');
    assert.match(sb.reason.text, /^followed by @\S+ and 1 more you follow$/);
    assert.equal(sb.handle, b.creds.handle);
    assert.ok(!r.json.items.some((x) => [u.user.id, a.user.id, cc.user.id].includes(x.id)), 'not yourself nor whom you follow');
    assert.equal((await c().post(`/api/v1/users/${b.creds.handle}/not-interested`, { token: tok(u) })).status, 204);
    r = await c().get('/api/v1/users/suggested', as(u));
    assert.ok(!r.json.items.some((x) => x.id === b.user.id), 'not-interested removes a suggestion');
    const anon = await c().get('/api/v1/users/suggested');
    assert.equal(anon.status, 200);
    for (const x of anon.json.items) assert.equal(x.reason.kind, 'popular');

    const tag = uniqueTag('bonsai');
    const src = await post(a, { caption: `first tree #${tag}` });
    const same = await post(cc, { caption: `my tree #${tag}` });
    const more = await post(a, { caption: 'unrelated but mine' });
    r = await c().get(`/api/v1/posts/${src}/similar`);
    assert.equal(r.status, 200, r.text);
    const bySame = r.json.items.find((p) => p.id === same);
    assert.deepEqual(bySame.reason, { kind: 'hashtag', text: `also in #${tag}` });
    const byAuthor = r.json.items.find((p) => p.id === more);
    assert.deepEqual(byAuthor.reason, { kind: 'author', text: `more from @${a.creds.handle}` });
    assert.equal(r.json.next_cursor, null);

    const e = await c().get('/api/v1/explore', as(u));
    assert.equal(e.status, 200, e.text);
    assert.ok(Array.isArray(e.json.trending_hashtags) && Array.isArray(e.json.shelves) && Array.isArray(e.json.suggested_creators));
    assert.ok(e.json.trending_hashtags.length > 0, 'trending hashtags from the posts so far');
    for (const t of e.json.trending_hashtags) {
      assert.ok(t.posts.length > 0);
      for (const p of t.posts) assert.deepEqual(p.reason, { kind: 'trending', text: `popular in #${t.tag}` });
    }
  });

  test('the layered home: story tray, circle posts, following, then recommended fill', async () => {
    const u = await register(url), a = await register(url);
    await c().post(`/api/v1/users/${a.creds.handle}/follow`, { token: tok(u) });
    const circle = (await c().post('/api/v1/circles', { token: tok(a), json: { name: 'close' } })).json;
    assert.equal((await c().request('PUT', `/api/v1/circles/${circle.id}/members/${u.creds.handle}`, { token: tok(a) })).status, 204);
    const open = await post(a, { caption: 'for all followers', visibility: 'followers' });
    const inner = await post(a, { caption: 'for the circle', visibility: 'circle', circle_id: circle.id });
    await post(a, { type: 'story', caption: 'today' });
    const r = await c().get('/api/v1/feed/home?mode=layered&limit=10', as(u));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.stories[0].author.handle, a.creds.handle, 'the story tray first');
    const items = r.json.items;
    assert.deepEqual(items.slice(0, 2).map((p) => [p.id, p.layer]), [[inner, 'circle'], [open, 'following']]);
    const fill = items.slice(2);
    assert.ok(fill.length > 0 && fill.every((p) => p.layer === 'recommended' && p.reason.text), 'recommended once the following ran dry');
    assert.match(r.json.next_cursor, /^r\d+_1$/);
    const more = await c().get(`/api/v1/feed/home?mode=layered&limit=10&cursor=${r.json.next_cursor}`, as(u));
    assert.equal(more.status, 200, more.text);
    assert.equal(more.json.stories, undefined, 'the tray comes with the first page only');
    assert.ok(more.json.items.every((p) => p.layer === 'recommended' && !items.some((q) => q.id === p.id)), 'no repeats');
    // the chronological default is unchanged
    const chrono = await c().get('/api/v1/feed/home', as(u));
    assert.deepEqual(chrono.json.items.map((p) => p.id), [inner, open]);
    const reels = await c().get('/api/v1/feed/home?mode=layered&type=reel', as(u));
    assert.equal(reels.status, 200);
    assert.ok(reels.json.items.every((p) => p.type === 'reel'));
    for (const q of ['?mode=bogus', '?mode=layered&cursor=rzz', '?mode=layered&cursor=r5_0', '?cursor=abc', '?mode=layered&cursor=abc']) {
      expectError(await c().get(`/api/v1/feed/home${q}`, as(u)), 422);
    }
  });

  test('every served item is logged as an impression with its position and source', async () => {
    const creds = uniqueUser('fyadmin');
    createUserCli(server, { ...creds, role: 'admin' });
    const admin = await login(url, creds.handle, creds.password);
    const u = await register(url);
    const page = (await forYou(u, '?limit=10')).json;
    assert.ok(page.items.length > 0);
    const session = page.next_cursor?.split('_')[0];
    let logged = [];
    for (let i = 0; i < 100 && logged.length < page.items.length; i++) { // the log writes in batches
      await sleep(50);
      const r = await c().get(`/api/v1/admin/events?actor_id=${u.user.id}&type=impression`, { token: admin.access_token });
      assert.equal(r.status, 200, r.text);
      logged = r.json.items;
    }
    const byPost = new Map(logged.map((e) => [e.object_id, e.props]));
    page.items.forEach((p, i) => {
      assert.equal(byPost.get(p.id)?.position, i, `impression of ${p.id}`);
      assert.equal(byPost.get(p.id).source, p.reason.source);
      if (session) assert.equal(byPost.get(p.id).session, session);
    });
  });

  test('bad input is 4xx', async () => {
    const u = await register(url);
    for (const q of ['?limit=5', '?limit=21', '?limit=x', '?cursor=zzz', '?cursor=0_1', '?cursor=5_0', '?cursor=5_999', '?type=story2']) {
      expectError(await forYou(u, q), 422);
    }
    expectError(await c().post('/api/v1/feed/refresh'), 401);
    expectError(await c().post('/api/v1/posts/1/not-interested', { token: tok(u) }), 404, 'post_not_found');
    expectError(await c().post('/api/v1/posts/abc/not-interested', { token: tok(u) }), 404, 'post_not_found');
    expectError(await c().post('/api/v1/users/nobody_here_xyz/not-interested', { token: tok(u) }), 404);
    expectError(await c().post(`/api/v1/users/${u.creds.handle}/not-interested`, { token: tok(u) }), 422, 'self');
    expectError(await c().post('/api/v1/hashtags/neverusedtag123/not-interested', { token: tok(u) }), 404, 'hashtag_not_found');
    expectError(await c().post('/api/v1/posts/1/not-interested'), 401);
    expectError(await c().post('/api/v1/posts/1/not-interested', { token: tok(u), json: { x: 1 } }), 422);
    for (const q of ['?limit=0', '?limit=31', '?limit=a']) {
      expectError(await c().get(`/api/v1/posts/1/similar${q}`), 422);
      expectError(await c().get(`/api/v1/users/suggested${q}`), 422);
    }
    expectError(await c().get('/api/v1/posts/1/similar'), 404, 'post_not_found');
    expectError(await c().get('/api/v1/posts/abc/similar'), 404, 'post_not_found');
    expectError(await c().get('/api/v1/explore', { token: 'bad' }), 401);
  });
});
