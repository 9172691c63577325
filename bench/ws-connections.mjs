// SPDX-License-Identifier: MIT
// Realtime hub benchmark: starts build/streamhub on a fresh data dir, registers a few users,
// opens N authenticated WebSockets spread over them (Authorization header, npm `ws`), and
// reports the server's RSS before and after, the time to connect them all, and the p50/p99
// round trip of a "ping" -> ack while all are connected (sequential probes on random sockets,
// then the same under a burst of concurrent probes). Nothing is asserted.
//   ulimit -n 65536; node bench/ws-connections.mjs [N=10000] [users=20]
// STREAMHUB_BIN overrides the binary.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';

const N = Number(process.argv[2] || 10000);
const USERS = Number(process.argv[3] || 20);
const BIN = process.env.STREAMHUB_BIN || 'build/streamhub';
const dir = mkdtempSync(path.join(tmpdir(), 'sh-bench-ws-'));

const proc = spawn(BIN, ['serve', '--port', '0', '--data-dir', dir, '--rate-limit', '0',
  '--auth-rate-limit', '0', '--max-connections', String(N + 1000), '--per-ip-connections', '0',
  '--ws-idle-timeout', '600', '--ws-ping-interval', '300', '--access-log', 'false'],
{ stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise((resolve, reject) => {
  let out = '';
  proc.stdout.on('data', (d) => {
    out += d;
    const m = /listening on (http:\/\/\S+)/.exec(out);
    if (m) resolve(m[1]);
  });
  proc.on('exit', (c) => reject(new Error(`server exited ${c}`)));
});
const rssKiB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'))[1]);
const mib = (k) => (k / 1024).toFixed(1);

const tokens = [];
for (let i = 0; i < USERS; i++) {
  const tag = `${Date.now().toString(36)}${i}`;
  const r = await fetch(`${url}/api/v1/auth/register`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: `b${tag}@example.test`, handle: `b${tag}`, password: 'benchmark password' }),
  });
  if (r.status !== 201) throw new Error(`register: ${r.status} ${await r.text()}`);
  tokens.push((await r.json()).access_token);
}
await new Promise((r) => setTimeout(r, 1000));
const idle = rssKiB();

const wsUrl = url.replace(/^http/, 'ws') + '/api/v1/ws';
const sockets = [];
const pending = new Map(); // id -> resolve
let seq = 0;
function open(i) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${tokens[i % USERS]}` }, perMessageDeflate: false });
    ws.on('message', (m) => {
      const msg = JSON.parse(m);
      if (msg.type === 'ready') { resolve(ws); return; }
      const p = pending.get(msg.id);
      if (p) { pending.delete(msg.id); p(); }
    });
    ws.on('error', reject);
    ws.on('unexpected-response', (_, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}
const t0 = performance.now();
let next = 0;
await Promise.all(Array.from({ length: 200 }, async () => {
  while (next < N) sockets.push(await open(next++));
}));
const connectMs = performance.now() - t0;
await new Promise((r) => setTimeout(r, 2000));
const loaded = rssKiB();

function ping(ws) {
  const id = String(++seq);
  const t = performance.now();
  return new Promise((resolve) => {
    pending.set(id, () => resolve(performance.now() - t));
    ws.send(JSON.stringify({ type: 'ping', id, data: { t } }));
  });
}
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
const pick = () => sockets[Math.floor(Math.random() * sockets.length)];
const seqLat = [];
for (let i = 0; i < 2000; i++) seqLat.push(await ping(pick()));
const burstLat = [];
for (let round = 0; round < 20; round++)
  burstLat.push(...await Promise.all(Array.from({ length: 500 }, () => ping(pick()))));

console.log(`date: ${new Date().toISOString()}`);
console.log(`sockets: ${sockets.length} authenticated over ${USERS} users`);
console.log(`server RSS idle ${mib(idle)} MiB, with all sockets ${mib(loaded)} MiB, ` +
  `delta ${mib(loaded - idle)} MiB (${((loaded - idle) * 1024 / sockets.length).toFixed(0)} B per socket)`);
console.log(`connect all: ${(connectMs / 1000).toFixed(2)} s (${(sockets.length / connectMs * 1000).toFixed(0)}/s, 200 handshakes in flight)`);
console.log(`ping->ack sequential (2000): p50 ${pct(seqLat, 0.5).toFixed(3)} ms, p99 ${pct(seqLat, 0.99).toFixed(3)} ms`);
console.log(`ping->ack bursts of 500 (10000): p50 ${pct(burstLat, 0.5).toFixed(3)} ms, p99 ${pct(burstLat, 0.99).toFixed(3)} ms`);
for (const ws of sockets) ws.terminate();
proc.kill('SIGTERM');
await new Promise((r) => proc.on('exit', r));
