// SPDX-License-Identifier: MIT
// The e2e harness: starts the real streamhub binary on port 0 with a fresh data dir (and, when
// STREAMHUB_TEST_PG names an admin URL, a fresh PostgreSQL database), waits for its
// "listening on" line, and gives suites an HTTP client and a webhook receiver that stands in
// for an SMS/email gateway.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

const BIN = process.env.STREAMHUB_BIN || 'build/streamhub';
const SANITIZER = /ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|WARNING: ThreadSanitizer/;
const servers = new Set();
/** Nodes behind nginx when the suites run as a cluster (STREAMHUB_TEST_CLUSTER=N), else 0. */
export const CLUSTER_NODES = process.env.STREAMHUB_TEST_CLUSTER ? Number(process.env.STREAMHUB_TEST_CLUSTER) || 3 : 0;
/** The URLs of the processes behind a handle: each node's own in cluster mode (to read a
 * per-node figure such as /metrics from all of them), else the one server's. */
export const nodeUrls = (server) => (server.nodes ? server.nodes.map((n) => n.url) : [server.url]);
/** A /metrics sample (name with its labels) summed over the processes behind a handle: in
 * cluster mode each node counts only what it holds itself. A sample only written once it is
 * non-zero (a label value not seen yet, such as a close code) counts 0 where it is absent with
 * { absentIsZero: true }; otherwise its absence is an error. */
export async function metricSum(server, name, { absentIsZero = false } = {}) {
  let sum = 0;
  for (const base of nodeUrls(server)) {
    const text = await (await fetch(`${base}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    if (!line && absentIsZero) continue;
    if (!line) throw new Error(`no ${name} in ${base}/metrics`);
    sum += Number(line.slice(name.length + 1));
  }
  return sum;
}
/** The pids behind a handle: the nodes' (or the one server's); with jobs: true, the processes
 * that run its jobs and their ffmpegs (in cluster mode the workers, not the nodes). */
export const serverPids = (server, { jobs = false } = {}) => (!server.nodes ? [server.proc.pid]
  : jobs ? server.workerPids : server.nodes.map((n) => n.proc.pid));
/** One process's own URL, for suites about a single HTTP front end (raw framing, header
 * deadlines, X-Forwarded-For walking): in cluster mode the first node's, bypassing nginx, which
 * would answer bad framing itself and append its own hop. */
export const directUrl = (server) => (server.nodes ? server.nodes[0].url : server.url);
/** A test's skip option in cluster mode: the reason, which the TAP output prints, or false. */
export const singleNodeOnly = (reason) => (CLUSTER_NODES ? `single node only: ${reason}` : false);

/** A fresh database on the STREAMHUB_TEST_PG server; its URL. */
export function createPgDatabase() {
  const admin = process.env.STREAMHUB_TEST_PG;
  const name = `sh_test_${randomBytes(6).toString('hex')}`;
  execFileSync('psql', [admin, '-q', '-v', 'ON_ERROR_STOP=1', '-c', `CREATE DATABASE ${name}`], { stdio: 'pipe' });
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return u.toString();
}

export function launch(s) {
  return new Promise((resolve, reject) => {
    const args = ['serve', '--port', String(s.port || 0), '--host', '127.0.0.1', '--data-dir', s.dataDir];
    if (s.database) args.push('--database', s.database);
    args.push(...s.args);
    const proc = spawn(BIN, args, { env: { ...process.env, ...s.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    s.proc = proc;
    s.exited = new Promise((r) => proc.on('exit', (code, signal) => r({ code, signal })));
    let out = '';
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`server did not start in 20 s: ${s.stderr}`)); }, 20000);
    proc.stderr.on('data', (d) => { if (s.stderr.length < 5e6) s.stderr += d; });
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /^listening on (http:\/\/\S+)$/m.exec(out);
      if (m) { clearTimeout(timer); s.url = m[1]; s.port = Number(new URL(m[1]).port); resolve(); }
    });
    proc.on('error', (e) => { clearTimeout(timer); reject(e); });
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (!s.url || s.proc !== proc) reject(new Error(`server exited (${code ?? signal}) before listening: ${s.stderr}`));
    });
  });
}

/** Starts a server; see the module comment. With STREAMHUB_TEST_CLUSTER=N (and STREAMHUB_TEST_PG)
 * it starts N nodes behind nginx instead, with the same handle (lib/cluster.mjs). */
export async function startServer(opts = {}) {
  if (process.env.STREAMHUB_TEST_CLUSTER) {
    const { startCluster } = await import('./cluster.mjs');
    const c = await startCluster({ ...opts, database: opts.database ?? (process.env.STREAMHUB_TEST_PG ? createPgDatabase() : null) });
    servers.add(c.entry);
    return c.handle;
  }
  const s = {
    dataDir: opts.dataDir || mkdtempSync(path.join(tmpdir(), 'sh-e2e-')),
    // opts.database (with opts.dataDir): a second node on the same database as an earlier one
    database: opts.database ?? (process.env.STREAMHUB_TEST_PG ? createPgDatabase() : null),
    args: opts.args || [],
    env: opts.env || {},
    stderr: '',
    url: null,
    running: false,
  };
  await launch(s);
  s.running = true;
  servers.add(s);
  const handle = {
    get url() { return s.url; },
    get proc() { return s.proc; },
    dataDir: s.dataDir,
    database: s.database,
    stderrText: () => s.stderr,
    /** SIGTERM; resolves with the exit code, rejects on a sanitizer report or a hang. */
    async stop() {
      if (!s.running) return 0;
      s.running = false;
      s.proc.kill('SIGTERM');
      const timeout = new Promise((r) => setTimeout(() => r(null), 15000));
      const res = await Promise.race([s.exited, timeout]);
      if (!res) { s.proc.kill('SIGKILL'); throw new Error('server did not stop within 15 s'); }
      if (SANITIZER.test(s.stderr)) throw new Error(`sanitizer report:\n${s.stderr.slice(-4000)}`);
      return res.code;
    },
    async kill(signal = 'SIGKILL') { s.running = false; s.proc.kill(signal); return s.exited; },
    async restart() {
      if (s.running) await handle.stop();
      s.url = null;
      await launch(s);
      s.running = true;
      return handle;
    },
  };
  s.handle = handle;
  return handle;
}

/** Stops every server this process started; rejects if any ended badly. */
export async function stopAll() {
  const errors = [];
  for (const s of servers) {
    try {
      const code = await s.handle.stop();
      if (code !== 0) errors.push(`exit code ${code}: ${s.stderr.slice(-2000)}`);
    } catch (e) { errors.push(e.message); }
  }
  servers.clear();
  if (errors.length) throw new Error(errors.join('\n'));
}

/** A small fetch wrapper: { status, headers, json, text }. */
export function api(base) {
  const request = async (method, p, { json, body, headers = {}, token } = {}) => {
    const h = { ...headers };
    if (token) h.authorization = `Bearer ${token}`;
    let payload = body;
    if (json !== undefined) { h['content-type'] = 'application/json'; payload = JSON.stringify(json); }
    const r = await fetch(base + p, { method, headers: h, body: payload });
    const text = await r.text();
    let parsed = null;
    if ((r.headers.get('content-type') || '').startsWith('application/json') && text) {
      try { parsed = JSON.parse(text); } catch { parsed = null; }
    }
    return { status: r.status, headers: r.headers, json: parsed, text };
  };
  return {
    request,
    get: (p, o) => request('GET', p, o),
    post: (p, o) => request('POST', p, o),
    patch: (p, o) => request('PATCH', p, o),
    put: (p, o) => request('PUT', p, o),
    del: (p, o) => request('DELETE', p, o),
  };
}

/** An HTTP server that records JSON POSTs, like an SMS or email gateway would receive them. */
export function startWebhookReceiver() {
  const messages = [];
  const waiters = [];
  let failures = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      if (failures > 0) { failures--; res.writeHead(500); res.end('{"ok":false}'); return; }
      let msg;
      try { msg = JSON.parse(body); } catch { msg = { raw: body }; }
      msg._headers = req.headers;
      messages.push(msg);
      for (const w of [...waiters]) if (w.pred(msg)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(msg); }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    resolve({
      url: `http://127.0.0.1:${port}/hook`,
      messages,
      failNext(n) { failures = n; },
      waitFor(pred, timeoutMs = 10000) {
        const found = messages.find(pred);
        if (found) return Promise.resolve(found);
        return new Promise((res, rej) => {
          const w = { pred, resolve: (m) => { clearTimeout(w.t); res(m); } };
          w.t = setTimeout(() => { waiters.splice(waiters.indexOf(w), 1); rej(new Error('no matching webhook message')); }, timeoutMs);
          waiters.push(w);
        });
      },
      close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
    });
  }));
}

export function uniqueUser(prefix = 'u') {
  const tag = randomBytes(5).toString('hex');
  const handle = `${prefix}_${tag}`.slice(0, 30);
  return { email: `${handle}@example.test`, handle, password: `pw-${randomBytes(6).toString('hex')}` };
}

/** A client address for X-Forwarded-For (a header value only; nothing is sent there). */
export function freshIp() {
  const b = randomBytes(3);
  return `10.${b[0]}.${b[1]}.${b[2]}`;
}

/** A TCP port free right now, for a server that must come back on the same address. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}
