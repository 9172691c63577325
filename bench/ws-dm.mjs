// SPDX-License-Identifier: MIT
// DM latency over sockets: PAIRS pairs of users, each with one socket (npm `ws`); every sender
// sends MESSAGES messages to its partner with "message.send", one after another (the next once
// the ack is back), while all pairs run at once. Latency is from just before the send to the
// partner's "message.new" for that client_id: persist (one transaction) + bus + the receiver's
// socket. Reports p50/p99/max and delivered messages per second.
//
// With --idle N, N more authenticated sockets (over 20 users who take no part) stay open the
// whole time: the issue's "DM latency while 10,000 sockets are connected".
//
// Across nodes (issue 13): --redis URL starts the server(s) with that bus; --nodes 2 starts a
// second node on the same database (needs $STREAMHUB_TEST_PG) and puts every receiver's socket
// there, so each DM crosses Redis from the sender's node to the receiver's. With --redis it also
// prints Redis's own count of commands per DM (INFO commandstats before and after the run).
//
// Usage: ulimit -n 30000 (as far as allowed); node bench/ws-dm.mjs [--pairs 100] [--messages 50] [--idle 0]
//        [--url http://127.0.0.1:8080] [--redis redis://127.0.0.1:6379 [--nodes 2]]
// Without --url it starts its own server (build/streamhub or $STREAMHUB_BIN; with
// $STREAMHUB_TEST_PG a fresh PostgreSQL database) and stops it at the end.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { startServer, stopAll } from '../tests/e2e/lib/harness.mjs';
import { register } from '../tests/e2e/lib/accounts.mjs';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const pairs = Number(arg('pairs', 100));
const perSender = Number(arg('messages', 50));
const idle = Number(arg('idle', 0));
const redis = arg('redis', null);
const nodes = Number(arg('nodes', 1));
let url = arg('url', null);
let receiverUrl = url;
if (!url) {
  const args = ['--trust-proxy', '--rate-limit', '0', '--auth-rate-limit', '0', '--ws-message-rate', '0', '--ws-command-rate', '0', '--access-log', 'false',
    '--max-connections', String(idle + pairs * 2 + 1000), '--per-ip-connections', '0', '--ws-idle-timeout', '600',
    '--jwt-secret', randomBytes(24).toString('hex'), ...(redis ? ['--redis', redis] : [])];
  const first = await startServer({ args: [...args, '--node-id', '1'] });
  url = receiverUrl = first.url;
  if (nodes > 1) receiverUrl = (await startServer({ database: first.database, args: [...args, '--node-id', '2'] })).url;
}
const redisCalls = () => {
  const stats = {};
  for (const m of execFileSync('redis-cli', ['-u', redis, 'info', 'commandstats'], { encoding: 'utf8' }).matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm))
    stats[m[1]] = Number(m[2]);
  return stats;
};

async function open(user, base = url) {
  const ws = new WebSocket(base.replace(/^http/, 'ws') + '/api/v1/ws', { headers: { authorization: `Bearer ${user.tokens.access_token}` } });
  const handlers = new Map();
  ws.on('message', (raw) => {
    const m = JSON.parse(raw.toString());
    const key = m.type === 'ack' || m.type === 'error' ? m.id : m.type === 'message.new' ? m.data.client_id : null;
    const h = key && handlers.get(key);
    if (h && (m.type !== 'message.new' || m.data.sender_id !== user.user.id)) { handlers.delete(key); h(m); }
    if (m.type === 'ready') ws.emit('ready');
  });
  await new Promise((resolve, reject) => { ws.once('ready', resolve); ws.once('error', reject); });
  return { ws, handlers };
}

const t0 = Date.now();
const users = [];
for (let i = 0; i < pairs * 2; i += 20)
  users.push(...(await Promise.all(Array.from({ length: Math.min(20, pairs * 2 - i) }, () => register(url)))));
const convs = [];
for (let p = 0; p < pairs; p++) {
  const [a, b] = [users[2 * p], users[2 * p + 1]];
  const r = await fetch(`${url}/api/v1/conversations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${a.tokens.access_token}` },
    body: JSON.stringify({ kind: 'direct', member_ids: [b.user.id] }),
  });
  convs.push((await r.json()).id);
}
const sockets = await Promise.all(users.map((u, i) => open(u, i % 2 ? receiverUrl : url)));
const idleSockets = [];
if (idle) {
  const idlers = await Promise.all(Array.from({ length: 20 }, () => register(url)));
  for (let i = 0; i < idle; i += 500)
    idleSockets.push(...(await Promise.all(Array.from({ length: Math.min(500, idle - i) }, (_, k) => open(idlers[(i + k) % 20])))));
}
console.log(`setup: ${pairs * 2} users, ${pairs} conversations, ${sockets.length} sockets` +
  `${idle ? ` + ${idleSockets.length} idle sockets` : ''} in ${Date.now() - t0} ms`);

const latencies = [];
let failures = 0;
async function runPair(p) {
  const sender = sockets[2 * p], receiver = sockets[2 * p + 1];
  for (let i = 0; i < perSender; i++) {
    const cid = `p${p}-${i}`;
    const start = process.hrtime.bigint();
    const delivered = new Promise((r) => receiver.handlers.set(cid, r));
    const acked = new Promise((r) => sender.handlers.set(cid, r));
    sender.ws.send(JSON.stringify({ type: 'message.send', id: cid, data: { conversation_id: convs[p], text: `hello ${i}`, client_id: cid } }));
    const ack = await acked;
    if (ack.type !== 'ack') { failures++; receiver.handlers.delete(cid); continue; }
    await delivered;
    latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
}
const before = redis && redisCalls();
const t1 = Date.now();
await Promise.all(Array.from({ length: pairs }, (_, p) => runPair(p)));
const wall = (Date.now() - t1) / 1000;
if (redis) {
  const after = redisCalls();
  const per = Object.keys(after).filter((k) => k !== 'info' && after[k] !== (before[k] || 0))
    .map((k) => `${k} ${((after[k] - (before[k] || 0)) / latencies.length).toFixed(2)}`);
  console.log(`redis commands per DM (${nodes} node${nodes > 1 ? 's' : ''}): ${per.join(', ')}`);
}
latencies.sort((x, y) => x - y);
const q = (f) => latencies[Math.min(latencies.length - 1, Math.floor(f * latencies.length))].toFixed(2);
console.log(`${latencies.length} DMs delivered (${failures} failed) in ${wall.toFixed(2)} s: ${(latencies.length / wall).toFixed(0)} msg/s`);
console.log(`latency ms: p50 ${q(0.5)}  p99 ${q(0.99)}  max ${latencies.at(-1).toFixed(2)}`);
for (const s of [...sockets, ...idleSockets]) s.ws.close();
await stopAll();
