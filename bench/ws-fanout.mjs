// SPDX-License-Identifier: MIT
// Hub fan-out benchmark: M sockets subscribed to one bus topic receive R messages per second
// for S seconds; reports delivered messages/s and the p50/p99 delay from publish to receipt.
// Until rooms land, the topic is one user's ("user:<id>", every socket of that account) and
// the publisher is the `sync` command on one more socket of it: the same path a room message
// takes (bus topic -> every subscribed socket's inbox -> its hub thread -> the socket).
//   ulimit -n 20000; node bench/ws-fanout.mjs [M=5000] [R=100] [S=10]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';

const M = Number(process.argv[2] || 5000);
const RATE = Number(process.argv[3] || 100);
const SECS = Number(process.argv[4] || 10);
const BIN = process.env.STREAMHUB_BIN || 'build/streamhub';
const dir = mkdtempSync(path.join(tmpdir(), 'sh-bench-fanout-'));
const proc = spawn(BIN, ['serve', '--port', '0', '--data-dir', dir, '--rate-limit', '0',
  '--auth-rate-limit', '0', '--ws-idle-timeout', '600', '--ws-ping-interval', '300',
  '--access-log', 'false', ...(process.env.BENCH_ARGS || '').split(' ').filter(Boolean)],
{ stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise((resolve, reject) => {
  let out = '';
  proc.stdout.on('data', (d) => { out += d; const m = /listening on (http:\/\/\S+)/.exec(out); if (m) resolve(m[1]); });
  proc.on('exit', (c) => reject(new Error(`server exited ${c}`)));
});
// utime + stime of the server process, seconds
const serverCpu = () => {
  const f = readFileSync(`/proc/${proc.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};
const tag = Date.now().toString(36);
const reg = await fetch(`${url}/api/v1/auth/register`, {
  method: 'POST', headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ email: `f${tag}@example.test`, handle: `f${tag}`, password: 'benchmark password' }),
});
const token = (await reg.json()).access_token;
const wsUrl = url.replace(/^http/, 'ws') + '/api/v1/ws';

let received = 0;
const delays = [];
const open = (onMsg) => new Promise((resolve, reject) => {
  const ws = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
  ws.on('message', (m) => { const msg = JSON.parse(m); if (msg.type === 'ready') resolve(ws); else onMsg(msg); });
  ws.on('error', reject);
});
// Receivers are raw sockets that only walk frame headers (a JSON parse of every one of
// hundreds of thousands of messages a second would measure the client, not the hub); every
// 97th frame's payload is parsed for its publish time.
const u = new URL(url);
const openRaw = () => new Promise((resolve, reject) => {
  const sock = net.connect(Number(u.port), u.hostname);
  let buf = Buffer.alloc(0), upgraded = false, ready = false;
  sock.on('error', reject);
  sock.on('data', (d) => {
    buf = buf.length ? Buffer.concat([buf, d]) : d;
    if (!upgraded) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      if (!buf.subarray(0, 12).toString().includes('101')) { reject(new Error('no upgrade')); return; }
      upgraded = true;
      buf = buf.subarray(end + 4);
    }
    let off = 0;
    while (buf.length - off >= 2) {
      let len = buf[off + 1] & 127, h = 2;
      if (len === 126) { if (buf.length - off < 4) break; len = buf.readUInt16BE(off + 2); h = 4; }
      else if (len === 127) { if (buf.length - off < 10) break; len = Number(buf.readBigUInt64BE(off + 2)); h = 10; }
      if (buf.length - off < h + len) break;
      if ((buf[off] & 15) === 1) {
        if (!ready) { ready = true; resolve(sock); }
        else if (++received % 97 === 0) {
          const msg = JSON.parse(buf.subarray(off + h, off + h + len));
          delays.push(performance.now() - msg.data.payload.t);
        }
      }
      off += h + len;
    }
    buf = buf.subarray(off);
  });
  const key = randomBytes(16).toString('base64');
  sock.write(`GET /api/v1/ws HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\nAuthorization: Bearer ${token}\r\n\r\n`);
});
const sockets = [];
let next = 0;
await Promise.all(Array.from({ length: 200 }, async () => { while (next < M) { next++; sockets.push(await openRaw()); } }));
const publisher = await open(() => {});

const cpu0 = serverCpu();
const t0 = performance.now();
let sent = 0;
await new Promise((resolve) => {
  const timer = setInterval(() => {
    const due = Math.floor((performance.now() - t0) / 1000 * RATE);
    while (sent < due && sent < RATE * SECS)
      publisher.send(JSON.stringify({ type: 'sync', id: String(sent++), data: { t: performance.now() } }));
    if (sent >= RATE * SECS) { clearInterval(timer); resolve(); }
  }, 5);
});
const expected = sent * M;
const deadline = performance.now() + 30000;
while (received < expected && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
const elapsed = (performance.now() - t0) / 1000;
const cpuSecs = serverCpu() - cpu0;
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN; };
console.log(`date: ${new Date().toISOString()}`);
console.log(`${M} subscribed sockets, ${sent} messages at ${RATE}/s: ${received} of ${expected} deliveries in ${elapsed.toFixed(1)} s ` +
  `(${Math.round(received / elapsed)} delivered/s)`);
console.log(`server CPU while publishing and delivering: ${cpuSecs.toFixed(1)} s over ${elapsed.toFixed(1)} s`);
console.log(`publish -> receipt delay (every 97th delivery): p50 ${pct(delays, 0.5).toFixed(1)} ms, p99 ${pct(delays, 0.99).toFixed(1)} ms`);
for (const sock of sockets) sock.destroy();
publisher.terminate();
proc.kill('SIGTERM');
await new Promise((r) => proc.on('exit', r));
