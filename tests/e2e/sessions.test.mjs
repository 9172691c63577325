// SPDX-License-Identifier: MIT
// Ending a session ends what is open on it (issue 10): after logout, logout-all, revoking one
// session, a password change or a reset, the session's WebSockets close with 4002 and its
// Server-Sent Event streams send "session.revoked" and end, while other sessions' sockets keep
// receiving; a command sent on a revoked socket does not run. Also the account rules around
// sessions: email ownership proven by code ends an unverified account's other sessions and its
// pre-verification password (pre-hijacking), per-account attempt limits, forgot-password
// answers, and OTP channels.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import WebSocket from 'ws';
import { startServer, stopAll, startWebhookReceiver } from './lib/harness.mjs';
import { client, register, login, expectError } from './lib/accounts.mjs';
import { openEvents } from './lib/sse.mjs';

let hook, server, url;
before(async () => {
  hook = await startWebhookReceiver();
  server = await startServer({ args: ['--trust-proxy', '--rate-limit', '0', '--delivery', 'webhook',
    '--webhook-url', hook.url] });
  url = server.url;
});
/** One value from the server's database (SQLite file or PostgreSQL). */
const sqlValue = (sql) => (server.database
  ? execFileSync('psql', [server.database, '-tAc', sql], { encoding: 'utf8' })
  : execFileSync('sqlite3', [path.join(server.dataDir, 'streamhub.db'), sql], { encoding: 'utf8' })).trim();
after(async () => { await stopAll(); await hook.close(); });

const c = () => client(url);
const ok = (r, status = 200) => { assert.equal(r.status, status, r.text); return r.json; };
const to = (addr, template) => (m) => m.to === addr && m.template === template;

/** A socket authenticated with token (header or first message), recording events and its close. */
async function socket(token, { header = true } = {}) {
  const ws = new WebSocket(url.replace(/^http/, 'ws') + '/api/v1/ws',
    header ? { headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': `10.9.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}` } } : {});
  const s = { ws, events: [], closed: null, waiters: [] };
  const check = () => { s.waiters = s.waiters.filter((w) => !w()); };
  ws.on('message', (raw) => { s.events.push(JSON.parse(raw.toString())); check(); });
  s.closedP = new Promise((r) => ws.on('close', (code, reason) => { s.closed = { code, reason: reason.toString() }; check(); r(s.closed); }));
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  /** Waits until pred(s) holds (the test's own timeout bounds it). */
  s.until = (pred) => new Promise((resolve) => { const w = () => (pred(s) ? (resolve(), true) : false); if (!w()) s.waiters.push(w); });
  s.news = () => s.events.filter((m) => m.type === 'message.new').map((m) => m.data.text);
  if (header) await s.until((x) => x.events.some((m) => m.type === 'ready'));
  else {
    ws.send(JSON.stringify({ type: 'auth', id: 'a1', data: { token } }));
    await s.until((x) => x.events.some((m) => m.id === 'a1'));
    const r = s.events.find((m) => m.id === 'a1');
    assert.equal(r.type, 'ack', JSON.stringify(r));
  }
  return s;
}

/** An SSE stream of GET /api/v1/events, recording its events and its end. */
async function stream(token) {
  const s = await openEvents(url, token);
  s.news = () => s.events.filter((e) => e.event === 'message.new').map((e) => e.data.text);
  return s;
}

/** A user with two sessions (one socket and one stream on each) and a peer who DMs them. */
async function setup() {
  const v = await register(url);
  const peer = await register(url);
  const s1 = v.tokens;
  const s2 = await login(url, v.creds.email, v.creds.password);
  const conv = ok(await c().post('/api/v1/conversations', { token: s1.access_token, json: { kind: 'direct', member_ids: [peer.user.id] } }), 201);
  const open = {
    ws1: await socket(s1.access_token),
    ws2: await socket(s2.access_token, { header: false }),
    sse1: await stream(s1.access_token),
    sse2: await stream(s2.access_token),
  };
  const say = async (text) => ok(await c().post(`/api/v1/conversations/${conv.id}/messages`, { token: peer.tokens.access_token, json: { text } }), 201);
  await say('before');
  for (const o of Object.values(open)) await o.until((x) => x.news().includes('before'));
  return { v, peer, s1, s2, conv, ...open, say, closeAll: () => { open.ws1.ws.terminate(); open.ws2.ws.terminate(); open.sse1.close(); open.sse2.close(); } };
}

const revokedSocket = async (s) => {
  const closed = await s.closedP;
  assert.equal(closed.code, 4002, JSON.stringify(closed));
  assert.equal(closed.reason, 'session revoked');
};
const revokedStream = async (s) => {
  await s.until((x) => x.ended);
  assert.ok(s.events.some((e) => e.event === 'session.revoked'), JSON.stringify(s.events));
};
/** After `after` was said, live ones heard it and ended ones did not. */
async function heardOnlyBy(t, live, ended) {
  await t.say('after');
  for (const s of live) await s.until((x) => x.news().includes('after'));
  // the live ones heard it, so a late delivery to an ended one would have happened by now too
  for (const s of ended) assert.ok(!s.news().includes('after'), 'an ended session got message.new');
  for (const s of live) if (s.ws) assert.equal(s.closed, null);
}

describe('revoking a session ends its sockets and streams', { timeout: 30000 }, () => {
  test('logout: this session only', async () => {
    const t = await setup();
    try {
      assert.equal((await c().post('/api/v1/auth/logout', { token: t.s1.access_token })).status, 204);
      await revokedSocket(t.ws1);
      await revokedStream(t.sse1);
      await heardOnlyBy(t, [t.ws2, t.sse2], [t.ws1, t.sse1]);
    } finally { t.closeAll(); }
  });

  test('revoking another session: that one only', async () => {
    const t = await setup();
    try {
      assert.equal((await c().del(`/api/v1/auth/sessions/${t.s2.session_id}`, { token: t.s1.access_token })).status, 204);
      await revokedSocket(t.ws2);
      await revokedStream(t.sse2);
      await heardOnlyBy(t, [t.ws1, t.sse1], [t.ws2, t.sse2]);
    } finally { t.closeAll(); }
  });

  test('logout-all: every session', async () => {
    const t = await setup();
    try {
      assert.equal(ok(await c().post('/api/v1/auth/logout-all', { token: t.s2.access_token })).revoked, 2);
      await Promise.all([revokedSocket(t.ws1), revokedSocket(t.ws2), revokedStream(t.sse1), revokedStream(t.sse2)]);
      // the peer's own socket proves the message went out
      const pw = await socket(t.peer.tokens.access_token);
      await t.say('after');
      await pw.until((x) => x.news().includes('after'));
      for (const s of [t.ws1, t.ws2, t.sse1, t.sse2]) assert.ok(!s.news().includes('after'));
      pw.ws.terminate();
    } finally { t.closeAll(); }
  });

  test('password change: every other session', async () => {
    const t = await setup();
    try {
      const r = await c().patch('/api/v1/auth/password', { token: t.s1.access_token, json: { current_password: t.v.creds.password, new_password: 'a brand new secret' } });
      assert.equal(r.status, 204, r.text);
      await revokedSocket(t.ws2);
      await revokedStream(t.sse2);
      await heardOnlyBy(t, [t.ws1, t.sse1], [t.ws2, t.sse2]);
    } finally { t.closeAll(); }
  });

  test('password reset: every session', async () => {
    const t = await setup();
    try {
      assert.equal((await c().post('/api/v1/auth/password/forgot', { json: { email: t.v.creds.email } })).status, 202);
      const msg = await hook.waitFor(to(t.v.creds.email, 'reset_password'));
      assert.equal((await c().post('/api/v1/auth/password/reset', { json: { token: msg.data.token, new_password: 'reset secret 1' } })).status, 204);
      await Promise.all([revokedSocket(t.ws1), revokedSocket(t.ws2), revokedStream(t.sse1), revokedStream(t.sse2)]);
    } finally { t.closeAll(); }
  });

  test('a command sent right after the revocation does not run', async () => {
    const t = await setup();
    try {
      assert.equal((await c().post('/api/v1/auth/logout', { token: t.s1.access_token })).status, 204);
      if (t.ws1.ws.readyState === WebSocket.OPEN)
        t.ws1.ws.send(JSON.stringify({ type: 'message.send', id: 'late', data: { conversation_id: t.conv.id, text: 'too late' } }));
      await revokedSocket(t.ws1);
      const reply = t.ws1.events.find((m) => m.id === 'late');
      if (reply) assert.deepEqual([reply.type, reply.data.code], ['error', 'session_revoked']);
      const hist = ok(await c().get(`/api/v1/conversations/${t.conv.id}/messages`, { token: t.s2.access_token }));
      assert.ok(!hist.items.some((m) => m.text === 'too late'), 'the command ran for a revoked session');
    } finally { t.closeAll(); }
  });

  test('a revoked session cannot open a socket or a stream', async () => {
    const v = await register(url);
    assert.equal((await c().post('/api/v1/auth/logout', { token: v.tokens.access_token })).status, 204);
    const ws = new WebSocket(url.replace(/^http/, 'ws') + '/api/v1/ws', { headers: { authorization: `Bearer ${v.tokens.access_token}` } });
    const status = await new Promise((r) => { ws.on('unexpected-response', (_q, res) => r(res.statusCode)); ws.on('open', () => r(101)); ws.on('error', () => {}); });
    assert.equal(status, 401);
    expectError(await c().get('/api/v1/events', { token: v.tokens.access_token }), 401, 'session_revoked');
  });
});

describe('proving an email by code ends an unverified account\'s earlier holders', { timeout: 30000 }, () => {
  const victimEmail = () => `victim_${Date.now()}_${Math.floor(Math.random() * 1e9)}@example.test`;
  const attackerRegisters = async (email) => {
    const att = await register(url, { email, password: 'attacker password' });
    const ws = await socket(att.tokens.access_token);
    return { att, ws };
  };
  const attackerLockedOut = async ({ att, ws }) => {
    await revokedSocket(ws);
    expectError(await c().get('/api/v1/auth/me', { token: att.tokens.access_token }), 401, 'session_revoked');
    expectError(await c().post('/api/v1/auth/refresh', { json: { refresh_token: att.tokens.refresh_token } }), 401, 'session_revoked');
    for (const l of [att.creds.email, att.creds.handle])
      expectError(await c().post('/api/v1/auth/login', { json: { login: l, password: 'attacker password' } }), 401, 'invalid_credentials');
  };

  test('OTP sign-in to an account registered with the address by someone else', async () => {
    const email = victimEmail();
    const a = await attackerRegisters(email);
    assert.equal((await c().post('/api/v1/auth/otp/request', { json: { email } })).status, 202);
    const m = await hook.waitFor(to(email, 'otp'));
    const v = ok(await c().post('/api/v1/auth/otp/verify', { json: { email, code: m.data.code } }));
    assert.equal(v.created, false);
    assert.equal(v.user.id, a.att.user.id, 'the victim lands in the account that holds the address');
    assert.equal(v.user.email_verified, true);
    await attackerLockedOut(a);
    const me = ok(await c().get('/api/v1/auth/me', { token: v.access_token }));
    assert.equal(me.id, a.att.user.id);
    assert.equal(ok(await c().get('/api/v1/auth/sessions', { token: v.access_token })).items.length, 1);
    // the owner can set a password through the reset flow
    await c().post('/api/v1/auth/password/forgot', { json: { email } });
    const r = await hook.waitFor(to(email, 'reset_password'));
    assert.equal((await c().post('/api/v1/auth/password/reset', { json: { token: r.data.token, new_password: 'victim password' } })).status, 204);
    await login(url, email, 'victim password');
  });

  test('a verification code used without the account\'s token', async () => {
    const email = victimEmail();
    const a = await attackerRegisters(email);
    const m = await hook.waitFor(to(email, 'verify_email'));
    const r = ok(await c().post('/api/v1/auth/verify-email', { json: { token: m.data.token } }));
    assert.equal(r.sessions_ended, true);
    await attackerLockedOut(a);
  });

  test('a verification code used with the account\'s own token keeps password and sessions', async () => {
    const v = await register(url);
    const s2 = await login(url, v.creds.handle, v.creds.password);
    const m = await hook.waitFor(to(v.creds.email, 'verify_email'));
    const r = ok(await c().post('/api/v1/auth/verify-email', { token: s2.access_token, json: { token: m.data.token } }));
    assert.equal(r.sessions_ended, false);
    ok(await c().get('/api/v1/auth/me', { token: v.tokens.access_token }));
    await login(url, v.creds.email, v.creds.password);
    // a later OTP sign-in of a verified account changes nothing
    await c().post('/api/v1/auth/otp/request', { json: { email: v.creds.email } });
    const o = await hook.waitFor(to(v.creds.email, 'otp'));
    ok(await c().post('/api/v1/auth/otp/verify', { json: { email: v.creds.email, code: o.data.code } }));
    ok(await c().get('/api/v1/auth/me', { token: v.tokens.access_token }));
    await login(url, v.creds.email, v.creds.password);
  });

  test('another account\'s token does not count as the owner\'s', async () => {
    const email = victimEmail();
    const a = await attackerRegisters(email);
    const other = await register(url);
    const m = await hook.waitFor(to(email, 'verify_email'));
    const r = ok(await c().post('/api/v1/auth/verify-email', { token: other.tokens.access_token, json: { token: m.data.token } }));
    assert.equal(r.sessions_ended, true);
    await attackerLockedOut(a);
    ok(await c().get('/api/v1/auth/me', { token: other.tokens.access_token }));
  });
});

describe('attempt limits are per account', { timeout: 60000 }, () => {
  // The server runs with the default --auth-rate-limit of 10 a minute; every request below comes
  // from a fresh client address, so only the per-account budgets are in play.
  const LIMIT = 10;

  test('one user\'s wrong current passwords do not limit another user', async () => {
    const a = await register(url), b = await register(url);
    const wrong = { current_password: 'not my password', new_password: 'whatever new one' };
    const statuses = [];
    for (let i = 0; i <= LIMIT; i++)
      statuses.push((await c().patch('/api/v1/auth/password', { token: a.tokens.access_token, json: wrong })).status);
    assert.deepEqual(statuses, [...Array(LIMIT).fill(403), 429]);
    const r = await c().patch('/api/v1/auth/password', { token: b.tokens.access_token, json: { current_password: b.creds.password, new_password: 'b new password' } });
    assert.equal(r.status, 204, r.text);
    expectError(await c().patch('/api/v1/auth/password', { token: a.tokens.access_token, json: wrong }), 429, 'rate_limited');
  });

  test('one user\'s verification requests do not limit another user', async () => {
    const a = await register(url), b = await register(url);
    const statuses = [];
    for (let i = 0; i <= LIMIT; i++)
      statuses.push((await c().post('/api/v1/auth/verify-email/request', { token: a.tokens.access_token })).status);
    assert.deepEqual(statuses, [...Array(LIMIT).fill(202), 429]);
    assert.equal((await c().post('/api/v1/auth/verify-email/request', { token: b.tokens.access_token })).status, 202);
  });

  test('email and handle share one login budget; other accounts keep theirs', async () => {
    const a = await register(url), b = await register(url);
    const statuses = [];
    for (let i = 0; i < LIMIT; i++) {
      const loginAs = i % 2 ? a.creds.handle.toUpperCase() : a.creds.email;
      statuses.push((await c().post('/api/v1/auth/login', { json: { login: loginAs, password: 'wrong password' } })).status);
    }
    assert.deepEqual(statuses, Array(LIMIT).fill(401));
    // ten tries across both identifiers spent the account's budget, the right password included
    for (const l of [a.creds.handle, a.creds.email])
      expectError(await c().post('/api/v1/auth/login', { json: { login: l, password: a.creds.password } }), 429, 'rate_limited');
    await login(url, b.creds.handle, b.creds.password);
    // an unknown identifier is limited too, by its text, and answers like a known one
    const ghost = `ghost_${Date.now()}@example.test`;
    const ghostStatuses = [];
    for (let i = 0; i <= LIMIT; i++)
      ghostStatuses.push((await c().post('/api/v1/auth/login', { json: { login: i % 2 ? ghost.toUpperCase() : ghost, password: 'x' } })).status);
    assert.deepEqual(ghostStatuses, [...Array(LIMIT).fill(401), 429]);
    // typed text never lands on an account's bucket
    assert.equal((await c().post('/api/v1/auth/login', { json: { login: `user:${a.user.id}`, password: 'x' } })).status, 401);
  });
});

describe('forgot-password', { timeout: 30000 }, () => {
  test('known and unknown addresses get the same answer after the same work', async () => {
    const a = await register(url);
    const unknownEmail = `nobody_${Date.now()}_${Math.floor(Math.random() * 1e9)}@example.test`;
    const unknown = await c().post('/api/v1/auth/password/forgot', { json: { email: unknownEmail } });
    const known = await c().post('/api/v1/auth/password/forgot', { json: { email: a.creds.email.toUpperCase() } });
    assert.equal(unknown.status, 202);
    assert.deepEqual([known.status, known.json, known.headers.get('content-type')], [unknown.status, unknown.json, unknown.headers.get('content-type')]);
    // The request path only queued one job for each; the lookup happens in the job.
    for (const email of [unknownEmail, a.creds.email.toLowerCase()])
      assert.equal(sqlValue(`SELECT count(*) FROM jobs WHERE kind = 'auth.password_reset' AND payload LIKE '%${email}%'`), '1');
    const msg = await hook.waitFor(to(a.creds.email, 'reset_password'));
    assert.equal((await c().post('/api/v1/auth/password/reset', { json: { token: msg.data.token, new_password: 'after forgot' } })).status, 204);
    await login(url, a.creds.handle, 'after forgot');
    assert.ok(!hook.messages.some((m) => m.to === unknownEmail), 'no mail for an unknown address');
    expectError(await c().post('/api/v1/auth/password/forgot', { json: { email: 'not an email' } }), 422, 'validation_failed');
    expectError(await c().post('/api/v1/auth/password/forgot', { json: {} }), 422, 'validation_failed');
  });
});

describe('OTP channels', { timeout: 30000 }, () => {
  test('an unknown or mismatched channel is refused, and nothing is sent', async () => {
    const email = `chan_${Date.now()}_${Math.floor(Math.random() * 1e9)}@example.test`;
    const phone = `+1555${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
    const refused = [
      { email, channel: 'whatsapp' },
      { phone, channel: 'whatsapp' },
      { email, channel: 'sms' },
      { phone, channel: 'email' },
      { email, channel: '' },
      { email, channel: 'EMAIL' },
    ];
    for (const json of refused) {
      const r = await c().post('/api/v1/auth/otp/request', { json });
      expectError(r, 422, 'validation_failed');
      assert.equal(r.json.error.details.field, 'channel', r.text);
    }
    expectError(await c().post('/api/v1/auth/otp/request', { json: { email, channel: 5 } }), 422, 'validation_failed');
    expectError(await c().post('/api/v1/auth/otp/request', { json: { email, channel: 'x'.repeat(17) } }), 422, 'validation_failed');
    // the matching channel (or none) sends as before
    assert.equal((await c().post('/api/v1/auth/otp/request', { json: { email, channel: 'email' } })).status, 202);
    assert.equal((await c().post('/api/v1/auth/otp/request', { json: { phone, channel: 'sms' } })).status, 202);
    const m = await hook.waitFor(to(email, 'otp'));
    await hook.waitFor(to(phone, 'otp'));
    assert.equal(m.channel, 'email');
    // only the accepted requests went out: one code each
    assert.equal(hook.messages.filter((x) => x.to === email || x.to === phone).length, 2);
  });
});
