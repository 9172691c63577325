// SPDX-License-Identifier: MIT
// Group chat fan-out over sockets: one group of MEMBERS members (the largest allowed is 256),
// each with one socket (npm `ws`); SENDERS members take turns sending MESSAGES messages in
// all with "message.send", WINDOW of them in flight at once. For each message the delay is
// from just before its send to its arrival at each other member's socket. Reports deliveries
// per second and the p50/p99/max delivery delay.
//
// Usage: node bench/ws-group.mjs [--members 256] [--messages 200] [--senders 8] [--window 4]
//        [--url http://127.0.0.1:8080]
// Without --url it starts its own server (build/streamhub or $STREAMHUB_BIN; with
// $STREAMHUB_TEST_PG a fresh PostgreSQL database) and stops it at the end.
import WebSocket from 'ws';
import { startServer, stopAll } from '../tests/e2e/lib/harness.mjs';
import { register } from '../tests/e2e/lib/accounts.mjs';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return Number(i > 0 ? process.argv[i + 1] : def);
};
const nMembers = arg('members', 256), total = arg('messages', 200), nSenders = arg('senders', 8), window = arg('window', 4);
let url = process.argv.includes('--url') ? process.argv[process.argv.indexOf('--url') + 1] : null;
if (!url) url = (await startServer({ args: ['--trust-proxy', '--rate-limit', '0', '--auth-rate-limit', '0', '--ws-message-rate', '0', '--ws-command-rate', '0'] })).url;

const t0 = Date.now();
const users = [];
for (let i = 0; i < nMembers; i += 20)
  users.push(...(await Promise.all(Array.from({ length: Math.min(20, nMembers - i) }, () => register(url)))));
const r = await fetch(`${url}/api/v1/conversations`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: `Bearer ${users[0].tokens.access_token}` },
  body: JSON.stringify({ kind: 'group', title: 'bench', member_ids: users.slice(1).map((u) => u.user.id) }),
});
const group = await r.json();
if (r.status !== 201) throw new Error(JSON.stringify(group));

const sentAt = new Map(); // client_id -> hrtime of the send
const delays = [];
const pendingAcks = new Map();
let expected = 0;
let done;
const finished = new Promise((res) => { done = res; });
async function open(user) {
  const ws = new WebSocket(url.replace(/^http/, 'ws') + '/api/v1/ws', { headers: { authorization: `Bearer ${user.tokens.access_token}` } });
  ws.on('message', (raw) => {
    const m = JSON.parse(raw.toString());
    if (m.type === 'ready') ws.emit('ready');
    else if (m.type === 'ack' || m.type === 'error') { const h = pendingAcks.get(m.id); pendingAcks.delete(m.id); h?.(m); }
    else if (m.type === 'message.new' && m.data.sender_id !== user.user.id && sentAt.has(m.data.client_id)) {
      delays.push(Number(process.hrtime.bigint() - sentAt.get(m.data.client_id)) / 1e6);
      if (delays.length === expected) done();
    }
  });
  await new Promise((resolve, reject) => { ws.once('ready', resolve); ws.once('error', reject); });
  return ws;
}
const sockets = await Promise.all(users.map(open));
console.log(`setup: group of ${nMembers}, ${sockets.length} sockets in ${Date.now() - t0} ms`);

expected = total * (nMembers - 1);
let next = 0;
const t1 = Date.now();
async function lane() {
  while (next < total) {
    const i = next++;
    const cid = `g${i}`;
    const ws = sockets[i % nSenders];
    const acked = new Promise((res) => pendingAcks.set(cid, res));
    sentAt.set(cid, process.hrtime.bigint());
    ws.send(JSON.stringify({ type: 'message.send', id: cid, data: { conversation_id: group.id, text: `message ${i}`, client_id: cid } }));
    const ack = await acked;
    if (ack.type !== 'ack') throw new Error(JSON.stringify(ack));
  }
}
await Promise.all(Array.from({ length: window }, lane));
const timeout = setTimeout(() => done(), 60000);
await finished;
clearTimeout(timeout);
const wall = (Date.now() - t1) / 1000;
delays.sort((x, y) => x - y);
const q = (f) => delays[Math.min(delays.length - 1, Math.floor(f * delays.length))].toFixed(2);
console.log(`${total} messages to ${nMembers - 1} members: ${delays.length}/${expected} deliveries in ${wall.toFixed(2)} s, ` +
  `${(delays.length / wall).toFixed(0)} deliveries/s, ${(total / wall).toFixed(0)} messages/s`);
console.log(`delivery delay ms: p50 ${q(0.5)}  p99 ${q(0.99)}  max ${delays.at(-1).toFixed(2)}`);
for (const ws of sockets) ws.close();
await stopAll();
