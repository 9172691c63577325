// SPDX-License-Identifier: MIT
// Accounts end to end: registration, login, refresh rotation and reuse detection, sessions,
// logout, password change, email verification, password reset and one-time codes, with every
// code delivered through the webhook adapter to a real HTTP receiver.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopAll, startWebhookReceiver, uniqueUser } from './lib/harness.mjs';
import { client, register, login, expectError } from './lib/accounts.mjs';

let server, hook, url;

before(async () => {
  hook = await startWebhookReceiver();
  server = await startServer({ args: ['--trust-proxy', '--rate-limit', '0', '--delivery', 'webhook',
    '--webhook-url', hook.url] });
  url = server.url;
});
after(async () => { await stopAll(); await hook.close(); });

const to = (addr, template) => (m) => m.to === addr && m.template === template;

describe('register', () => {
  test('creates an account and answers tokens', async () => {
    const { user, tokens, creds } = await register(url, { display_name: 'Ana 🎬 Ñúñez' });
    assert.match(user.id, /^[1-9][0-9]{5,19}$/);
    assert.equal(user.handle, creds.handle);
    assert.equal(user.email, creds.email);
    assert.equal(user.display_name, 'Ana 🎬 Ñúñez');
    assert.equal(user.role, 'user');
    assert.equal(user.email_verified, false);
    assert.equal(tokens.token_type, 'Bearer');
    assert.equal(tokens.expires_in, 900);
    assert.ok(tokens.access_token.split('.').length === 3);
    assert.match(tokens.refresh_token, /^[A-Za-z0-9_-]{43}$/);
    const me = await client(url).get('/api/v1/auth/me', { token: tokens.access_token });
    assert.equal(me.status, 200);
    assert.equal(me.json.id, user.id);
    assert.equal(me.json.session_id, tokens.session_id);
    assert.equal(me.json.password_hash, undefined);
  });

  test('handles and emails are unique ignoring case', async () => {
    const { creds } = await register(url);
    const c = client(url);
    const other = uniqueUser();
    expectError(await c.post('/api/v1/auth/register', { json: { ...other, handle: creds.handle.toUpperCase() } }), 409, 'handle_taken');
    expectError(await c.post('/api/v1/auth/register', { json: { ...other, email: creds.email.toUpperCase() } }), 409, 'email_taken');
  });

  test('rejects bad fields with 422 naming the field, and stores nothing', async () => {
    const c = client(url);
    const good = uniqueUser();
    const cases = [
      [{ ...good, email: undefined }, 'email', 'required'],
      [{ ...good, handle: undefined }, 'handle', 'required'],
      [{ ...good, password: undefined }, 'password', 'required'],
      [{ ...good, email: 42 }, 'email', 'must_be_string'],
      [{ ...good, handle: ['a'] }, 'handle', 'must_be_string'],
      [{ ...good, password: { x: 1 } }, 'password', 'must_be_string'],
      [{ ...good, email: 'not-an-email' }, 'email', 'invalid_format'],
      [{ ...good, email: "x'; DROP TABLE users; --@example.test" }, 'email', 'invalid_format'],
      [{ ...good, handle: 'ab' }, 'handle', 'too_short'],
      [{ ...good, handle: 'a'.repeat(31) }, 'handle', 'too_long'],
      [{ ...good, handle: "bob'; DROP TABLE users;--" }, 'handle', 'invalid_characters'],
      [{ ...good, handle: "bo'b" }, 'handle', 'invalid_characters'],
      [{ ...good, handle: 'Admin' }, 'handle', 'reserved'],
      [{ ...good, handle: 'ña_ña' }, 'handle', 'invalid_characters'],
      [{ ...good, password: 'short' }, 'password', 'too_short'],
      [{ ...good, password: 'x'.repeat(129) }, 'password', 'too_long'],
      [{ ...good, display_name: 'x'.repeat(65) }, 'display_name', 'too_long'],
      [{ ...good, display_name: 'bad\u0007bell' }, 'display_name', 'invalid_characters'],
    ];
    for (const [body, field, reason] of cases) {
      const r = await c.post('/api/v1/auth/register', { json: body });
      expectError(r, 422, 'validation_failed');
      assert.equal(r.json.error.details.field, field, JSON.stringify(body));
      assert.equal(r.json.error.details.reason, reason, JSON.stringify(body));
    }
    // Nothing was created: the good credentials still register.
    const r = await c.post('/api/v1/auth/register', { json: good });
    assert.equal(r.status, 201, r.text);
  });

  test('SQL and unicode in text fields are stored verbatim', async () => {
    const name = "Robert'); DROP TABLE users;-- 😀 \"quoted\" \\ back";
    const { user, tokens } = await register(url, { display_name: name });
    assert.equal(user.display_name, name);
    const me = await client(url).get('/api/v1/auth/me', { token: tokens.access_token });
    assert.equal(me.json.display_name, name);
  });
});

describe('login', () => {
  test('accepts email, handle or login in any case', async () => {
    const { creds, user } = await register(url);
    for (const body of [{ login: creds.email.toUpperCase() }, { login: creds.handle }, { email: creds.email }, { handle: creds.handle.toUpperCase() }]) {
      const r = await client(url).post('/api/v1/auth/login', { json: { ...body, password: creds.password } });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.user.id, user.id);
      assert.equal(r.json.created, false);
    }
  });

  test('wrong password and unknown account look the same', async () => {
    const { creds } = await register(url);
    const c = client(url);
    const wrong = await c.post('/api/v1/auth/login', { json: { login: creds.handle, password: 'wrong password' } });
    expectError(wrong, 401, 'invalid_credentials');
    assert.equal(wrong.headers.get('www-authenticate'), 'Bearer');
    const unknown = await c.post('/api/v1/auth/login', { json: { login: 'nobody_' + creds.handle, password: creds.password } });
    expectError(unknown, 401, 'invalid_credentials');
    assert.equal(unknown.json.error.message, wrong.json.error.message);
  });

  test('bad input', async () => {
    const c = client(url);
    expectError(await c.post('/api/v1/auth/login', { json: { login: 'someone' } }), 422, 'validation_failed');
    expectError(await c.post('/api/v1/auth/login', { json: { password: 'whatever123' } }), 422, 'validation_failed');
    expectError(await c.post('/api/v1/auth/login', { json: { login: 5, password: 'x' } }), 422, 'validation_failed');
    expectError(await c.post('/api/v1/auth/login', { body: '{"login":', headers: { 'content-type': 'application/json' } }), 400, 'malformed_json');
    expectError(await c.post('/api/v1/auth/login', { body: 'login=a', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'unsupported_media_type');
    expectError(await c.post('/api/v1/auth/login', { body: '', headers: { 'content-type': 'application/json' } }), 400, 'body_required');
    expectError(await c.post('/api/v1/auth/login', { body: '{"login":"a","login":"b","password":"x"}', headers: { 'content-type': 'application/json' } }), 400, 'malformed_json');
  });
});

describe('tokens and sessions', () => {
  test('refresh rotates; replaying a rotated token revokes the session', async () => {
    const { tokens } = await register(url);
    const c = client(url);
    const r1 = await c.post('/api/v1/auth/refresh', { json: { refresh_token: tokens.refresh_token } });
    assert.equal(r1.status, 200, r1.text);
    assert.notEqual(r1.json.refresh_token, tokens.refresh_token);
    assert.equal(r1.json.session_id, tokens.session_id);
    assert.equal((await c.get('/api/v1/auth/me', { token: r1.json.access_token })).status, 200);
    // The old token comes back: someone copied it.
    expectError(await c.post('/api/v1/auth/refresh', { json: { refresh_token: tokens.refresh_token } }), 401, 'refresh_token_reused');
    expectError(await c.post('/api/v1/auth/refresh', { json: { refresh_token: r1.json.refresh_token } }), 401, 'session_revoked');
    expectError(await c.get('/api/v1/auth/me', { token: r1.json.access_token }), 401, 'session_revoked');
  });

  test('refresh with unknown or malformed tokens', async () => {
    const c = client(url);
    expectError(await c.post('/api/v1/auth/refresh', { json: { refresh_token: 'nope' } }), 401, 'invalid_refresh_token');
    expectError(await c.post('/api/v1/auth/refresh', { json: { refresh_token: 12 } }), 422, 'validation_failed');
    expectError(await c.post('/api/v1/auth/refresh', { json: {} }), 422, 'validation_failed');
  });

  test('access tokens are checked', async () => {
    const { tokens } = await register(url);
    const c = client(url);
    expectError(await c.get('/api/v1/auth/me'), 401, 'unauthenticated');
    expectError(await c.get('/api/v1/auth/me', { headers: { authorization: 'Basic YTpi' } }), 401, 'invalid_token');
    expectError(await c.get('/api/v1/auth/me', { token: 'garbage' }), 401, 'invalid_token');
    const [h, p, s] = tokens.access_token.split('.');
    const flipped = s.slice(0, -2) + (s.at(-2) === 'A' ? 'B' : 'A') + s.at(-1);
    expectError(await c.get('/api/v1/auth/me', { token: `${h}.${p}.${flipped}` }), 401, 'invalid_token');
    // A token that claims another user with the original signature is rejected.
    const claims = JSON.parse(Buffer.from(p, 'base64url'));
    claims.sub = '1234567890';
    const forged = Buffer.from(JSON.stringify(claims)).toString('base64url');
    expectError(await c.get('/api/v1/auth/me', { token: `${h}.${forged}.${s}` }), 401, 'invalid_token');
    // alg=none is never accepted.
    const none = Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url');
    expectError(await c.get('/api/v1/auth/me', { token: `${none}.${p}.` }), 401, 'invalid_token');
  });

  test('sessions: list with pagination, revoke own, not another user\'s', async () => {
    const a = await register(url);
    const second = await login(url, a.creds.handle, a.creds.password);
    const c = client(url);
    const page1 = await c.get('/api/v1/auth/sessions?limit=1', { token: second.access_token });
    assert.equal(page1.status, 200, page1.text);
    assert.equal(page1.json.items.length, 1);
    assert.equal(page1.json.items[0].id, second.session_id, 'newest first');
    assert.equal(page1.json.items[0].current, true);
    assert.ok(page1.json.next_cursor);
    const page2 = await c.get(`/api/v1/auth/sessions?limit=1&cursor=${page1.json.next_cursor}`, { token: second.access_token });
    assert.equal(page2.json.items.length, 1);
    assert.equal(page2.json.items[0].id, a.tokens.session_id);
    assert.equal(page2.json.items[0].current, false);
    assert.equal(page2.json.next_cursor, null);
    expectError(await c.get('/api/v1/auth/sessions?limit=0', { token: second.access_token }), 422, 'validation_failed');
    expectError(await c.get('/api/v1/auth/sessions?limit=101', { token: second.access_token }), 422, 'validation_failed');
    expectError(await c.get('/api/v1/auth/sessions?cursor=abc', { token: second.access_token }), 422, 'validation_failed');
    expectError(await c.get('/api/v1/auth/sessions'), 401, 'unauthenticated');

    const b = await register(url);
    // Another user's session: 404 and it keeps working.
    expectError(await c.del(`/api/v1/auth/sessions/${b.tokens.session_id}`, { token: second.access_token }), 404, 'session_not_found');
    assert.equal((await c.get('/api/v1/auth/me', { token: b.tokens.access_token })).status, 200);
    expectError(await c.del('/api/v1/auth/sessions/not-a-number', { token: second.access_token }), 404, 'session_not_found');
    // Revoke the first session from the second.
    assert.equal((await c.del(`/api/v1/auth/sessions/${a.tokens.session_id}`, { token: second.access_token })).status, 204);
    expectError(await c.get('/api/v1/auth/me', { token: a.tokens.access_token }), 401, 'session_revoked');
    expectError(await c.del(`/api/v1/auth/sessions/${a.tokens.session_id}`, { token: second.access_token }), 404, 'session_not_found');
  });

  test('logout ends one session, logout-all every session', async () => {
    const a = await register(url);
    const s2 = await login(url, a.creds.handle, a.creds.password);
    const s3 = await login(url, a.creds.handle, a.creds.password);
    const c = client(url);
    assert.equal((await c.post('/api/v1/auth/logout', { token: a.tokens.access_token })).status, 204);
    expectError(await c.get('/api/v1/auth/me', { token: a.tokens.access_token }), 401, 'session_revoked');
    expectError(await c.post('/api/v1/auth/refresh', { json: { refresh_token: a.tokens.refresh_token } }), 401, 'session_revoked');
    assert.equal((await c.get('/api/v1/auth/me', { token: s2.access_token })).status, 200);
    const all = await c.post('/api/v1/auth/logout-all', { token: s2.access_token });
    assert.equal(all.status, 200, all.text);
    assert.equal(all.json.revoked, 2);
    expectError(await c.get('/api/v1/auth/me', { token: s2.access_token }), 401, 'session_revoked');
    expectError(await c.get('/api/v1/auth/me', { token: s3.access_token }), 401, 'session_revoked');
    expectError(await c.post('/api/v1/auth/logout'), 401, 'unauthenticated');
  });
});

describe('password change', () => {
  test('needs the current password and ends other sessions', async () => {
    const a = await register(url);
    const other = await login(url, a.creds.handle, a.creds.password);
    const c = client(url);
    const path = '/api/v1/auth/password';
    expectError(await c.patch(path, { json: { current_password: 'wrong one!', new_password: 'brand new secret' }, token: a.tokens.access_token }), 403, 'invalid_current_password');
    expectError(await c.patch(path, { json: { current_password: a.creds.password, new_password: 'short' }, token: a.tokens.access_token }), 422, 'validation_failed');
    expectError(await c.patch(path, { json: { current_password: a.creds.password }, token: a.tokens.access_token }), 422, 'validation_failed');
    expectError(await c.patch(path, { json: { current_password: a.creds.password, new_password: 'brand new secret' } }), 401, 'unauthenticated');
    assert.equal((await c.patch(path, { json: { current_password: a.creds.password, new_password: 'brand new secret' }, token: a.tokens.access_token })).status, 204);
    assert.equal((await c.get('/api/v1/auth/me', { token: a.tokens.access_token })).status, 200, 'this session stays');
    expectError(await c.get('/api/v1/auth/me', { token: other.access_token }), 401, 'session_revoked');
    expectError(await c.post('/api/v1/auth/login', { json: { login: a.creds.handle, password: a.creds.password } }), 401, 'invalid_credentials');
    await login(url, a.creds.handle, 'brand new secret');
  });
});

describe('email verification', () => {
  test('registration sends a code that verifies the address once', async () => {
    const a = await register(url);
    const msg = await hook.waitFor(to(a.creds.email, 'verify_email'));
    assert.equal(msg.channel, 'email');
    const token = msg.data.token;
    assert.ok(msg.text.includes(token));
    const c = client(url);
    // with the account's own token: its password and sessions stay (see sessions.test.mjs)
    const r = await c.post('/api/v1/auth/verify-email', { token: a.tokens.access_token, json: { token } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.verified, true);
    assert.equal(r.json.sessions_ended, false);
    const me = await c.get('/api/v1/auth/me', { token: a.tokens.access_token });
    assert.equal(me.json.email_verified, true);
    expectError(await c.post('/api/v1/auth/verify-email', { json: { token } }), 422, 'invalid_token');
    expectError(await c.post('/api/v1/auth/verify-email/request', { token: a.tokens.access_token }), 409, 'already_verified');
  });

  test('a new request replaces the old code', async () => {
    const a = await register(url);
    const first = await hook.waitFor(to(a.creds.email, 'verify_email'));
    const c = client(url);
    const r = await c.post('/api/v1/auth/verify-email/request', { token: a.tokens.access_token });
    assert.equal(r.status, 202, r.text);
    const second = await hook.waitFor((m) => to(a.creds.email, 'verify_email')(m) && m.data.token !== first.data.token);
    expectError(await c.post('/api/v1/auth/verify-email', { json: { token: first.data.token } }), 422, 'invalid_token');
    assert.equal((await c.post('/api/v1/auth/verify-email', { json: { token: second.data.token } })).status, 200);
    expectError(await c.post('/api/v1/auth/verify-email/request'), 401, 'unauthenticated');
    expectError(await c.post('/api/v1/auth/verify-email', { json: { token: 'x'.repeat(129) } }), 422, 'validation_failed');
  });
});

describe('password reset', () => {
  test('forgot always answers 202; the code resets once and ends sessions', async () => {
    const a = await register(url);
    const c = client(url);
    const unknown = await c.post('/api/v1/auth/password/forgot', { json: { email: 'nobody-' + a.creds.email } });
    assert.equal(unknown.status, 202);
    const known = await c.post('/api/v1/auth/password/forgot', { json: { email: a.creds.email.toUpperCase() } });
    assert.equal(known.status, 202);
    assert.deepEqual(known.json, unknown.json, 'same answer whether or not the account exists');
    const msg = await hook.waitFor(to(a.creds.email, 'reset_password'));
    const token = msg.data.token;
    expectError(await c.post('/api/v1/auth/password/reset', { json: { token, new_password: 'tiny' } }), 422, 'validation_failed');
    expectError(await c.post('/api/v1/auth/password/reset', { json: { token: 'wrong', new_password: 'another good one' } }), 422, 'invalid_token');
    assert.equal((await c.post('/api/v1/auth/password/reset', { json: { token, new_password: 'another good one' } })).status, 204);
    expectError(await c.post('/api/v1/auth/password/reset', { json: { token, new_password: 'yet another one' } }), 422, 'invalid_token');
    expectError(await c.get('/api/v1/auth/me', { token: a.tokens.access_token }), 401, 'session_revoked');
    const fresh = await login(url, a.creds.email, 'another good one');
    assert.equal(fresh.user.email_verified, true);
    assert.ok(!hook.messages.some((m) => m.to === 'nobody-' + a.creds.email), 'no mail for unknown accounts');
    expectError(await c.post('/api/v1/auth/password/forgot', { json: { email: 'bad' } }), 422, 'validation_failed');
  });
});

describe('one-time codes', () => {
  test('email code signs up, then logs in the same account', async () => {
    const email = `otp_${Date.now()}_${Math.floor(Math.random() * 1e6)}@example.test`;
    const c = client(url);
    const req1 = await c.post('/api/v1/auth/otp/request', { json: { email } });
    assert.equal(req1.status, 202, req1.text);
    const m1 = await hook.waitFor(to(email, 'otp'));
    assert.match(m1.data.code, /^[0-9]{6}$/);
    const wrong = m1.data.code === '000000' ? '111111' : '000000';
    expectError(await c.post('/api/v1/auth/otp/verify', { json: { email, code: wrong } }), 401, 'invalid_code');
    const handle = 'otp' + Math.floor(Math.random() * 1e9);
    const v1 = await c.post('/api/v1/auth/otp/verify', { json: { email, code: m1.data.code, handle } });
    assert.equal(v1.status, 200, v1.text);
    assert.equal(v1.json.created, true);
    assert.equal(v1.json.user.handle, handle);
    assert.equal(v1.json.user.email_verified, true);
    assert.equal(v1.json.user.has_password, false);
    expectError(await c.post('/api/v1/auth/otp/verify', { json: { email, code: m1.data.code } }), 401, 'invalid_code');
    await c.post('/api/v1/auth/otp/request', { json: { email } });
    const m2 = await hook.waitFor((m) => to(email, 'otp')(m) && m !== m1);
    const v2 = await c.post('/api/v1/auth/otp/verify', { json: { email, code: m2.data.code } });
    assert.equal(v2.status, 200, v2.text);
    assert.equal(v2.json.created, false);
    assert.equal(v2.json.user.id, v1.json.user.id);
    // A passwordless account cannot log in with a password.
    expectError(await c.post('/api/v1/auth/login', { json: { login: handle, password: 'anything at all' } }), 401, 'invalid_credentials');
  });

  test('phone codes go out as SMS and create a phone account', async () => {
    const phone = '+1555' + String(Math.floor(Math.random() * 1e7)).padStart(7, '0');
    const c = client(url);
    assert.equal((await c.post('/api/v1/auth/otp/request', { json: { phone } })).status, 202);
    const m = await hook.waitFor(to(phone, 'otp'));
    assert.equal(m.channel, 'sms');
    const v = await c.post('/api/v1/auth/otp/verify', { json: { phone, code: m.data.code } });
    assert.equal(v.status, 200, v.text);
    assert.equal(v.json.user.phone, phone);
    assert.equal(v.json.user.email, null);
    assert.match(v.json.user.handle, /^user[0-9]{8}$/);
  });

  test('five wrong codes lock the code', async () => {
    const email = `lock_${Date.now()}_${Math.floor(Math.random() * 1e6)}@example.test`;
    const c = client(url);
    await c.post('/api/v1/auth/otp/request', { json: { email } });
    const m = await hook.waitFor(to(email, 'otp'));
    const wrong = m.data.code === '123456' ? '654321' : '123456';
    for (let i = 0; i < 5; i++)
      expectError(await c.post('/api/v1/auth/otp/verify', { json: { email, code: wrong } }), 401, 'invalid_code');
    const r = await c.post('/api/v1/auth/otp/verify', { json: { email, code: m.data.code } });
    expectError(r, 429, 'too_many_attempts');
    assert.ok(r.headers.get('retry-after'));
  });

  test('bad input', async () => {
    const c = client(url);
    expectError(await c.post('/api/v1/auth/otp/request', { json: {} }), 422, 'validation_failed');
    expectError(await c.post('/api/v1/auth/otp/request', { json: { email: 'a@b.co', phone: '+15551234567' } }), 422, 'validation_failed');
    expectError(await c.post('/api/v1/auth/otp/request', { json: { phone: '555-1234' } }), 422, 'validation_failed');
    expectError(await c.post('/api/v1/auth/otp/request', { json: { email: 'nope' } }), 422, 'validation_failed');
    expectError(await c.post('/api/v1/auth/otp/verify', { json: { email: 'a@b.co' } }), 422, 'validation_failed');
    expectError(await c.post('/api/v1/auth/otp/verify', { json: { email: 'a@b.co', code: '1234567' } }), 422, 'validation_failed');
    expectError(await c.post('/api/v1/auth/otp/verify', { json: { email: 'never-requested@b.co', code: '123456' } }), 401, 'invalid_code');
  });
});
