// SPDX-License-Identifier: MIT
// A node killed with SIGKILL in the middle of traffic, behind nginx (tests/e2e/lib/cluster.mjs,
// STREAMHUB_TEST_CLUSTER=N with STREAMHUB_TEST_PG; the cluster-e2e suite of tests/run-all.sh):
// HTTP writes keep going through the load balancer, every acknowledged write is still there
// afterwards, the sockets the dead node held close and reconnect through nginx to the survivors,
// where the chat catch-up ("sync" with the last id each socket saw) hands them exactly the DMs
// they missed — including those sent while they were away — once each and in order, live
// delivery resumes, and the remaining nodes keep serving.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startServer, stopAll, nodeUrls, CLUSTER_NODES } from './lib/harness.mjs';
import { client, register } from './lib/accounts.mjs';

const skip = CLUSTER_NODES < 2 ? 'needs STREAMHUB_TEST_CLUSTER>=2 and STREAMHUB_TEST_PG (tests/run-all.sh cluster-e2e suite)' : false;
if (skip) console.log(`# cluster-failover: skipped, ${skip}`);
after(stopAll);

const tok = (u) => u.tokens.access_token;
const ok = (r, status = 200) => { assert.equal(r.status, status, r.text); return r.json; };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const SOCKETS = 6; // the receiver's devices, spread by round robin over the nodes

/** A socket through the load balancer that records every event; ready once "ready" is in. */
async function connect(url, user) {
  const ws = new WebSocket(url.replace(/^http/, 'ws') + '/api/v1/ws', { headers: { authorization: `Bearer ${tok(user)}` } });
  const s = { ws, events: [], waiters: [], closed: false, seq: 0 };
  ws.on('message', (raw) => {
    const m = JSON.parse(raw.toString());
    s.events.push(m);
    for (const w of [...s.waiters]) if (w.pred(m)) { s.waiters.splice(s.waiters.indexOf(w), 1); w.resolve(m); }
  });
  s.gone = new Promise((r) => ws.once('close', () => { s.closed = true; r(); }));
  s.next = (pred) => {
    const found = s.events.find(pred);
    return found ? Promise.resolve(found) : new Promise((resolve) => s.waiters.push({ pred, resolve }));
  };
  s.ack = async (type, data) => {
    const id = `c${++s.seq}`;
    const reply = s.next((m) => (m.type === 'ack' || m.type === 'error') && m.id === id);
    ws.send(JSON.stringify({ type, id, data }));
    const r = await reply;
    assert.equal(r.type, 'ack', JSON.stringify(r));
    return r.data;
  };
  s.dms = () => s.events.filter((m) => m.type === 'message.new').map((m) => m.data.id);
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  await s.next((m) => m.type === 'ready');
  return s;
}

/** Connects through nginx, retrying while it still tries the dead node or a survivor is busy. */
async function reconnect(url, user) {
  for (let attempt = 0; ; attempt++) {
    try { return await connect(url, user); } catch (e) { if (attempt >= 50) throw e; await sleep(100); }
  }
}

/** Open sockets per node, from each node's own /metrics (only this test's sockets exist). */
async function socketsPerNode(server, dead = -1) {
  const counts = [];
  for (const [i, base] of nodeUrls(server).entries()) {
    if (i === dead) { counts.push(0); continue; }
    const text = (await client(base).get('/metrics')).text;
    counts.push(Number(/^streamhub_ws_connections (\d+)$/m.exec(text)[1]));
  }
  return counts;
}

test('a node killed mid-traffic loses no acknowledged write; its sockets reconnect and catch up once', { skip, timeout: 180000 }, async () => {
  // Alice writes as fast as the nodes answer, more than the 120 DMs a minute a user may send.
  const server = await startServer({ args: ['--trust-proxy', '--rate-limit', '0', '--auth-rate-limit', '0', '--ws-message-rate', '0'] });
  const url = server.url;
  const c = client(url);
  const [alice, bob] = [await register(url), await register(url)];
  const conv = ok(await c.post('/api/v1/conversations', { token: tok(alice), json: { kind: 'direct', member_ids: [bob.user.id] } }), 201);

  const sockets = [];
  for (let i = 0; i < SOCKETS; i++) sockets.push(await connect(url, bob));
  let perNode = await socketsPerNode(server);
  assert.equal(perNode.reduce((a, b) => a + b, 0), SOCKETS);
  const victim = perNode.indexOf(Math.max(...perNode));
  assert.ok(perNode[victim] > 0 && perNode[victim] < SOCKETS, `round robin spread the sockets: ${perNode}`);

  // Alice writes through the load balancer all along: DMs (retried with the same client_id until
  // acknowledged, so a 502 or a reset mid-kill is never a lost or doubled message) and posts (no
  // retry: only the acknowledged ones must survive).
  const dmIds = [];
  const postIds = [];
  let writes = 0, failures = 0, stopWriting = false;
  const sendDm = async (n) => {
    for (;;) {
      let r = null;
      try {
        r = await client(url).post(`/api/v1/conversations/${conv.id}/messages`, { token: tok(alice), json: { text: `dm ${n}`, client_id: `fo-${n}` } });
      } catch { r = null; } // the connection died with the node
      if (r && (r.status === 201 || r.status === 200)) return r.json.id;
      failures++;
      assert.ok(!r || r.status >= 500, `a retry is refused: ${r?.status} ${r?.text}`);
      await sleep(50);
    }
  };
  const writer = (async () => {
    for (let n = 0; !stopWriting; n++) {
      dmIds.push(await sendDm(n));
      try {
        const r = await client(url).post('/api/v1/posts', { token: tok(alice), json: { caption: `post ${n}`, visibility: 'public' } });
        if (r.status === 201) postIds.push(r.json.id);
        else failures++;
      } catch { failures++; }
      writes++;
    }
  })();

  // Every socket has heard the first writes live before the kill.
  while (dmIds.length < 5) await sleep(20);
  const firstId = dmIds[0];
  await Promise.all(sockets.map((s) => s.next((m) => m.type === 'message.new' && m.data.id === firstId)));
  const exit = await server.killNode(victim, 'SIGKILL');
  assert.equal(exit.signal, 'SIGKILL');
  const dmsAtKill = dmIds.length;
  // Its sockets close; the others stay open. Writes go on while they are away.
  const lost = [];
  for (const s of sockets) {
    await Promise.race([s.gone, sleep(300)]);
    if (s.closed) lost.push(s);
  }
  assert.equal(lost.length, perNode[victim], 'exactly the dead node\'s sockets closed');
  while (dmIds.length < dmsAtKill + 10) await sleep(20);
  stopWriting = true;
  await writer;
  const duringFailover = dmIds.slice(dmsAtKill);

  // The remaining nodes keep serving through the load balancer and on their own addresses.
  for (let i = 0; i < 12; i++) assert.equal((await client(url).get('/api/v1/auth/me', { token: tok(bob) })).status, 200);
  for (const [i, base] of nodeUrls(server).entries())
    if (i !== victim) assert.equal((await client(base).get('/health/ready')).status, 200, `node ${i} ready`);

  // Reconnect the lost sockets through nginx; they land on survivors and catch up with "sync"
  // from the last message each one saw: every DM it missed (those sent during the failover
  // included), once, in order, and nothing it had already seen.
  const back = [];
  let syncPages = 0;
  for (const s of lost) {
    const seen = s.dms();
    const fresh = await reconnect(url, bob);
    back.push(fresh);
    // a page holds at most 200 messages (CHAT_SYNC_MAX): a fast writer leaves more than one
    // page behind, and the client asks again from last_id while has_more, as documented
    const caughtUp = [];
    for (let after = seen.at(-1), pages = 0; ; pages++) {
      assert.ok(pages < 20, 'the catch-up ends');
      const sync = await fresh.ack('sync', { after });
      syncPages++;
      caughtUp.push(...sync.messages.map((m) => m.id));
      if (!sync.has_more) break;
      assert.ok(sync.messages.length > 0 && sync.last_id === sync.messages.at(-1).id, 'a full page names where the next starts');
      after = sync.last_id;
    }
    assert.equal(new Set([...seen, ...caughtUp]).size, seen.length + caughtUp.length, 'nothing twice');
    assert.deepEqual([...seen, ...caughtUp], dmIds, 'nothing lost, in order');
    for (const id of duringFailover) assert.equal(caughtUp.filter((x) => x === id).length, 1, `DM ${id} sent during the failover, once`);
    assert.deepEqual(fresh.dms(), [], 'the catch-up is not repeated live');
  }
  const moved = await socketsPerNode(server, victim);
  assert.equal(moved.reduce((a, b) => a + b, 0), SOCKETS, `every socket is back, on the survivors: ${moved}`);
  // The sockets that stayed up heard every DM live, once each, in order.
  for (const s of sockets.filter((x) => !x.closed)) {
    await s.next((m) => m.type === 'message.new' && m.data.id === dmIds.at(-1));
    assert.deepEqual(s.dms(), dmIds);
  }
  // Live delivery reaches every socket once after the failover.
  const live = await client(url).post(`/api/v1/conversations/${conv.id}/messages`, { token: tok(alice), json: { text: 'after', client_id: 'fo-after' } });
  assert.equal(live.status, 201, live.text);
  const all = [...sockets.filter((x) => !x.closed), ...back];
  await Promise.all(all.map((s) => s.next((m) => m.type === 'message.new' && m.data.id === live.json.id)));
  for (const s of all) assert.equal(s.dms().filter((id) => id === live.json.id).length, 1);

  // No acknowledged write is lost: every post and every DM reads back through the load balancer.
  for (const id of postIds) assert.equal((await client(url).get(`/api/v1/posts/${id}`, { token: tok(alice) })).status, 200, `post ${id}`);
  const stored = [];
  let before = '';
  for (;;) {
    const page = ok(await client(url).get(`/api/v1/conversations/${conv.id}/messages?limit=100${before}`, { token: tok(bob) }));
    stored.push(...page.items.map((m) => m.id));
    if (!page.next_cursor) break;
    before = `&cursor=${encodeURIComponent(page.next_cursor)}`;
  }
  for (const id of [...dmIds, live.json.id]) assert.equal(stored.filter((x) => x === id).length, 1, `DM ${id} stored once`);
  assert.equal(stored.length, dmIds.length + 1, 'no extra message from a retried send');
  console.log(`failover: ${writes} write rounds, ${failures} refused or cut mid-kill, ${lost.length}/${SOCKETS} sockets moved (${syncPages} catch-up pages), node ${victim} killed`);
  for (const s of all) s.ws.close();
});
