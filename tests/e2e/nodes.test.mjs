// SPDX-License-Identifier: MIT
// Node ids (docs/operations.md, "Node ids"): processes started with --node-id auto on one
// database lease distinct ids from it, so the ids they mint never collide; a clean stop gives
// the id back; a bad --node-id is refused at start.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startServer, stopAll, api, uniqueUser } from './lib/harness.mjs';
import { BIN } from './lib/accounts.mjs';

after(stopAll);

const nodeOf = (id) => Number((BigInt(id) >> 12n) & 1023n); // core/id.h: 10 bits above the sequence

async function mintedNode(server) {
  const u = uniqueUser('node');
  const r = await api(server.url).post('/api/v1/auth/register', { json: u });
  assert.equal(r.status, 201, r.text);
  return nodeOf(r.json.user.id);
}

/** The ids a server's processes leased, sorted: one, or in cluster mode one per node and worker
 * (waited for: the harness does not wait for its workers to start). */
async function leased(server) {
  const processes = server.nodes ? server.nodes.length + server.workerPids.length : 1;
  for (let i = 0; ; i++) {
    const ids = [...server.stderrText().matchAll(/"msg":"node id leased","node_id":(\d+)/g)].map((m) => Number(m[1]));
    if (ids.length >= processes || i === 200) return ids.sort((x, y) => x - y);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('nodes on one database lease distinct node ids, and a stopped node gives its id back', async () => {
  // In cluster mode each "node" here is a whole cluster (3 nodes + 2 workers, behind nginx): the
  // same holds for its set of ids, and an id minted through nginx is one of its set.
  const a = await startServer({ args: ['--node-id', 'auto'] });
  const b = await startServer({ dataDir: a.dataDir, database: a.database, args: ['--node-id', 'auto'] });
  const na = await mintedNode(a);
  const nb = await mintedNode(b);
  const [la, lb] = [await leased(a), await leased(b)];
  assert.ok(la.includes(na), `${na} in ${la}`);
  assert.ok(lb.includes(nb), `${nb} in ${lb}`);
  assert.deepEqual(la.filter((n) => lb.includes(n)), []);
  assert.equal(new Set([...la, ...lb]).size, la.length + lb.length);
  assert.equal(await b.stop(), 0);
  const c = await startServer({ dataDir: a.dataDir, database: a.database, args: ['--node-id', 'auto'] });
  assert.deepEqual(await leased(c), lb); // the lowest free ids: b's, released at its stop
  assert.ok(lb.includes(await mintedNode(c)));
  assert.ok(la.includes(await mintedNode(a)));
});

test('a fixed --node-id is embedded in the ids; a bad one is refused', async () => {
  const s = await startServer({ args: ['--node-id', '517'] });
  assert.equal(await mintedNode(s), 517);
  for (const bad of ['1024', '-1', 'x', '']) {
    const r = spawnSync(BIN, ['serve', '--port', '0', '--data-dir', s.dataDir, '--node-id', bad],
      { encoding: 'utf8', timeout: 20000 });
    assert.notEqual(r.status, 0, `--node-id '${bad}' was accepted`);
    assert.match(r.stderr, /node-id must be 0\.\.1023 or auto/);
  }
});
