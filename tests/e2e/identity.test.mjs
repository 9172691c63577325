// SPDX-License-Identifier: MIT
// Identity and bookkeeping around the social core: circles (owner-only CRUD and membership),
// verification badges granted by admins, handle changes that keep the old handle reserved, and
// the batched event log.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer, stopAll, uniqueUser } from './lib/harness.mjs';
import { client, register, login, createUserCli, expectError } from './lib/accounts.mjs';

let server, url;
before(async () => {
  server = await startServer({ args: ['--trust-proxy', '--rate-limit', '0', '--auth-rate-limit', '0'] });
  url = server.url;
});
after(stopAll);
const c = () => client(url);
const tok = (u) => u.tokens.access_token;
const admin = async () => {
  const creds = uniqueUser('adm');
  createUserCli(server, { ...creds, role: 'admin' });
  return { tokens: await login(url, creds.handle, creds.password), creds };
};

describe('circles', () => {
  test('owner-only CRUD and idempotent membership', async () => {
    const a = await register(url);
    const b = await register(url);
    const m = await register(url);
    const r = await c().post('/api/v1/circles', { token: tok(a), json: { name: 'Close friends' } });
    assert.equal(r.status, 201, r.text);
    const id = r.json.id;
    assert.deepEqual([r.json.name, r.json.member_count], ['Close friends', 0]);
    const put = (who, handle) => c().request('PUT', `/api/v1/circles/${id}/members/${handle}`, { token: tok(who) });
    assert.equal((await put(a, m.creds.handle)).status, 204);
    assert.equal((await put(a, m.creds.handle.toUpperCase())).status, 204, 'idempotent, any case');
    assert.equal((await put(a, b.creds.handle)).status, 204);
    assert.equal((await c().get(`/api/v1/circles/${id}`, { token: tok(a) })).json.member_count, 2);
    const members = await c().get(`/api/v1/circles/${id}/members?limit=1`, { token: tok(a) });
    assert.equal(members.json.items.length, 1);
    const rest = await c().get(`/api/v1/circles/${id}/members?cursor=${members.json.next_cursor}`, { token: tok(a) });
    assert.deepEqual([...members.json.items, ...rest.json.items].map((u) => u.handle).sort(), [m.creds.handle, b.creds.handle].sort());
    assert.equal((await c().patch(`/api/v1/circles/${id}`, { token: tok(a), json: { name: 'Besties' } })).json.name, 'Besties');
    assert.deepEqual((await c().get('/api/v1/circles', { token: tok(a) })).json.items.map((x) => x.name), ['Besties']);
    assert.equal((await c().del(`/api/v1/circles/${id}/members/${b.creds.handle}`, { token: tok(a) })).status, 204);
    assert.equal((await c().del(`/api/v1/circles/${id}/members/${b.creds.handle}`, { token: tok(a) })).status, 204);
    assert.equal((await c().get(`/api/v1/circles/${id}`, { token: tok(a) })).json.member_count, 1);

    // Someone else's circle does not exist for them.
    for (const [method, path, json] of [['GET', `/api/v1/circles/${id}`], ['PATCH', `/api/v1/circles/${id}`, { name: 'mine' }],
      ['DELETE', `/api/v1/circles/${id}`], ['GET', `/api/v1/circles/${id}/members`], ['PUT', `/api/v1/circles/${id}/members/${b.creds.handle}`],
      ['DELETE', `/api/v1/circles/${id}/members/${m.creds.handle}`]])
      expectError(await c().request(method, path, { token: tok(b), json }), 404, 'circle_not_found');
    assert.deepEqual((await c().get('/api/v1/circles', { token: tok(b) })).json.items, []);
    assert.equal((await c().get(`/api/v1/circles/${id}`, { token: tok(a) })).json.member_count, 1, 'nothing changed');
    expectError(await c().get('/api/v1/circles'), 401, 'unauthenticated');
    expectError(await c().post('/api/v1/circles', { json: { name: 'x' } }), 401, 'unauthenticated');

    // Bad input.
    for (const json of [{}, { name: '' }, { name: 5 }, { name: 'x'.repeat(61) }, { name: 'ok', color: 'red' }])
      expectError(await c().post('/api/v1/circles', { token: tok(a), json }), 422, 'validation_failed');
    expectError(await put(a, 'nobody_here_at_all'), 404, 'user_not_found');
    const self = await put(a, a.creds.handle);
    expectError(self, 422, 'validation_failed');
    await c().post(`/api/v1/users/${b.creds.handle}/block`, { token: tok(a) });
    expectError(await put(a, b.creds.handle), 404, 'user_not_found');
    expectError(await c().get('/api/v1/circles/abc', { token: tok(a) }), 404, 'circle_not_found');
    expectError(await c().get('/api/v1/circles?limit=500', { token: tok(a) }), 422, 'validation_failed');
    assert.equal((await c().del(`/api/v1/circles/${id}`, { token: tok(a) })).status, 204);
    expectError(await c().get(`/api/v1/circles/${id}`, { token: tok(a) }), 404, 'circle_not_found');
  });

  test('at most 50 circles each', async () => {
    const a = await register(url);
    for (let i = 0; i < 50; i++)
      assert.equal((await c().post('/api/v1/circles', { token: tok(a), json: { name: `c${i}` } })).status, 201);
    expectError(await c().post('/api/v1/circles', { token: tok(a), json: { name: 'one more' } }), 409, 'too_many_circles');
  });
});

describe('badges', () => {
  test('admins grant and revoke; profiles show them; nobody else can', async () => {
    const adm = await admin();
    const u = await register(url);
    const path = `/api/v1/admin/users/${u.user.id}/badges`;
    let r = await c().post(path, { token: adm.tokens.access_token, json: { badge: 'verified' } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.badges, ['verified']);
    await c().post(path, { token: adm.tokens.access_token, json: { badge: 'verified' } });
    await c().post(path, { token: adm.tokens.access_token, json: { badge: 'creator' } });
    assert.deepEqual((await c().get(`/api/v1/users/${u.creds.handle}`)).json.badges, ['creator', 'verified']);
    r = await c().del(`${path}?badge=creator`, { token: adm.tokens.access_token });
    assert.deepEqual(r.json.badges, ['verified']);
    r = await c().del(path, { token: adm.tokens.access_token, json: { badge: 'verified' } });
    assert.deepEqual(r.json.badges, []);
    expectError(await c().post(path, { token: tok(u), json: { badge: 'verified' } }), 403, 'forbidden');
    expectError(await c().post(path, { json: { badge: 'verified' } }), 401, 'unauthenticated');
    for (const json of [{}, { badge: 'king' }, { badge: 3 }, { badge: 'verified', extra: 1 }])
      expectError(await c().post(path, { token: adm.tokens.access_token, json }), 422, 'validation_failed');
    expectError(await c().post('/api/v1/admin/users/999999/badges', { token: adm.tokens.access_token, json: { badge: 'verified' } }), 404, 'user_not_found');
    expectError(await c().post('/api/v1/admin/users/abc/badges', { token: adm.tokens.access_token, json: { badge: 'verified' } }), 404, 'user_not_found');
    assert.deepEqual((await c().get(`/api/v1/users/${u.creds.handle}`)).json.badges, []);
  });
});

describe('handles', () => {
  test('a changed handle stays reserved for its owner', async () => {
    const a = await register(url);
    const b = await register(url);
    const old = a.creds.handle;
    const fresh = `n${Date.now().toString(36)}`;
    const r = await c().patch('/api/v1/users/me', { token: tok(a), json: { handle: fresh } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.handle, fresh);
    assert.equal((await c().get(`/api/v1/users/${fresh}`)).json.id, a.user.id);
    expectError(await c().get(`/api/v1/users/${old}`), 404, 'user_not_found');
    // Nobody else can take the old handle, by renaming or by registering.
    expectError(await c().patch('/api/v1/users/me', { token: tok(b), json: { handle: old.toUpperCase() } }), 409, 'handle_taken');
    const reg = await c().post('/api/v1/auth/register', { json: { ...uniqueUser(), handle: old } });
    expectError(reg, 409);
    expectError(await c().patch('/api/v1/users/me', { token: tok(b), json: { handle: fresh } }), 409, 'handle_taken');
    // The owner can take it back, which frees the newer one.
    assert.equal((await c().patch('/api/v1/users/me', { token: tok(a), json: { handle: old } })).status, 200);
    assert.equal((await c().get(`/api/v1/users/${old}`)).json.id, a.user.id);
    // Logging in works with the current handle.
    assert.equal((await login(url, old, a.creds.password)).user.id, a.user.id);
  });
});

describe('events', () => {
  test('actions land in the event log in batches; admins read it', async () => {
    const adm = await admin();
    const a = await register(url);
    const b = await register(url);
    const p = (await c().post('/api/v1/posts', { token: tok(a), json: { caption: 'evented' } })).json;
    await c().post(`/api/v1/posts/${p.id}/reactions`, { token: tok(b) });
    await c().post(`/api/v1/posts/${p.id}/save`, { token: tok(b) });
    await c().post(`/api/v1/posts/${p.id}/view`, { token: tok(b), json: { watch_ms: 2500, completed: true, source: 'profile' } });
    await c().post(`/api/v1/posts/${p.id}/comments`, { token: tok(b), json: { body: 'hi' } });
    await c().post(`/api/v1/users/${a.creds.handle}/follow`, { token: tok(b) });
    await c().get(`/api/v1/users/${a.creds.handle}`, { token: tok(b) });
    let types = [];
    for (let i = 0; i < 50 && types.length < 6; i++) {
      await sleep(100);
      const r = await c().get(`/api/v1/admin/events?actor_id=${b.user.id}`, { token: adm.tokens.access_token });
      assert.equal(r.status, 200, r.text);
      types = r.json.items.map((e) => e.type);
    }
    assert.deepEqual(types, ['profile_view', 'follow', 'comment', 'view', 'save', 'like']);
    const view = (await c().get(`/api/v1/admin/events?actor_id=${b.user.id}&type=view`, { token: adm.tokens.access_token })).json.items;
    assert.deepEqual(view.map((e) => [e.object_type, e.object_id, e.props]),
      [['post', p.id, { watch_ms: 2500, completed: true, source: 'profile', post_type: 'text', counted: true }]]);
    expectError(await c().get('/api/v1/admin/events', { token: tok(a) }), 403, 'forbidden');
    expectError(await c().get('/api/v1/admin/events'), 401, 'unauthenticated');
    expectError(await c().get('/api/v1/admin/events?actor_id=x', { token: adm.tokens.access_token }), 422, 'validation_failed');
    const m = await c().get('/metrics');
    assert.match(m.text, /streamhub_events_written_total [1-9]/);
  });
});
