// SPDX-License-Identifier: MIT
// Realtime hub benchmark: starts build/streamhub on a fresh data dir, registers a few users,
// opens N authenticated WebSockets spread over them (Authorization header, npm `ws`), and
// reports the server's RSS before and after, the time to connect them all, the p50/p99 round
// trip of a "ping" -> ack while all are connected (sequential probes on random sockets, then the
// same under a burst of concurrent probes), and the RSS once the probes have settled. Nothing is
// asserted.
//   node bench/ws-connections.mjs [N=10000] [users=20] [client processes]
// STREAMHUB_BIN overrides the binary; WS_BENCH_HOLD=<seconds> keeps the sockets open that long
// after the figures, to look at the server (gdb -p <pid> -batch -ex 'call (void)malloc_stats()').
//
// Above 25,000 sockets the clients are split over several processes (default: one per 25,000),
// each bound to its own source address (127.0.0.2, 127.0.0.3, ...): one source address has only
// ~28,000 ephemeral ports towards one server port. The latency probes then run in the first
// client process, on its own sockets. The script raises its open-file limit itself (re-running
// under `ulimit -n`; root, or a hard limit that allows it, is needed for 100,000):
//   node bench/ws-connections.mjs 100000 100
import { execFileSync, fork, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const PER_PROCESS = 25000;
const IN_FLIGHT = 200; // handshakes in flight per client process

// ---- client side (in this process, or in a forked child) ---------------------------------

async function openSockets(wsUrl, tokens, count, offset, localAddress) {
  const sockets = [];
  const pending = new Map(); // id -> resolve
  function open(i) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(wsUrl, {
        headers: { authorization: `Bearer ${tokens[i % tokens.length]}` },
        perMessageDeflate: false, localAddress,
      });
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
  let next = 0;
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next < count) sockets.push(await open(offset + next++));
  }));
  return { sockets, pending };
}

async function probe({ sockets, pending }) {
  let seq = 0;
  function ping(ws) {
    const id = String(++seq);
    const t = performance.now();
    return new Promise((resolve) => {
      pending.set(id, () => resolve(performance.now() - t));
      ws.send(JSON.stringify({ type: 'ping', id, data: { t } }));
    });
  }
  const pick = () => sockets[Math.floor(Math.random() * sockets.length)];
  const seqLat = [];
  for (let i = 0; i < 2000; i++) seqLat.push(await ping(pick()));
  const burstLat = [];
  for (let round = 0; round < 20; round++)
    burstLat.push(...await Promise.all(Array.from({ length: 500 }, () => ping(pick()))));
  return { seqLat, burstLat };
}

if (process.argv[2] === '--client') {
  // a forked client: {open} -> opens its share and answers {opened}; {probe} -> {probed}
  let set;
  process.on('message', async (m) => {
    try {
      if (m.open) {
        set = await openSockets(m.wsUrl, m.tokens, m.count, m.offset, m.localAddress);
        process.send({ opened: set.sockets.length });
      } else if (m.probe) {
        process.send({ probed: await probe(set) });
      } else if (m.exit) {
        for (const ws of set?.sockets || []) ws.terminate();
        process.exit(0);
      }
    } catch (e) {
      process.send({ error: String(e?.stack || e) });
    }
  });
} else {
  await main();
}

// ---- the driver ---------------------------------------------------------------------------

function fdLimit() {
  return Number(execFileSync('sh', ['-c', 'ulimit -n']).toString().trim());
}

async function main() {
  const N = Number(process.argv[2] || 10000);
  const USERS = Number(process.argv[3] || 20);
  const PROCS = Number(process.argv[4] || Math.ceil(N / PER_PROCESS));
  // a per-process limit, inherited by the server (N sockets) and the clients (their share)
  const need = N + 1000;
  if (fdLimit() < need) {
    if (process.env.WS_BENCH_REEXEC) {
      throw new Error(`cannot raise the open-file limit to ${need} (a hard limit above ` +
        '`ulimit -Hn` needs CAP_SYS_RESOURCE)');
    }
    const script = fileURLToPath(import.meta.url);
    const args = [script, ...process.argv.slice(2)].map((a) => `'${a}'`).join(' ');
    const child = spawn('sh', ['-c', `ulimit -n ${need} && exec '${process.execPath}' ${args}`],
      { stdio: 'inherit', env: { ...process.env, WS_BENCH_REEXEC: '1' } });
    process.exitCode = await new Promise((r) => child.on('exit', r));
    if (process.exitCode) console.error(`sh: ulimit -n ${need} failed; hard limit: ` +
      execFileSync('sh', ['-c', 'ulimit -Hn']).toString().trim());
    return;
  }

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

  const t0 = performance.now();
  let opened, runProbe, stop;
  if (PROCS <= 1) {
    const set = await openSockets(wsUrl, tokens, N, 0, undefined);
    opened = set.sockets.length;
    runProbe = () => probe(set);
    stop = async () => { for (const ws of set.sockets) ws.terminate(); };
  } else {
    const children = Array.from({ length: PROCS }, () =>
      fork(fileURLToPath(import.meta.url), ['--client'], { execArgv: ['--max-old-space-size=4096'] }));
    const ask = (child, msg) => new Promise((resolve, reject) => {
      child.once('message', (m) => (m.error ? reject(new Error(m.error)) : resolve(m)));
      child.send(msg);
    });
    const share = Math.ceil(N / PROCS);
    const counts = await Promise.all(children.map((c, i) => ask(c, {
      open: true, wsUrl, tokens, offset: i * share, count: Math.min(share, N - i * share),
      localAddress: `127.0.0.${2 + i}`,
    })));
    opened = counts.reduce((a, m) => a + m.opened, 0);
    runProbe = async () => (await ask(children[0], { probe: true })).probed;
    stop = async () => {
      await Promise.all(children.map((c) => new Promise((r) => { c.on('exit', r); c.send({ exit: true }); })));
    };
  }
  const connectMs = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 2000));
  const loaded = rssKiB();
  const { seqLat, burstLat } = await runProbe();
  // the probes woke thousands of sockets; the hub frees their wslay contexts after a quiet
  // second and hands the pages back at most every 10 s
  await new Promise((r) => setTimeout(r, 12000));
  const settled = rssKiB();
  const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };

  console.log(`date: ${new Date().toISOString()}`);
  console.log(`sockets: ${opened} authenticated over ${USERS} users` +
    (PROCS > 1 ? `, from ${PROCS} client processes (127.0.0.2-${1 + PROCS})` : ''));
  console.log(`server RSS idle ${mib(idle)} MiB, with all sockets ${mib(loaded)} MiB, ` +
    `delta ${mib(loaded - idle)} MiB (${((loaded - idle) * 1024 / opened).toFixed(0)} B per socket)`);
  console.log(`server RSS 12 s after the probes ${mib(settled)} MiB ` +
    `(${((settled - idle) * 1024 / opened).toFixed(0)} B per socket)`);
  console.log(`connect all: ${(connectMs / 1000).toFixed(2)} s (${(opened / connectMs * 1000).toFixed(0)}/s, ` +
    `${IN_FLIGHT * Math.max(PROCS, 1)} handshakes in flight)`);
  const where = PROCS > 1 ? ' on the first process\'s sockets' : '';
  console.log(`ping->ack sequential (2000)${where}: p50 ${pct(seqLat, 0.5).toFixed(3)} ms, p99 ${pct(seqLat, 0.99).toFixed(3)} ms`);
  console.log(`ping->ack bursts of 500 (10000): p50 ${pct(burstLat, 0.5).toFixed(3)} ms, p99 ${pct(burstLat, 0.99).toFixed(3)} ms`);
  if (process.env.WS_BENCH_HOLD) { // seconds to keep everything open, to inspect the server
    console.log(`holding ${process.env.WS_BENCH_HOLD} s: server pid ${proc.pid}`);
    await new Promise((r) => setTimeout(r, Number(process.env.WS_BENCH_HOLD) * 1000));
  }
  await stop();
  proc.kill('SIGTERM');
  await new Promise((r) => proc.on('exit', r));
}
