// SPDX-License-Identifier: MIT
// Profiles and the follow graph (first slice of the social core): profile reads and edits,
// follows, private accounts with follow requests, followers/following/friends lists with cursor
// pagination, relationships, and exact counters under concurrent follows.
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

describe('profiles', () => {
  test('read by handle in any case, anonymously or signed in; edit your own', async () => {
    const a = await register(url, { display_name: 'Ana' });
    const anon = await c().get(`/api/v1/users/${a.creds.handle.toUpperCase()}`);
    assert.equal(anon.status, 200, anon.text);
    assert.equal(anon.json.handle, a.creds.handle);
    assert.equal(anon.json.email, undefined, 'private fields are not shown to others');
    assert.deepEqual(anon.json.counts, { followers: 0, following: 0, posts: 0 });
    assert.equal(anon.json.relationship, undefined);
    const me = await c().get('/api/v1/users/me', { token: a.tokens.access_token });
    assert.equal(me.json.email, a.creds.email);
    assert.equal(me.json.allow_comments, true);
    assert.equal(me.json.default_visibility, 'public');
    expectError(await c().get('/api/v1/users/me'), 401, 'unauthenticated');
    expectError(await c().get('/api/v1/users/nobody_here_at_all'), 404, 'user_not_found');

    const upd = await c().patch('/api/v1/users/me', { token: a.tokens.access_token, json: {
      display_name: 'Ana 🎥', bio: "bio with 'quotes'; DROP TABLE users; --", links: ['https://ana.example/x'],
      allow_duets: false, default_visibility: 'followers' } });
    assert.equal(upd.status, 200, upd.text);
    assert.equal(upd.json.display_name, 'Ana 🎥');
    assert.equal(upd.json.bio, "bio with 'quotes'; DROP TABLE users; --");
    assert.deepEqual(upd.json.links, ['https://ana.example/x']);
    assert.equal(upd.json.allow_duets, false);
    assert.equal(upd.json.default_visibility, 'followers');
    const again = await c().get(`/api/v1/users/${a.creds.handle}`);
    assert.equal(again.json.bio, upd.json.bio);
  });

  test('profile edits reject bad input and change nothing', async () => {
    const a = await register(url);
    const t = a.tokens.access_token;
    const cases = [
      [{ bio: 'x'.repeat(151) }, 'bio', 'too_long'],
      [{ links: ['a', 'b', 'c', 'd', 'e', 'f'].map((x) => `https://${x}.example`) }, 'links', 'too_many'],
      [{ links: ['javascript:alert(1)'] }, 'links', 'invalid_format'],
      [{ links: 'https://x.example' }, 'links', 'must_be_array'],
      [{ links: [5] }, 'links', 'must_be_string'],
      [{ is_private: 'yes' }, 'is_private', 'must_be_boolean'],
      [{ default_visibility: 'everyone' }, 'default_visibility', 'not_allowed'],
      [{ display_name: 'x'.repeat(65) }, 'display_name', 'too_long'],
      [{ handle: 'x' }, 'handle', 'too_short'],
      [{ handle: 'admin' }, 'handle', 'reserved'],
      [{ nickname: 'x' }, 'nickname', 'not_allowed'],
    ];
    for (const [json, field, reason] of cases) {
      const r = await c().patch('/api/v1/users/me', { token: t, json });
      expectError(r, 422, 'validation_failed');
      assert.deepEqual(fieldReason(r), { field, reason }, JSON.stringify(json));
    }
    expectError(await c().patch('/api/v1/users/me', { json: { bio: 'x' } }), 401, 'unauthenticated');
    const me = await c().get('/api/v1/users/me', { token: t });
    assert.equal(me.json.bio, '');
    assert.deepEqual(me.json.links, []);
  });
});

describe('follows', () => {
  test('follow, relationship, friends, unfollow; counts follow along', async () => {
    const a = await register(url);
    const b = await register(url);
    const ta = a.tokens.access_token, tb = b.tokens.access_token;
    const f = await c().post(`/api/v1/users/${b.creds.handle}/follow`, { token: ta });
    assert.equal(f.status, 200, f.text);
    assert.equal(f.json.status, 'following');
    assert.equal((await c().post(`/api/v1/users/${b.creds.handle}/follow`, { token: ta })).json.status, 'following', 'idempotent');
    let rel = await c().get(`/api/v1/users/${b.creds.handle}/relationship`, { token: ta });
    assert.deepEqual(rel.json, { follows: true, followed_by: false, friends: false, requested: false, blocking: false, muting: false });
    await c().post(`/api/v1/users/${a.creds.handle}/follow`, { token: tb });
    rel = await c().get(`/api/v1/users/${b.creds.handle}/relationship`, { token: ta });
    assert.equal(rel.json.friends, true);
    const friends = await c().get(`/api/v1/users/${a.creds.handle}/friends`);
    assert.deepEqual(friends.json.items.map((u) => u.handle), [b.creds.handle]);
    const pb = await c().get(`/api/v1/users/${b.creds.handle}`, { token: ta });
    assert.deepEqual(pb.json.counts, { followers: 1, following: 1, posts: 0 });
    assert.equal(pb.json.relationship.friends, true);
    assert.equal((await c().del(`/api/v1/users/${b.creds.handle}/follow`, { token: ta })).status, 204);
    assert.equal((await c().del(`/api/v1/users/${b.creds.handle}/follow`, { token: ta })).status, 204, 'idempotent');
    const pb2 = await c().get(`/api/v1/users/${b.creds.handle}`);
    assert.deepEqual(pb2.json.counts, { followers: 0, following: 1, posts: 0 });
    assert.deepEqual((await c().get(`/api/v1/users/${a.creds.handle}/friends`)).json.items, []);
  });

  test('bad follows', async () => {
    const a = await register(url);
    expectError(await c().post(`/api/v1/users/${a.creds.handle}/follow`, { token: a.tokens.access_token }), 422, 'cannot_follow_self');
    expectError(await c().post('/api/v1/users/nobody_here_at_all/follow', { token: a.tokens.access_token }), 404, 'user_not_found');
    expectError(await c().post(`/api/v1/users/${a.creds.handle}/follow`), 401, 'unauthenticated');
    expectError(await c().del(`/api/v1/users/${a.creds.handle}/follow`, { token: 'bad' }), 401, 'invalid_token');
    expectError(await c().get(`/api/v1/users/${a.creds.handle}/relationship`), 401, 'unauthenticated');
  });

  test('private accounts turn follows into requests', async () => {
    const owner = await register(url);
    const fan = await register(url);
    const other = await register(url);
    const to = owner.tokens.access_token, tf = fan.tokens.access_token;
    await c().patch('/api/v1/users/me', { token: to, json: { is_private: true } });
    const f = await c().post(`/api/v1/users/${owner.creds.handle}/follow`, { token: tf });
    assert.equal(f.json.status, 'requested');
    const rel = await c().get(`/api/v1/users/${owner.creds.handle}/relationship`, { token: tf });
    assert.equal(rel.json.requested, true);
    assert.equal(rel.json.follows, false);
    expectError(await c().get(`/api/v1/users/${owner.creds.handle}/followers`, { token: tf }), 403, 'private_account');
    expectError(await c().get(`/api/v1/users/${owner.creds.handle}/following`), 403, 'private_account');
    await c().post(`/api/v1/users/${owner.creds.handle}/follow`, { token: other.tokens.access_token });
    const list = await c().get('/api/v1/follow-requests', { token: to });
    assert.equal(list.status, 200);
    assert.deepEqual(list.json.items.map((x) => x.user.handle), [other.creds.handle, fan.creds.handle]);
    const fanReq = list.json.items[1].id;
    // Only the addressee can answer a request.
    expectError(await c().post(`/api/v1/follow-requests/${fanReq}/accept`, { token: tf }), 404, 'request_not_found');
    expectError(await c().post('/api/v1/follow-requests/abc/accept', { token: to }), 404, 'request_not_found');
    assert.equal((await c().post(`/api/v1/follow-requests/${fanReq}/accept`, { token: to })).status, 204);
    expectError(await c().post(`/api/v1/follow-requests/${fanReq}/accept`, { token: to }), 404, 'request_not_found');
    assert.equal((await c().post(`/api/v1/follow-requests/${list.json.items[0].id}/reject`, { token: to })).status, 204);
    const followers = await c().get(`/api/v1/users/${owner.creds.handle}/followers`, { token: tf });
    assert.equal(followers.status, 200, 'followers may see the lists');
    assert.deepEqual(followers.json.items.map((u) => u.handle), [fan.creds.handle]);
    assert.deepEqual((await c().get('/api/v1/follow-requests', { token: to })).json.items, []);
    expectError(await c().get('/api/v1/follow-requests'), 401, 'unauthenticated');
    // Withdrawing a request.
    await c().post(`/api/v1/users/${owner.creds.handle}/follow`, { token: other.tokens.access_token });
    await c().del(`/api/v1/users/${owner.creds.handle}/follow`, { token: other.tokens.access_token });
    assert.deepEqual((await c().get('/api/v1/follow-requests', { token: to })).json.items, []);
  });

  test('lists paginate with a stable cursor', async () => {
    const star = await register(url);
    const fans = [];
    for (let i = 0; i < 5; i++) {
      const f = await register(url);
      await c().post(`/api/v1/users/${star.creds.handle}/follow`, { token: f.tokens.access_token });
      fans.push(f.creds.handle);
    }
    const seen = [];
    let cursor = '';
    for (let page = 0; page < 5 && cursor !== null; page++) {
      const r = await c().get(`/api/v1/users/${star.creds.handle}/followers?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(r.status, 200);
      seen.push(...r.json.items.map((u) => u.handle));
      cursor = r.json.next_cursor;
      if (page === 0) {
        // A follow arriving mid-pagination does not shift the pages already handed out.
        const late = await register(url);
        await c().post(`/api/v1/users/${star.creds.handle}/follow`, { token: late.tokens.access_token });
      }
    }
    assert.deepEqual(seen, [...fans].reverse());
    expectError(await c().get(`/api/v1/users/${star.creds.handle}/followers?limit=500`), 422, 'validation_failed');
  });

  test('100 concurrent follows leave exact counters', async () => {
    const star = await register(url);
    const fans = await Promise.all(Array.from({ length: 100 }, () => register(url)));
    const results = await Promise.all(fans.map((f) =>
      c().post(`/api/v1/users/${star.creds.handle}/follow`, { token: f.tokens.access_token })));
    assert.ok(results.every((r) => r.status === 200), results.map((r) => r.status).join(','));
    const p = await c().get(`/api/v1/users/${star.creds.handle}`);
    assert.equal(p.json.counts.followers, 100);
    const unf = await Promise.all(fans.slice(0, 40).map((f) =>
      c().del(`/api/v1/users/${star.creds.handle}/follow`, { token: f.tokens.access_token })));
    assert.ok(unf.every((r) => r.status === 204));
    assert.equal((await c().get(`/api/v1/users/${star.creds.handle}`)).json.counts.followers, 60);
    assert.equal((await c().get(`/api/v1/users/${fans[99].creds.handle}`)).json.counts.following, 1);
  });
});

describe('blocks and mutes', () => {
  test('a block ends follows both ways and hides the blocker from the blocked', async () => {
    const a = await register(url);
    const b = await register(url);
    const ta = a.tokens.access_token, tb = b.tokens.access_token;
    await c().post(`/api/v1/users/${b.creds.handle}/follow`, { token: ta });
    await c().post(`/api/v1/users/${a.creds.handle}/follow`, { token: tb });
    assert.equal((await c().post(`/api/v1/users/${b.creds.handle}/block`, { token: ta })).status, 204);
    assert.equal((await c().post(`/api/v1/users/${b.creds.handle}/block`, { token: ta })).status, 204, 'idempotent');
    const pa = await c().get(`/api/v1/users/${a.creds.handle}`);
    assert.deepEqual(pa.json.counts, { followers: 0, following: 0, posts: 0 }, 'follows ended both ways');
    expectError(await c().get(`/api/v1/users/${a.creds.handle}`, { token: tb }), 404, 'user_not_found');
    expectError(await c().post(`/api/v1/users/${a.creds.handle}/follow`, { token: tb }), 404, 'user_not_found');
    expectError(await c().post(`/api/v1/users/${b.creds.handle}/follow`, { token: ta }), 403, 'blocked');
    const rel = await c().get(`/api/v1/users/${b.creds.handle}/relationship`, { token: ta });
    assert.equal(rel.json.blocking, true);
    const blocks = await c().get('/api/v1/blocks', { token: ta });
    assert.deepEqual(blocks.json.items.map((u) => u.handle), [b.creds.handle]);
    // Lists seen by the blocked user leave the blocker out.
    const x = await register(url);
    await c().post(`/api/v1/users/${x.creds.handle}/follow`, { token: ta });
    const seenByB = await c().get(`/api/v1/users/${x.creds.handle}/followers`, { token: tb });
    assert.deepEqual(seenByB.json.items, []);
    const seenByAnon = await c().get(`/api/v1/users/${x.creds.handle}/followers`);
    assert.deepEqual(seenByAnon.json.items.map((u) => u.handle), [a.creds.handle]);
    assert.equal((await c().del(`/api/v1/users/${b.creds.handle}/block`, { token: ta })).status, 204);
    assert.equal((await c().get(`/api/v1/users/${a.creds.handle}`, { token: tb })).status, 200);
    assert.deepEqual((await c().get('/api/v1/blocks', { token: ta })).json.items, []);
    expectError(await c().post(`/api/v1/users/${a.creds.handle}/block`, { token: ta }), 422, 'cannot_block_self');
    expectError(await c().post(`/api/v1/users/${b.creds.handle}/block`), 401, 'unauthenticated');
    expectError(await c().post('/api/v1/users/nobody_here_at_all/block', { token: ta }), 404, 'user_not_found');
  });

  test('a mute changes nothing else and is listed', async () => {
    const a = await register(url);
    const b = await register(url);
    const ta = a.tokens.access_token;
    await c().post(`/api/v1/users/${b.creds.handle}/follow`, { token: ta });
    assert.equal((await c().post(`/api/v1/users/${b.creds.handle}/mute`, { token: ta })).status, 204);
    const rel = await c().get(`/api/v1/users/${b.creds.handle}/relationship`, { token: ta });
    assert.equal(rel.json.muting, true);
    assert.equal(rel.json.follows, true, 'still following');
    assert.deepEqual((await c().get('/api/v1/mutes', { token: ta })).json.items.map((u) => u.handle), [b.creds.handle]);
    assert.equal((await c().del(`/api/v1/users/${b.creds.handle}/mute`, { token: ta })).status, 204);
    assert.deepEqual((await c().get('/api/v1/mutes', { token: ta })).json.items, []);
    expectError(await c().post(`/api/v1/users/${a.creds.handle}/mute`, { token: ta }), 422, 'cannot_mute_self');
    expectError(await c().get('/api/v1/mutes'), 401, 'unauthenticated');
    expectError(await c().get('/api/v1/blocks?limit=x', { token: ta }), 422, 'validation_failed');
  });
});
