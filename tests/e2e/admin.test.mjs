// SPDX-License-Identifier: MIT
// Roles, the admin CLI, rate limits, token expiry and restarts.
import { test, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer, stopAll, uniqueUser, singleNodeOnly } from './lib/harness.mjs';
import { client, register, login, createUserCli, expectError } from './lib/accounts.mjs';

after(stopAll);

describe('roles', () => {
  test('admins change roles; nobody else can', async () => {
    const server = await startServer({ args: ['--trust-proxy', '--rate-limit', '0'] });
    const adminCreds = uniqueUser('admin');
    const out = createUserCli(server, { ...adminCreds, role: 'admin' });
    assert.match(out, /created user [0-9]+ @\S+ with role admin/);
    const admin = await login(server.url, adminCreds.handle, adminCreds.password);
    assert.equal(admin.user.role, 'admin');
    assert.equal(admin.user.email_verified, true);
    const u = await register(server.url);
    const c = client(server.url);
    const path = `/api/v1/admin/users/${u.user.id}/role`;

    expectError(await c.patch(path, { json: { role: 'creator' } }), 401, 'unauthenticated');
    expectError(await c.patch(path, { json: { role: 'admin' }, token: u.tokens.access_token }), 403, 'forbidden');
    // the role is asked before the body: a malformed body from a non-admin is still 403
    expectError(await c.patch(path, { json: { role: 12 }, token: u.tokens.access_token }), 403, 'forbidden');
    expectError(await c.patch(path, { json: { role: 'emperor' }, token: admin.access_token }), 422, 'validation_failed');
    expectError(await c.patch(path, { json: { role: 7 }, token: admin.access_token }), 422, 'validation_failed');
    expectError(await c.patch(path, { json: {}, token: admin.access_token }), 422, 'validation_failed');
    expectError(await c.patch('/api/v1/admin/users/999999999/role', { json: { role: 'creator' }, token: admin.access_token }), 404, 'user_not_found');
    expectError(await c.patch('/api/v1/admin/users/abc/role', { json: { role: 'creator' }, token: admin.access_token }), 404, 'user_not_found');
    expectError(await c.patch(`/api/v1/admin/users/${admin.user.id}/role`, { json: { role: 'user' }, token: admin.access_token }), 409, 'cannot_change_own_role');

    const r = await c.patch(path, { json: { role: 'moderator' }, token: admin.access_token });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.role, 'moderator');
    // The new role applies to the existing session at once.
    const me = await c.get('/api/v1/auth/me', { token: u.tokens.access_token });
    assert.equal(me.json.role, 'moderator');
    // A moderator is still not an admin.
    expectError(await c.patch(path, { json: { role: 'admin' }, token: u.tokens.access_token }), 403, 'forbidden');

    // /health/detailed is for admins.
    expectError(await c.get('/health/detailed'), 401, 'unauthenticated');
    expectError(await c.get('/health/detailed', { token: u.tokens.access_token }), 403, 'forbidden');
    const d = await c.get('/health/detailed', { token: admin.access_token });
    assert.equal(d.status, 200, d.text);
    assert.equal(d.json.status, 'ok');
    assert.equal(d.json.database.schema_version, d.json.database.schema_expected);
    assert.ok(d.json.uptime_seconds >= 0);
    assert.equal(typeof d.json.queues.outbox_pending, 'number');
    assert.match(d.json.libraries.libmicrohttpd, /^[0-9.]+$/);
  });

  test('the CLI refuses bad input and duplicates', async () => {
    const server = await startServer();
    const creds = uniqueUser('cli');
    createUserCli(server, { ...creds, role: 'creator' });
    assert.throws(() => createUserCli(server, { ...creds, role: 'creator' }), /handle_taken/);
    assert.throws(() => createUserCli(server, { ...uniqueUser(), role: 'king' }), /role/);
    assert.throws(() => createUserCli(server, { ...uniqueUser(), password: 'short' }), /password/);
  });
});

describe('rate limits', () => {
  test('login attempts are limited per address and per account, with Retry-After', async () => {
    const server = await startServer({ args: ['--trust-proxy', '--rate-limit', '0', '--auth-rate-limit', '3'] });
    const a = await register(server.url);
    const c = client(server.url);
    for (let i = 0; i < 3; i++)
      expectError(await c.post('/api/v1/auth/login', { json: { login: 'x' + i + a.creds.handle, password: 'wrong password' } }), 401, 'invalid_credentials');
    const limited = await c.post('/api/v1/auth/login', { json: { login: a.creds.handle, password: a.creds.password } });
    expectError(limited, 429, 'rate_limited');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    // Another address is not affected...
    const other = client(server.url);
    assert.equal((await other.post('/api/v1/auth/login', { json: { login: a.creds.handle, password: a.creds.password } })).status, 200);
    // ...but hammering one account from many addresses is.
    for (let i = 0; i < 2; i++)
      await client(server.url).post('/api/v1/auth/login', { json: { login: a.creds.handle, password: 'wrong password' } });
    expectError(await client(server.url).post('/api/v1/auth/login', { json: { login: a.creds.handle, password: a.creds.password } }), 429, 'rate_limited');
  });

  test('the general per-client limit answers 429 and spares probes', {
    skip: singleNodeOnly('--rate-limit is per node by design (docs/operations.md, Rate limiters); behind nginx round robin a client gets N budgets'),
  }, async () => {
    const server = await startServer({ args: ['--trust-proxy', '--rate-limit', '1', '--rate-burst', '5'] });
    const c = client(server.url);
    const statuses = [];
    for (let i = 0; i < 8; i++) statuses.push((await c.get('/api/v1/auth/me')).status);
    assert.deepEqual(statuses.slice(0, 5), [401, 401, 401, 401, 401]);
    assert.ok(statuses.slice(5).every((s) => s === 429), statuses.join(','));
    const r = await c.get('/api/v1/auth/me');
    expectError(r, 429, 'rate_limited');
    assert.ok(r.headers.get('retry-after'));
    for (let i = 0; i < 10; i++) assert.equal((await c.get('/health/live')).status, 200);
    assert.equal((await client(server.url).get('/api/v1/auth/me')).status, 401, 'other clients unaffected');
  });
});

describe('lifetimes and restarts', () => {
  test('expired access tokens are refused with token_expired', async () => {
    const server = await startServer({ args: ['--trust-proxy', '--access-ttl', '1'] });
    const a = await register(server.url);
    await sleep(2100);
    expectError(await client(server.url).get('/api/v1/auth/me', { token: a.tokens.access_token }), 401, 'token_expired');
    const r = await client(server.url).post('/api/v1/auth/refresh', { json: { refresh_token: a.tokens.refresh_token } });
    assert.equal(r.status, 200, 'a refresh gets a new access token');
  });

  test('a restart keeps accounts, sessions and the signing key', async () => {
    const server = await startServer({ args: ['--trust-proxy'] });
    const a = await register(server.url);
    assert.equal(await server.stop(), 0, 'SIGTERM exits 0');
    await server.restart();
    const c = client(server.url);
    const me = await c.get('/api/v1/auth/me', { token: a.tokens.access_token });
    assert.equal(me.status, 200, me.text);
    assert.equal(me.json.id, a.user.id);
    await login(server.url, a.creds.email, a.creds.password);
    const r = await c.post('/api/v1/auth/refresh', { json: { refresh_token: a.tokens.refresh_token } });
    assert.equal(r.status, 200);
  });
});
