// SPDX-License-Identifier: MIT
// Redis round trips per request with --redis (issue 13): starts one node on $STREAMHUB_TEST_PG
// (or SQLite) with --redis $STREAMHUB_TEST_REDIS, and counts Redis's own INFO commandstats around
// N requests of each kind: a like whose author has no socket anywhere, a like whose author has a
// socket on another connection of the cluster (here: a socket on this node), a DM between two
// users with sockets, a login, a socket authentication. Prints commands per request.
//   STREAMHUB_TEST_REDIS=redis://127.0.0.1:PORT node bench/redis-calls.mjs [N=50]
import { execFileSync } from 'node:child_process';
import WebSocket from 'ws';
import { startServer, stopAll } from '../tests/e2e/lib/harness.mjs';
import { client, register } from '../tests/e2e/lib/accounts.mjs';

const redis = process.env.STREAMHUB_TEST_REDIS;
if (!redis) { console.error('set STREAMHUB_TEST_REDIS'); process.exit(2); }
const N = Number(process.argv[2] || 50);
const node = await startServer({ args: ['--trust-proxy', '--rate-limit', '0', '--auth-rate-limit', '1000', '--redis', redis, '--access-log', 'false'] });
const url = node.url;
const stats = () => {
  const out = {};
  for (const m of execFileSync('redis-cli', ['-u', redis, 'info', 'commandstats'], { encoding: 'utf8' }).matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm))
    out[m[1]] = Number(m[2]);
  return out;
};
async function measure(what, fn) {
  const before = stats();
  for (let i = 0; i < N; i++) await fn(i);
  const after = stats();
  const per = Object.keys(after).filter((k) => k !== 'info' && after[k] !== (before[k] || 0))
    .map((k) => `${k} ${((after[k] - (before[k] || 0)) / N).toFixed(2)}`);
  console.log(`${what}: ${per.join(', ') || 'none'}`);
}
const socket = (u) => new Promise((resolve, reject) => {
  const ws = new WebSocket(url.replace(/^http/, 'ws') + '/api/v1/ws', { headers: { authorization: `Bearer ${u.tokens.access_token}` } });
  ws.on('message', (m) => { if (JSON.parse(m).type === 'ready') resolve(ws); });
  ws.on('error', reject);
});

const author = await register(url);
const fans = [];
for (let i = 0; i < N; i++) fans.push(await register(url));
const c = client(url);
const post = async () => (await c.post('/api/v1/posts', { token: author.tokens.access_token, json: { caption: 'p' } })).json.id;
let p = await post();
await measure('like, author listening nowhere', (i) => c.post(`/api/v1/posts/${p}/reactions`, { token: fans[i].tokens.access_token }));
const ws = await socket(author);
p = await post();
await measure('like, author with a socket on this node', (i) => c.post(`/api/v1/posts/${p}/reactions`, { token: fans[i].tokens.access_token }));
const peer = fans[0];
const wsPeer = await socket(peer);
const conv = (await c.post('/api/v1/conversations', { token: author.tokens.access_token, json: { kind: 'direct', member_ids: [peer.user.id] } })).json.id;
await measure('DM, both with a socket', () => c.post(`/api/v1/conversations/${conv}/messages`, { token: author.tokens.access_token, json: { text: 'hi' } }));
await measure('login', () => c.post('/api/v1/auth/login', { json: { login: author.creds.email, password: author.creds.password } }));
const sockets = [];
await measure('socket authentication (new user on this node)', async (i) => { sockets.push(await socket(fans[i])); });
for (const s of [ws, wsPeer, ...sockets]) s.close();
await stopAll();
