// SPDX-License-Identifier: MIT
// Pinned posts (the worked example of docs/architecture.md, "How to add a module"): who may pin
// what, the cap of three, idempotence, what each reader sees of a profile's pins, and bad input.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopAll } from './lib/harness.mjs';
import { client, register, expectError } from './lib/accounts.mjs';

let url;
before(async () => { url = (await startServer({ args: ['--trust-proxy', '--rate-limit', '0', '--auth-rate-limit', '0'] })).url; });
after(stopAll);
const c = () => client(url);
const post = async (who, json) => {
  const r = await c().post('/api/v1/posts', { token: who.tokens.access_token, json });
  assert.equal(r.status, 201, r.text);
  return r.json.id;
};
const pin = (who, id) => c().request('PUT', `/api/v1/posts/${id}/pin`, { token: who.tokens.access_token });
const unpin = (who, id) => c().del(`/api/v1/posts/${id}/pin`, { token: who.tokens.access_token });
const pins = (handle, who) => c().get(`/api/v1/users/${handle}/pins`, who ? { token: who.tokens.access_token } : {});
const ids = (r) => r.json.items.map((p) => p.id);

describe('pinned posts', () => {
  test('a creator pins up to three posts, the latest pinned first; twice is once', async () => {
    const a = await register(url);
    const p = [];
    for (let i = 0; i < 4; i++) p.push(await post(a, { caption: `post ${i}` }));
    for (const id of [p[0], p[1], p[2]]) assert.equal((await pin(a, id)).status, 204);
    assert.equal((await pin(a, p[1])).status, 204, 'pinning again changes nothing');
    let r = await pins(a.creds.handle);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(ids(r), [p[2], p[1], p[0]]);
    assert.equal(r.json.next_cursor, null);
    assert.equal(r.json.items[0].author.handle, a.creds.handle, 'the usual post shape');
    expectError(await pin(a, p[3]), 409, 'too_many_pins');
    assert.equal((await unpin(a, p[1])).status, 204);
    assert.equal((await unpin(a, p[1])).status, 204, 'unpinning again changes nothing');
    assert.equal((await pin(a, p[3])).status, 204, 'the freed place takes another');
    r = await pins(a.creds.handle, a);
    assert.deepEqual(ids(r), [p[3], p[2], p[0]]);
    assert.equal(r.json.items[0].saved, false, 'a signed-in reader gets their own state');
  });

  test('a deleted post leaves the pins and frees its place', async () => {
    const a = await register(url);
    const p = [];
    for (let i = 0; i < 4; i++) p.push(await post(a, { caption: `post ${i}` }));
    for (const id of p.slice(0, 3)) assert.equal((await pin(a, id)).status, 204);
    assert.equal((await c().del(`/api/v1/posts/${p[0]}`, { token: a.tokens.access_token })).status, 204);
    assert.deepEqual(ids(await pins(a.creds.handle)), [p[2], p[1]]);
    assert.equal((await pin(a, p[3])).status, 204);
  });

  test('only the author pins, stories cannot be, unknown posts are 404', async () => {
    const a = await register(url);
    const b = await register(url);
    const theirs = await post(b, { caption: 'not yours' });
    expectError(await pin(a, theirs), 403, 'not_author');
    const story = await post(a, { type: 'story', caption: 'gone tomorrow' });
    expectError(await pin(a, story), 409, 'not_pinnable');
    expectError(await pin(a, '123'), 404, 'post_not_found');
    expectError(await pin(a, 'not-an-id'), 404, 'post_not_found');
    const hidden = await post(b, { caption: 'private', visibility: 'private' });
    expectError(await pin(a, hidden), 404, 'post_not_found');
    assert.deepEqual(ids(await pins(b.creds.handle)), []);
  });

  test('readers see only the pins whose posts they may see; blocked readers see no profile', async () => {
    const a = await register(url);
    const b = await register(url);
    const pub = await post(a, { caption: 'everyone' });
    const fol = await post(a, { caption: 'followers only', visibility: 'followers' });
    for (const id of [pub, fol]) assert.equal((await pin(a, id)).status, 204);
    assert.deepEqual(ids(await pins(a.creds.handle)), [pub], 'anonymous');
    assert.deepEqual(ids(await pins(a.creds.handle, b)), [pub], 'not a follower');
    assert.equal((await c().post(`/api/v1/users/${a.creds.handle}/follow`, { token: b.tokens.access_token })).status, 200);
    assert.deepEqual(ids(await pins(a.creds.handle, b)), [fol, pub], 'a follower');
    assert.deepEqual(ids(await pins(a.creds.handle, a)), [fol, pub], 'the author');
    assert.equal((await c().post(`/api/v1/users/${b.creds.handle}/block`, { token: a.tokens.access_token })).status, 204);
    expectError(await pins(a.creds.handle, b), 404, 'user_not_found');
    expectError(await pins('nobody_here_x'), 404, 'user_not_found');
  });

  test('who may call, and bad input changes nothing', async () => {
    const a = await register(url);
    const id = await post(a, { caption: 'x' });
    expectError(await c().request('PUT', `/api/v1/posts/${id}/pin`), 401);
    expectError(await c().del(`/api/v1/posts/${id}/pin`), 401);
    expectError(await c().request('PUT', `/api/v1/posts/${id}/pin`, { token: 'garbage' }), 401);
    expectError(await pins(a.creds.handle, { tokens: { access_token: 'garbage' } }), 401);
    const body = (json) => c().request('PUT', `/api/v1/posts/${id}/pin`, { token: a.tokens.access_token, json });
    const r = await body({ position: 1 });
    expectError(r, 422, 'validation_failed');
    assert.equal(r.json.error.details.field, 'position');
    const bad = await c().request('PUT', `/api/v1/posts/${id}/pin`, {
      token: a.tokens.access_token, headers: { 'content-type': 'application/json' }, body: '{"x":',
    });
    assert.equal(bad.status, 400);
    expectError(await body([1, 2]), 400);
    assert.deepEqual(ids(await pins(a.creds.handle)), [], 'none of it pinned anything');
    assert.equal((await body({})).status, 204, 'an empty object is fine');
  });
});
