// SPDX-License-Identifier: MIT
// Room fan-out: MEMBERS sockets (spread over USERS accounts) join one room, one sender posts
// RATE messages/s for SECONDS, and the members time each message from the sender's clock to its
// arrival (same machine, same clock). Reports delivered messages/s, p50/p99/max delay, the
// server's RSS and CPU (and CPU per delivery), and the client's own CPU. Starts its own server
// (STREAMHUB_BIN, SQLite in a temp dir).
// Usage: ulimit -n 20000; node bench/ws-room.mjs [MEMBERS=5000] [RATE=100] [SECONDS=10] [USERS=100] [WORKERS=2]
// (BENCH_ARGS="--ws-threads 2" passes more server options; BENCH_STDERR=1 shows its log.)
//
// The client must not be the limit: half a million frames a second is more than one Node event
// loop decodes with npm `ws`. So the members are raw node:net sockets spread over WORKERS worker
// threads; they only walk frame headers, count room messages (a native Buffer.indexOf on the
// payload) and read the send time from every 8th one; only the sender uses `ws`. The client CPU
// printed is the whole process's (all workers), over the measured run.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';

const room = 'bench-room';

// A client frame must be masked (RFC 6455 §5.3); a zero key leaves the payload as it is.
const maskedText = (s) => {
  const p = Buffer.from(s);
  if (p.length >= 126) throw new Error('bench frames are short');
  return Buffer.concat([Buffer.from([0x81, 0x80 | p.length, 0, 0, 0, 0]), p]);
};

if (!isMainThread) {
  const { host, port, tokens, count } = workerData;
  const TEXT = Buffer.from('"text":"t');
  let received = 0, samples = [];
  const openRaw = (token) => new Promise((resolve, reject) => {
    const sock = net.connect(port, host);
    let buf = Buffer.alloc(0), upgraded = false, joined = false;
    sock.on('error', reject);
    sock.on('data', (d) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!buf.subarray(0, 12).toString().includes('101')) { reject(new Error('no upgrade')); return; }
        upgraded = true;
        buf = buf.subarray(end + 4);
        sock.write(maskedText(JSON.stringify({ type: 'room.join', id: 'j', data: { room } })));
      }
      let off = 0;
      while (buf.length - off >= 2) {
        let len = buf[off + 1] & 127, h = 2;
        if (len === 126) { if (buf.length - off < 4) break; len = buf.readUInt16BE(off + 2); h = 4; }
        else if (len === 127) { if (buf.length - off < 10) break; len = Number(buf.readBigUInt64BE(off + 2)); h = 10; }
        if (buf.length - off < h + len) break;
        if ((buf[off] & 15) === 1) {
          if (!joined) {
            if (buf.indexOf('"id":"j"', off + h) >= 0 && buf.indexOf('"id":"j"', off + h) < off + h + len) { joined = true; resolve(sock); }
          } else {
            const i = buf.indexOf(TEXT, off + h);
            if (i >= 0 && i < off + h + len) {
              if ((++received & 7) === 0) {
                const bar = buf.indexOf(124 /* | */, i);
                samples.push(Date.now() - Number(buf.toString('latin1', i + TEXT.length, bar)));
              }
            }
          }
        }
        off += h + len;
      }
      buf = buf.subarray(off);
    });
    const key = randomBytes(16).toString('base64');
    sock.write(`GET /api/v1/ws HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\nAuthorization: Bearer ${token}\r\n\r\n`);
  });
  const socks = [];
  let next = 0;
  await Promise.all(Array.from({ length: 100 }, async () => {
    while (next < count) { const k = next++; socks.push(await openRaw(tokens[k % tokens.length])); }
  }));
  parentPort.postMessage({ joined: socks.length });
  setInterval(() => { parentPort.postMessage({ received, samples }); samples = []; }, 200);
  parentPort.on('message', (m) => { if (m === 'stop') { for (const s of socks) s.destroy(); process.exit(0); } });
} else {
  const [MEMBERS = 5000, RATE = 100, SECONDS = 10, USERS = 100, WORKERS = 2] = process.argv.slice(2).map(Number);
  const BIN = process.env.STREAMHUB_BIN || 'build/streamhub';
  const port = await new Promise((r) => { const s = net.createServer().listen(0, () => { const p = s.address().port; s.close(() => r(p)); }); });
  const dataDir = mkdtempSync(path.join(tmpdir(), 'sh-bench-room-'));
  const srv = spawn(BIN, ['serve', '--port', String(port), '--data-dir', dataDir, '--rate-limit', '0',
    '--auth-rate-limit', '0', '--ws-message-rate', '0', '--ws-command-rate', '0', '--ws-room-join-rate', '0', '--access-log', 'false', '--log-level', 'warn', '--max-connections', String(MEMBERS + 1000),
    '--room-members-interval', '5', '--ws-idle-timeout', '600', '--ws-ping-interval', '300', '--access-ttl', '3600',
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

  const t0 = Date.now();
  const workers = [];
  const counts = new Array(WORKERS).fill(0);
  let delays = [], recording = false;
  await Promise.all(Array.from({ length: WORKERS }, (_, w) => new Promise((resolve, reject) => {
    const count = Math.floor(MEMBERS / WORKERS) + (w < MEMBERS % WORKERS ? 1 : 0);
    const wk = new Worker(new URL(import.meta.url), { workerData: { host: '127.0.0.1', port, tokens: tokens.slice(), count } });
    workers.push(wk);
    wk.on('error', reject);
    wk.on('message', (m) => {
      if (m.joined !== undefined) { resolve(); return; }
      counts[w] = m.received;
      if (recording) for (const d of m.samples) delays.push(d);
    });
  })));
  const joinMs = Date.now() - t0;
  const joined = stat();
  const sender = await new Promise((resolve, reject) => {
    const ws = new WebSocket(base.replace('http', 'ws') + '/api/v1/ws', { headers: { authorization: `Bearer ${tokens[0]}` }, perMessageDeflate: false });
    ws.on('error', reject);
    ws.on('open', () => ws.send(JSON.stringify({ type: 'room.join', id: 'j', data: { room } })));
    ws.on('message', (b) => { if (b.toString().includes('"id":"j"')) resolve(ws); });
  });
  const received = () => counts.reduce((a, b) => a + b, 0);

  await new Promise((r) => setTimeout(r, 1000)); // settle
  const base0 = received();
  recording = true;
  const clientCpu0 = process.cpuUsage();
  const s0 = stat();
  let sentCount = 0, peakRss = s0.rssKiB;
  const start = Date.now();
  await new Promise((resolve) => {
    const tick = () => {
      const due = Math.floor(((Date.now() - start) / 1000) * RATE);
      while (sentCount < due && sentCount < RATE * SECONDS) {
        sender.send(JSON.stringify({ type: 'room.send', id: `s${sentCount}`, data: { room, text: `t${Date.now()}|${sentCount}` } }));
        sentCount++;
      }
      if (sentCount % RATE === 0) peakRss = Math.max(peakRss, stat().rssKiB);
      if (sentCount >= RATE * SECONDS) resolve();
      else setTimeout(tick, 2);
    };
    tick();
  });
  const expected = sentCount * MEMBERS;
  let end = Date.now();
  for (let i = 0; i < 600 && received() - base0 < expected; i++) {
    await new Promise((r) => setTimeout(r, 100));
    peakRss = Math.max(peakRss, stat().rssKiB);
    end = Date.now();
  }
  await new Promise((r) => setTimeout(r, 300)); // last sample batch
  const s1 = stat();
  const clientCpu = process.cpuUsage(clientCpu0);
  const delivered = received() - base0;
  delays.sort((a, b) => a - b);
  const q = (p) => delays[Math.min(delays.length - 1, Math.floor(p * delays.length))];
  const serverCpu = (s1.cpuTicks - s0.cpuTicks) / 100;
  console.log(JSON.stringify({
    date: new Date().toISOString(),
    members: MEMBERS, users: USERS, rate_per_s: RATE, seconds: SECONDS, client_workers: WORKERS,
    server_args: process.env.BENCH_ARGS || '',
    join_all_ms: joinMs,
    sent: sentCount, expected_deliveries: expected, delivered,
    drain_s: (end - start) / 1000,
    delivered_per_s: Math.round(delivered / ((end - start) / 1000)),
    delay_ms: { p50: q(0.5), p99: q(0.99), max: delays.at(-1), samples: delays.length },
    server_rss_mib: { idle: Math.round(idle.rssKiB / 1024), joined: Math.round(joined.rssKiB / 1024), peak: Math.round(peakRss / 1024), end: Math.round(s1.rssKiB / 1024) },
    server_cpu_s: serverCpu,
    server_cpu_us_per_delivery: delivered ? Math.round((serverCpu * 1e6 / delivered) * 100) / 100 : null,
    client_cpu_s: Math.round((clientCpu.user + clientCpu.system) / 1e4) / 100,
  }, null, 1));
  for (const w of workers) w.postMessage('stop');
  sender.terminate();
  srv.kill('SIGTERM');
}
