// SPDX-License-Identifier: MIT
// Account helpers shared by the e2e suites: each call comes from its own client address
// (X-Forwarded-For, honoured because suites start the server with --trust-proxy), so per-address
// rate limits of one test never leak into another.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { api, freshIp, uniqueUser } from './harness.mjs';

export const BIN = process.env.STREAMHUB_BIN || 'build/streamhub';

/** A client bound to one client address. */
export function client(url, ip = freshIp()) {
  const c = api(url);
  const withIp = (opts = {}) => ({ ...opts, headers: { 'X-Forwarded-For': ip, ...(opts.headers || {}) } });
  return {
    ip,
    request: (m, p, o) => c.request(m, p, withIp(o)),
    get: (p, o) => c.request('GET', p, withIp(o)),
    post: (p, o) => c.request('POST', p, withIp(o)),
    patch: (p, o) => c.request('PATCH', p, withIp(o)),
    del: (p, o) => c.request('DELETE', p, withIp(o)),
  };
}

/** Registers a fresh user and returns { user, tokens, creds, c }. */
export async function register(url, extra = {}) {
  const creds = { ...uniqueUser(), ...extra };
  const c = client(url);
  const r = await c.post('/api/v1/auth/register', { json: creds });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  return { user: r.json.user, tokens: r.json, creds, c };
}

export async function login(url, login, password) {
  const r = await client(url).post('/api/v1/auth/login', { json: { login, password } });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json;
}

/** Runs `streamhub admin create-user` against a running server's data. */
export function createUserCli(server, { email, handle, password, role = 'admin' }) {
  const args = ['admin', 'create-user', '--email', email, '--handle', handle, '--password-stdin',
    '--role', role, '--data-dir', server.dataDir];
  if (server.database) args.push('--database', server.database);
  return execFileSync(BIN, args, { input: password + '\n', encoding: 'utf8' });
}

export function expectError(r, status, code) {
  assert.equal(r.status, status, `expected ${status} ${code}, got ${r.status} ${r.text}`);
  assert.ok(r.json && r.json.error, `error body expected: ${r.text}`);
  if (code) assert.equal(r.json.error.code, code, r.text);
  assert.equal(typeof r.json.error.message, 'string');
  assert.equal(typeof r.json.error.details, 'object');
}
