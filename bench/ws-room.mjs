// SPDX-License-Identifier: MIT
// Room fan-out: MEMBERS sockets (spread over USERS accounts) join one room, one sender posts
// RATE messages/s for SECONDS, and every member socket times each message from the sender's
// clock to its arrival (same machine, same clock). Reports delivered messages/s, p50/p99/max
// delay, the server's RSS and CPU. Starts its own server (STREAMHUB_BIN, SQLite in a temp dir).
// Usage: node bench/ws-room.mjs [MEMBERS=5000] [RATE=100] [SECONDS=10] [USERS=100]
// (BENCH_ARGS="--ws-threads 2" passes more server options; BENCH_STDERR=1 shows its log.)
// The client is one Node process: at high rates its own frame decoding can be the limit, which
// is why it counts with string search instead of JSON.parse and reports its own CPU too.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import WebSocket from 'ws';

const [MEMBERS = 5000, RATE = 100, SECONDS = 10, USERS = 100] = process.argv.slice(2).map(Number);
const BIN = process.env.STREAMHUB_BIN || 'build/streamhub';
const port = await new Promise((r) => { const s = net.createServer().listen(0, () => { const p = s.address().port; s.close(() => r(p)); }); });
const dataDir = mkdtempSync(path.join(tmpdir(), 'sh-bench-room-'));
const srv = spawn(BIN, ['serve', '--port', String(port), '--data-dir', dataDir, '--rate-limit', '0',
  '--auth-rate-limit', '0', '--access-log', 'false', '--log-level', 'warn', '--max-connections', String(MEMBERS + 1000),
  '--room-members-interval', '5', '--ws-idle-timeout', '600', '--access-ttl', '3600',
  ...(process.env.BENCH_ARGS ? process.env.BENCH_ARGS.split(' ') : [])],
{ stdio: ['ignore', 'ignore', process.env.BENCH_STDERR ? 'inherit' : 'ignore'] });
const base = `http://127.0.0.1:${port}`;
for (let i = 0; ; i++) {
  try { if ((await fetch(base + '/health/live')).ok) break; } catch { /* starting */ }
  if (i > 100) throw new Error('server did not start');
  await new Promise((r) => setTimeout(r, 100));
}
const stat = () => {
  const st = readFileSync(`/proc/${srv.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${srv.pid}/status`, 'utf8'))[1]);
  return { cpuTicks: Number(st[11]) + Number(st[12]), rssKiB: rss };
};
const idle = stat();

const tokens = [];
for (let i = 0; i < USERS; i++) {
  const tag = `${Date.now().toString(36)}${i}`;
  const r = await fetch(base + '/api/v1/auth/register', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: `b${tag}@example.test`, handle: `b${tag}`, password: 'bench password 1' }) });
  tokens.push((await r.json()).access_token);
}

const room = 'bench-room';
const delays = [];
let delivered = 0, measuring = false;
const open = (token, onMsg) => new Promise((resolve, reject) => {
  const ws = new WebSocket(base.replace('http', 'ws') + '/api/v1/ws', { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
  ws.on('error', reject);
  ws.on('open', () => {
    ws.send(JSON.stringify({ type: 'room.join', id: 'j', data: { room } }));
  });
  let joined = false;
  ws.on('message', (buf) => {
    const s = buf.toString();
    if (!joined && s.includes('"id":"j"')) { joined = true; resolve(ws); return; }
    if (onMsg) onMsg(s);
  });
});
const onMsg = (s) => {
  const i = s.indexOf('"text":"t');
  if (i < 0) return;
  const sent = Number(s.slice(i + 9, s.indexOf('|', i)));
  if (!measuring) return;
  delivered++;
  delays.push(Date.now() - sent);
};
const t0 = Date.now();
const members = [];
for (let i = 0; i < MEMBERS; i += 200) {
  const batch = [];
  for (let j = i; j < Math.min(MEMBERS, i + 200); j++) batch.push(open(tokens[j % USERS], onMsg));
  members.push(...(await Promise.all(batch)));
}
const joinMs = Date.now() - t0;
const joined = stat();
const sender = await open(tokens[0], null);

// warm-up second, then the measured run
const clientCpu0 = process.cpuUsage();
const s0 = stat();
let sentCount = 0;
const start = Date.now() + 1000;
await new Promise((resolve) => {
  const tick = () => {
    const now = Date.now();
    if (now >= start) measuring = true;
    const due = Math.floor(((now - start) / 1000) * RATE);
    while (sentCount < due && sentCount < RATE * SECONDS) {
      sender.send(JSON.stringify({ type: 'room.send', id: `s${sentCount}`, data: { room, text: `t${Date.now()}|${sentCount}` } }));
      sentCount++;
    }
    if (sentCount >= RATE * SECONDS) resolve();
    else setTimeout(tick, 2);
  };
  tick();
});
const sendEnd = Date.now();
const expected = sentCount * MEMBERS;
for (let i = 0; i < 300 && delivered < expected; i++) await new Promise((r) => setTimeout(r, 100));
const end = Date.now();
const s1 = stat();
const clientCpu = process.cpuUsage(clientCpu0);
delays.sort((a, b) => a - b);
const q = (p) => delays[Math.min(delays.length - 1, Math.floor(p * delays.length))];
const hz = 100;
console.log(JSON.stringify({
  members: MEMBERS, users: USERS, rate_per_s: RATE, seconds: SECONDS,
  join_all_ms: joinMs,
  sent: sentCount, expected_deliveries: expected, delivered,
  delivered_per_s: Math.round(delivered / ((Math.max(end, sendEnd) - start) / 1000)),
  delay_ms: { p50: q(0.5), p99: q(0.99), max: delays.at(-1) },
  server_rss_mib: { idle: Math.round(idle.rssKiB / 1024), joined: Math.round(joined.rssKiB / 1024), end: Math.round(s1.rssKiB / 1024) },
  server_cpu_s: (s1.cpuTicks - s0.cpuTicks) / hz,
  client_cpu_s: Math.round((clientCpu.user + clientCpu.system) / 1e4) / 100,
}, null, 1));
for (const m of members) m.terminate();
sender.terminate();
srv.kill('SIGTERM');
