// SPDX-License-Identifier: MIT
// Creator analytics (docs/analytics.md): known traffic gives exact figures after the rollup, the
// rollup folds each event once across partial runs and a killed server, only the author (or an
// admin) reads a post's breakdown, bad ranges answer 422 naming the parameter, CSV and SVG
// exports, client-side events (closed list, rate limited) and the event types the log records.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopAll, uniqueUser } from './lib/harness.mjs';
import { client, register, login, createUserCli, expectError } from './lib/accounts.mjs';

let server, url, admin;
before(async () => {
  server = await startServer({ args: ['--trust-proxy', '--rate-limit', '0', '--auth-rate-limit', '0',
    '--analytics-settle-ms', '0', '--maintenance-interval', '86400'] });
  url = server.url;
  const creds = uniqueUser('adm');
  createUserCli(server, { ...creds, role: 'admin' });
  admin = { tokens: await login(url, creds.handle, creds.password) };
});
after(stopAll);
const c = () => client(url);
const tok = (u) => ({ token: u.tokens.access_token });
const ok = (r, status = 200) => { assert.equal(r.status, status, r.text); return r.json; };
const post = async (who, json) => ok(await c().post('/api/v1/posts', { ...tok(who), json }), 201);
const view = (who, p, json) => c().post(`/api/v1/posts/${p.id}/view`, { ...tok(who), json });

/** Waits until the event log holds n events of type about object id (the writer batches). */
async function logged(type, objectId, n) {
  for (let i = 0; i < 200; i++) {
    const r = ok(await c().get(`/api/v1/admin/events?type=${type}&limit=100`, tok(admin)));
    const got = r.items.filter((e) => e.object_id === objectId).length;
    if (got >= n) return r.items.filter((e) => e.object_id === objectId);
    await new Promise((res) => setTimeout(res, 50));
  }
  assert.fail(`${n} ${type} events of ${objectId} never reached the log`);
}
const rollup = async (json) => ok(await c().post('/api/v1/admin/analytics/rollup', { ...tok(admin), json: json || {} })).folded;
const postStats = async (who, p, q = '') => ok(await c().get(`/api/v1/analytics/posts/${p.id}${q}`, tok(who)));

/** Drives known traffic on a new post: 5 viewers with known watch times, one of them twice,
 * two likes, a comment, a save and two follows of the author after watching. */
async function traffic() {
  const author = await register(url);
  const p = await post(author, { caption: 'measured' });
  const viewers = [];
  for (let i = 0; i < 5; i++) viewers.push(await register(url));
  const sources = ['for_you', 'for_you', 'following', 'search', 'for_you'];
  for (let i = 0; i < 5; i++) {
    const r = ok(await view(viewers[i], p, { watch_ms: (i + 1) * 1000, completed: i === 4, source: sources[i] }));
    assert.equal(r.counted, true);
  }
  assert.equal(ok(await view(viewers[0], p, { watch_ms: 500, source: 'profile' })).counted, false, 'once a day');
  for (const v of viewers.slice(0, 2)) ok(await c().post(`/api/v1/posts/${p.id}/reactions`, { ...tok(v), json: { type: 'like' } }), 200);
  ok(await c().post(`/api/v1/posts/${p.id}/comments`, { ...tok(viewers[2]), json: { body: 'nice' } }), 201);
  const save = await c().post(`/api/v1/posts/${p.id}/save`, tok(viewers[3]));
  assert.ok(save.status === 200 || save.status === 204, save.text);
  for (const v of viewers.slice(0, 2)) {
    const f = await c().post(`/api/v1/users/${author.creds.handle}/follow`, tok(v));
    assert.ok(f.status === 200 || f.status === 204, f.text);
  }
  await logged('view', p.id, 6);
  await logged('like', p.id, 2);
  await logged('comment', p.id, 1);
  await logged('save', p.id, 1);
  await logged('follow', author.user.id, 2);
  return { author, p, viewers };
}

const EXPECTED = {
  views: 5, plays: 6, viewers: 5, watch_ms: 15500, completions: 1, likes: 2, comments: 1,
  saves: 1, follows: 2, avg_watch_ms: 2583,
};
function checkPost(s) {
  for (const [k, v] of Object.entries(EXPECTED)) assert.equal(s.totals[k], v, `${k}: ${JSON.stringify(s.totals)}`);
  assert.equal(s.totals.completion_rate, 1 / 6);
  assert.deepEqual(s.sources, { for_you: 3, following: 1, profile: 1, search: 1, hashtag: 0, share: 0, explore: 0, other: 0 });
}

describe('analytics', () => {
  test('known traffic gives every figure exactly after the rollup; a second rollup adds nothing', async () => {
    const { author, p } = await traffic();
    assert.ok(await rollup() >= 11);
    const day = await postStats(author, p);
    checkPost(day);
    assert.equal(day.granularity, 'day');
    assert.equal(day.series.length, 28);
    const today = day.series.filter((b) => b.views > 0);
    assert.equal(today.length, 1);
    assert.equal(today[0].viewers, 5);
    assert.equal(day.retention[0].share, 1, 'a text post has no duration: only the start');
    const hour = await postStats(author, p, '?granularity=hour');
    checkPost(hour);
    assert.equal(hour.series.reduce((n, b) => n + b.watch_ms, 0), 15500);
    const me = ok(await c().get('/api/v1/analytics/me', tok(author)));
    for (const [k, v] of Object.entries({ views: 5, plays: 6, viewers: 5, watch_ms: 15500, likes: 2, comments: 1, saves: 1, followers_gained: 2, posts: 1 }))
      assert.equal(me.totals[k], v, k);
    await rollup();
    checkPost(await postStats(author, p));
    const plat = ok(await c().get('/api/v1/admin/analytics', tok(admin)));
    assert.ok(plat.totals.views >= 5 && plat.totals.active_users >= 6 && plat.totals.new_users >= 7, JSON.stringify(plat.totals));
  });

  test('a rollup stopped part-way and a killed server neither lose nor double-count', async () => {
    const { author, p } = await traffic();
    assert.equal(await rollup({ max_events: 3 }), 3);
    await server.kill('SIGKILL');
    await server.restart();
    url = server.url;
    await rollup();
    checkPost(await postStats(author, p));
    assert.equal(await rollup(), 0);
    checkPost(await postStats(author, p));
  });

  test('only the author or an admin reads a post breakdown; the platform is for admins', async () => {
    const a = await register(url);
    const b = await register(url);
    const p = await post(a, { caption: 'mine' });
    expectError(await c().get(`/api/v1/analytics/posts/${p.id}`, tok(b)), 403, 'not_author');
    ok(await c().get(`/api/v1/analytics/posts/${p.id}`, tok(admin)));
    expectError(await c().get(`/api/v1/analytics/posts/${p.id}`), 401, 'unauthenticated');
    expectError(await c().get('/api/v1/analytics/posts/999999999'), 401);
    expectError(await c().get('/api/v1/analytics/posts/999999999', tok(a)), 404);
    expectError(await c().get('/api/v1/admin/analytics', tok(a)), 403);
  });

  test('bad ranges, zones, granularities and metrics answer 422 naming the parameter', async () => {
    const a = await register(url);
    const p = await post(a, { caption: 'ranges' });
    const cases = [
      ['?from=2026-03-02&to=2026-03-01', 'from'],
      ['?from=2024-01-01&to=2026-01-01', 'to'],
      ['?from=2026-01-01&to=2026-03-01&granularity=hour', 'to'],
      ['?from=yesterday', 'from'],
      ['?to=2026-13-01', 'to'],
      ['?tz=Europe/Paris', 'tz'],
      ['?tz=%2B15:00', 'tz'],
      ['?granularity=week', 'granularity'],
      ['?format=svg&metric=nonsense', 'metric'],
    ];
    for (const [q, field] of cases) {
      const r = await c().get(`/api/v1/analytics/posts/${p.id}${q}`, tok(a));
      expectError(r, 422);
      assert.equal(r.json.error.details.field, field, `${q}: ${r.text}`);
    }
    const r = ok(await c().get(`/api/v1/analytics/posts/${p.id}?from=2026-01-01&to=2027-01-01`, tok(a)));
    assert.equal(r.series.length, 365, 'the longest daily span');
    const tz = ok(await c().get(`/api/v1/analytics/posts/${p.id}?from=2026-01-01&to=2026-01-03&tz=%2B05:30`, tok(a)));
    assert.equal(tz.series.length, 2);
    assert.equal(tz.series[0].start, '2026-01-01T00:00:00+05:30');
  });

  test('CSV and SVG exports of a series', async () => {
    const { author, p } = await traffic();
    await rollup();
    const csv = await c().get(`/api/v1/analytics/posts/${p.id}?from=2026-01-01&to=2026-01-08`, { ...tok(author), headers: { Accept: 'text/csv' } });
    assert.equal(csv.status, 200);
    assert.match(csv.headers.get('content-type'), /^text\/csv/);
    const lines = csv.text.trim().split('\r\n');
    assert.equal(lines.length, 8);
    assert.match(lines[0], /^start,views,plays,viewers,watch_ms,/);
    const today = await c().get(`/api/v1/analytics/posts/${p.id}?format=csv&granularity=hour`, tok(author));
    const header = today.text.split('\r\n')[0].split(',');
    const rows = today.text.trim().split('\r\n').slice(1).map((l) => l.split(','));
    const col = header.indexOf('watch_ms');
    assert.equal(rows.reduce((n, r) => n + Number(r[col]), 0), 15500);
    const svg = await c().get(`/api/v1/analytics/posts/${p.id}?format=svg&metric=watch_ms`, tok(author));
    assert.equal(svg.status, 200);
    assert.match(svg.headers.get('content-type'), /^image\/svg\+xml/);
    assert.match(svg.text, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.match(svg.text, /<polyline [^>]*points="[0-9., ]+"/);
    assert.match(svg.text, />15500</, 'the axis is labelled with the peak');
  });

  test('client events: a closed list, flat small props, rate limited; messages are logged', async () => {
    const a = await register(url);
    const b = await register(url);
    const send = (json) => c().post('/api/v1/events/client', { ...tok(a), json });
    assert.equal((await send({ type: 'track_upload', props: { bpm: 120, genre: 'lofi' } })).status, 204);
    assert.equal(ok(await c().get(`/api/v1/admin/events?actor_id=${a.user.id}&type=track_upload`, tok(admin))).items.length >= 0, true);
    expectError(await send({ type: 'coin_tip' }), 422);
    expectError(await send({ type: 'mix_export', props: { nested: { no: 1 } } }), 422);
    expectError(await send({ type: 'mix_export', props: { blob: 'x'.repeat(300) } }), 422);
    expectError(await send({}), 422);
    let limited = null;
    for (let i = 0; i < 70 && !limited; i++) {
      const r = await send({ type: 'beat_generate' });
      if (r.status === 429) limited = r;
      else assert.equal(r.status, 204, r.text);
    }
    assert.ok(limited, 'the 60 per minute limit answers 429');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    for (let i = 0; i < 200; i++) {
      const r = ok(await c().get(`/api/v1/admin/events?actor_id=${a.user.id}&type=track_upload`, tok(admin)));
      if (r.items.length) { assert.equal(r.items[0].props.genre, 'lofi'); assert.equal(r.items[0].object_type, 'studio'); break; }
      assert.ok(i < 199, 'the client event reached the log');
      await new Promise((res) => setTimeout(res, 50));
    }
    const conv = ok(await c().post('/api/v1/conversations', { ...tok(a), json: { kind: 'direct', member_ids: [b.user.id] } }), 201);
    ok(await c().post(`/api/v1/conversations/${conv.id}/messages`, { ...tok(a), json: { text: 'hi' } }), 201);
    const msgs = await logged('message', conv.id, 1);
    assert.equal(msgs[0].actor_id, a.user.id);
    assert.deepEqual(msgs[0].props, { kind: 'direct' });
  });

  test('creator scores, tiers, daily snapshots with catch-up, notifications and leaderboards', async () => {
    // a server of its own, so the active creators are exactly the three seeded here
    const srv = await startServer({ args: ['--trust-proxy', '--rate-limit', '0', '--auth-rate-limit', '0',
      '--analytics-settle-ms', '0', '--maintenance-interval', '86400', '--test-clock'] });
    const u = srv.url;
    const k = () => client(u);
    const creds = uniqueUser('adm');
    createUserCli(srv, { ...creds, role: 'admin' });
    const adm = { tokens: await login(u, creds.handle, creds.password) };
    const people = [];
    for (let i = 0; i < 6; i++) people.push(await register(u));
    const [a, b, cc, v1, v2, v3] = people;
    const posts = {};
    for (const [name, who] of [['a', a], ['b', b], ['c', cc]])
      posts[name] = ok(await k().post('/api/v1/posts', { ...tok(who), json: { caption: `by ${name} #beats` } }), 201);
    const watch = async (who, p) => ok(await k().post(`/api/v1/posts/${p.id}/view`, { ...tok(who), json: { watch_ms: 1000 } }));
    const like = async (who, p) => ok(await k().post(`/api/v1/posts/${p.id}/reactions`, { ...tok(who), json: { type: 'like' } }));
    const follow = async (who, whom) => assert.ok([200, 204].includes((await k().post(`/api/v1/users/${whom.creds.handle}/follow`, tok(who))).status));
    for (const v of [v1, v2, v3]) await watch(v, posts.a);
    for (const v of [v1, v2]) await watch(v, posts.b);
    await watch(v1, posts.c);
    for (const v of [v1, v2, v3]) await like(v, posts.a);
    await like(v1, posts.b);
    await follow(v1, a); await follow(v2, a); await follow(v1, b);
    const settled = async (n) => {
      for (let i = 0; i < 200; i++) {
        const r = ok(await k().get('/api/v1/admin/events?limit=100', tok(adm)));
        if (r.items.filter((e) => ['view', 'like', 'follow', 'post'].includes(e.type)).length >= n) return;
        await new Promise((res) => setTimeout(res, 50));
      }
      assert.fail('events never reached the log');
    };
    await settled(3 + 6 + 4 + 3);
    const DAY = 86400000;
    const today = Date.now() - (Date.now() % DAY);
    const snap = async (now) => ok(await k().post('/api/v1/admin/analytics/snapshots', { ...tok(adm), json: { now } })).days;
    expectError(await c().post('/api/v1/admin/analytics/snapshots', { ...tok(admin), json: { now: today } }), 422);
    assert.equal(await snap(today + DAY + 3600000), 1, 'the first run computes the day that ended');
    const stats = async (who, viewer) => ok(await k().get(`/api/v1/users/${who.creds.handle}/creator-stats`, viewer ? tok(viewer) : {}));
    // by hand (docs/analytics.md): percentiles 1 / .5 / 0 on reach, engagement and growth, all
    // tied (.5) on completion and consistency
    for (const [who, score, tier, rank] of [[a, 87.5, 'platinum', 1], [b, 50, 'silver', 2], [cc, 12.5, 'bronze', 3]]) {
      const s = await stats(who);
      assert.deepEqual([s.score, s.tier, s.rank], [score, tier, rank], JSON.stringify(s));
      assert.equal(s.breakdown, undefined, 'the public sees no breakdown');
    }
    const own = await stats(a, a);
    assert.deepEqual(own.breakdown.map((p) => p.percentile), [1, 1, 0.5, 1, 0.5]);
    assert.equal(own.inputs.views, 3);
    assert.equal(own.history.length, 1);
    assert.equal((await stats(a, b)).breakdown, undefined, 'nor does another creator');
    assert.ok((await stats(a, adm)).breakdown, 'admins do');
    assert.equal(await snap(today + DAY + 7200000), 0, 'a day is computed once');

    // leaderboards: order, paging, private creators left out, bad parameters
    const board = async (q) => ok(await k().get(`/api/v1/leaderboards${q}`));
    let page = await board('?metric=score&limit=2');
    assert.deepEqual(page.items.map((e) => [e.user.id, e.value, e.rank]), [[a.user.id, 87.5, 1], [b.user.id, 50, 2]]);
    page = await board(`?metric=score&limit=2&cursor=${encodeURIComponent(page.next_cursor)}`);
    assert.deepEqual(page.items.map((e) => [e.user.id, e.rank]), [[cc.user.id, 3]]);
    assert.equal(page.next_cursor, null);
    page = await board('?metric=views&period=week');
    assert.deepEqual(page.items.map((e) => [e.user.id, e.value]), [[a.user.id, 3], [b.user.id, 2], [cc.user.id, 1]]);
    assert.deepEqual((await board('?metric=growth&period=day')).items.map((e) => e.value), [2, 1, 0]);
    assert.deepEqual((await board('?metric=views&period=all&topic=beats')).items.length, 3);
    assert.deepEqual((await board('?metric=views&topic=nothingpostedhere')).items, []);
    assert.deepEqual((await board('?metric=tips')).items, [], 'no wallet yet');
    for (const [q, field] of [['?metric=likes', 'metric'], ['?period=year', 'period'], ['?cursor=zzz', 'cursor']]) {
      const r = await k().get(`/api/v1/leaderboards${q}`);
      expectError(r, 422);
      assert.equal(r.json.error.details.field, field, r.text);
    }
    ok(await k().patch('/api/v1/users/me', { ...tok(b), json: { is_private: true } }));
    assert.deepEqual((await board('?metric=score')).items.map((e) => e.user.id), [a.user.id, cc.user.id]);
    ok(await k().patch('/api/v1/users/me', { ...tok(b), json: { is_private: false } }));

    // more traffic for c; three days later, the missed days are caught up and tiers move
    for (const v of [v2, v3]) { await watch(v, posts.c); await like(v, posts.c); await follow(v, cc); }
    await settled(3 + 6 + 4 + 3 + 6);
    assert.equal(await snap(today + 4 * DAY + 3600000), 3);
    for (const [who, score, tier] of [[a, 75, 'platinum'], [b, 12.5, 'bronze'], [cc, 62.5, 'gold']]) {
      const s = await stats(who);
      assert.deepEqual([s.score, s.tier], [score, tier], JSON.stringify(s));
    }
    assert.equal((await stats(cc, cc)).history.length, 4);
    // the boards' cached pages follow the rollup's watermark: c's two new views and followers show
    const views = (await board('?metric=views&period=week')).items;
    assert.equal(views.find((e) => e.user.id === cc.user.id).value, 3, JSON.stringify(views));
    const growth = (await board('?metric=growth&period=day')).items;
    assert.equal(growth.find((e) => e.user.id === cc.user.id).value, 2, JSON.stringify(growth));
    const notes = async (who) => ok(await k().get('/api/v1/notifications', tok(who))).items.filter((n) => n.type === 'creator_tier');
    assert.equal((await notes(cc)).length >= 1, true, 'c is told of the new tier');
    assert.equal((await notes(b)).length >= 1, true, 'b is told too');
    assert.equal((await notes(a)).length, 0, 'a kept platinum');
  });
});
