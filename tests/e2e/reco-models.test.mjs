// SPDX-License-Identifier: MIT
// The recommender's models online (docs/discovery.md, "Models"): no model before the first
// training; an admin queues one, the job trains on the event log off the request path and the
// model is swapped in; it survives a restart (loaded at start-up); only admins reach the routes.
import { test, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, stopAll, uniqueUser } from './lib/harness.mjs';
import { client, register, login, createUserCli, expectError } from './lib/accounts.mjs';

after(stopAll);

const BIN = process.env.STREAMHUB_BIN || 'build/streamhub';
const evalRun = (...args) => spawnSync(BIN, ['reco', 'eval', ...args], { encoding: 'utf8' });

describe('streamhub reco eval', () => {
  test('prints the four methods for a CSV file; refuses bad arguments and bad lines', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sh-reco-'));
    // 40 users in two topics, 20 posts each, a day apart: an easy planted split
    const lines = ['user,item,type,time,watch_ms,topics,creator,created_at'];
    for (let u = 0; u < 40; u++)
      for (let d = 0; d < 10; d++) {
        const item = (u % 2) * 100 + ((u + d * 3) % 20);
        lines.push(`${u},${item},${d % 3 ? 'view' : 'like'},${d * 86400 + u},${d % 3 ? 12000 : ''},${u % 2 ? 'cats' : 'dogs'},${u % 2},0`);
      }
    const file = path.join(dir, 'events.csv');
    writeFileSync(file, lines.join('\n') + '\n');
    for (const split of ['time', 'random']) {
      const r = evalRun('--events', file, '--split', split);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`400 interactions, 40 users, 40 items, 2 topics; ${split} split`));
      for (const m of ['popularity', 'itemknn', 'mf', 'hybrid'])
        assert.match(r.stdout, new RegExp(`^${m} +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+$`, 'm'));
    }
    assert.equal(evalRun().status, 2);
    assert.equal(evalRun('--events', file, '--split', 'sideways').status, 2);
    assert.equal(evalRun('--events', file, '--test-fraction', '1.5').status, 2);
    const missing = evalRun('--events', path.join(dir, 'nope.csv'));
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /nope\.csv: No such file/);
    writeFileSync(file, lines.slice(0, 3).join('\n') + '\n1,2,teleport,3\n');
    const bad = evalRun('--events', file);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /events\.csv:4: unknown type 'teleport'/);
  });
});

/** The event log is written in batches: waits until the views and likes of posts number expected. */
async function waitLogged(c, admin, posts, expected) {
  let logged = 0;
  for (let i = 0; i < 100 && logged < expected; i++) {
    logged = 0;
    for (const type of ['view', 'like']) {
      const r = await c.get(`/api/v1/admin/events?type=${type}&limit=100`, { token: admin });
      logged += r.json.items.filter((e) => posts.includes(e.object_id)).length;
    }
    if (logged < expected) await sleep(100);
  }
  return logged;
}

/** Polls GET /admin/reco until a model is served (30 s at most); the last answer. */
async function waitModel(c, admin) {
  let model = {};
  for (let i = 0; i < 300 && !model.model_ready; i++) {
    await sleep(100);
    model = (await c.get('/api/v1/admin/reco', { token: admin })).json;
  }
  return model;
}

describe('recommender models', () => {
  test('trained on demand from the event log, swapped in, reloaded after a restart', async () => {
    const server = await startServer({ args: ['--rate-limit', '0', '--reco-retrain-interval', '0'] });
    const adminCreds = uniqueUser('recoadm');
    createUserCli(server, { ...adminCreds, role: 'admin' });
    const admin = (await login(server.url, adminCreds.handle, adminCreds.password)).access_token;
    const c = client(server.url);
    const user = await register(server.url);

    expectError(await c.get('/api/v1/admin/reco'), 401, 'unauthenticated');
    expectError(await c.get('/api/v1/admin/reco', { token: user.tokens.access_token }), 403, 'forbidden');
    expectError(await c.post('/api/v1/admin/reco/train', { token: user.tokens.access_token }), 403, 'forbidden');
    const before = await c.get('/api/v1/admin/reco', { token: admin });
    assert.equal(before.status, 200, before.text);
    assert.equal(before.json.model_ready, false);
    assert.equal(before.json.trained_at, null);

    // two tastes: viewers 0-2 watch and like posts 0-3, viewers 3-5 posts 4-7
    const creator = await register(server.url);
    const posts = [];
    for (let i = 0; i < 8; i++) {
      const r = await c.post('/api/v1/posts', { token: creator.tokens.access_token, json: { caption: `reco ${i}` } });
      assert.equal(r.status, 201, r.text);
      posts.push(r.json.id);
    }
    const viewers = [];
    for (let v = 0; v < 6; v++) viewers.push(await register(server.url));
    let expected = 0;
    for (let v = 0; v < 6; v++) {
      const mine = v < 3 ? posts.slice(0, 4) : posts.slice(4);
      for (const p of mine) {
        const t = viewers[v].tokens.access_token;
        assert.equal((await c.post(`/api/v1/posts/${p}/view`, { token: t, json: { watch_ms: 9000, completed: true, source: 'for_you' } })).status < 300, true);
        assert.equal((await c.post(`/api/v1/posts/${p}/reactions`, { token: t })).status < 300, true);
        expected += 2;
      }
    }
    assert.equal(await waitLogged(c, admin, posts, expected), expected);

    const queued = await c.post('/api/v1/admin/reco/train', { token: admin });
    assert.equal(queued.status, 202, queued.text);
    assert.match(queued.json.job_id, /^[0-9]+$/);
    const model = await waitModel(c, admin);
    assert.equal(model.model_ready, true);
    assert.equal(model.model_items, 8);
    assert.equal(model.model_users, 6);
    assert.ok(model.model_bytes > 0);
    assert.ok(model.trained_at > 0);

    await server.restart();
    const c2 = client(server.url);
    const admin2 = (await login(server.url, adminCreds.handle, adminCreds.password)).access_token;
    const after = (await c2.get('/api/v1/admin/reco', { token: admin2 })).json;
    assert.deepEqual(after, model);
  });

  test('a second node on the same store and database serves the newest training', async () => {
    const args = ['--rate-limit', '0', '--reco-retrain-interval', '0', '--maintenance-interval', '1', '--node-id', 'auto'];
    const a = await startServer({ args });
    const b = await startServer({ dataDir: a.dataDir, database: a.database, args });
    const creds = uniqueUser('recoadm');
    createUserCli(a, { ...creds, role: 'admin' });
    const tokenA = (await login(a.url, creds.handle, creds.password)).access_token;
    const tokenB = (await login(b.url, creds.handle, creds.password)).access_token;
    const ca = client(a.url), cb = client(b.url);
    const author = await register(a.url);
    const fan = await register(a.url);
    const p = (await ca.post('/api/v1/posts', { token: author.tokens.access_token, json: { caption: 'two nodes' } })).json;
    assert.ok((await ca.post(`/api/v1/posts/${p.id}/reactions`, { token: fan.tokens.access_token })).status < 300);
    let logged = 0;
    for (let i = 0; i < 100 && !logged; i++) {
      const r = await ca.get(`/api/v1/admin/events?type=like&actor_id=${fan.user.id}`, { token: tokenA });
      logged = r.json.items.length;
      if (!logged) await sleep(100);
    }
    assert.equal(logged, 1);
    assert.equal((await cb.get('/api/v1/admin/reco', { token: tokenB })).json.model_ready, false);
    assert.equal((await ca.post('/api/v1/admin/reco/train', { token: tokenA })).status, 202);
    // whichever node's job worker trains, both serve the same model within a housekeeping round
    let ma = {}, mb = {};
    for (let i = 0; i < 300 && !(ma.model_ready && mb.model_ready && ma.trained_at === mb.trained_at); i++) {
      await sleep(100);
      ma = (await ca.get('/api/v1/admin/reco', { token: tokenA })).json;
      mb = (await cb.get('/api/v1/admin/reco', { token: tokenB })).json;
    }
    assert.equal(ma.model_ready, true);
    assert.deepEqual(mb, ma);
    assert.equal(ma.model_items, 1);
  });

  test('a server started on an event log without any model trains one at once, not an interval later', async () => {
    // the events are made on a server that trains only on demand, so no training has run
    const a = await startServer({ args: ['--rate-limit', '0', '--reco-retrain-interval', '0'] });
    const creds = uniqueUser('recoadm');
    createUserCli(a, { ...creds, role: 'admin' });
    const ca = client(a.url);
    const adminA = (await login(a.url, creds.handle, creds.password)).access_token;
    const author = await register(a.url);
    const posts = [];
    for (let i = 0; i < 3; i++)
      posts.push((await ca.post('/api/v1/posts', { token: author.tokens.access_token, json: { caption: `first ${i}` } })).json.id);
    for (let v = 0; v < 2; v++) {
      const fan = await register(a.url);
      for (const p of posts.slice(v, v + 2))
        assert.ok((await ca.post(`/api/v1/posts/${p}/reactions`, { token: fan.tokens.access_token })).status < 300);
    }
    assert.equal(await waitLogged(ca, adminA, posts, 4), 4);
    assert.equal((await ca.get('/api/v1/admin/reco', { token: adminA })).json.model_ready, false);
    await a.stop();
    // the default hourly schedule: without the start-up training the first would come in an hour
    const b = await startServer({ dataDir: a.dataDir, database: a.database, args: ['--rate-limit', '0', '--maintenance-interval', '1'] });
    const cb = client(b.url);
    const adminB = (await login(b.url, creds.handle, creds.password)).access_token;
    const model = await waitModel(cb, adminB);
    assert.equal(model.model_ready, true, 'trained after the start, without a request');
    assert.equal(model.model_items, 3);
    assert.equal(model.model_users, 2);
  });
});
