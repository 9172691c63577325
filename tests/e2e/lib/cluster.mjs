// SPDX-License-Identifier: MIT
// Many nodes as one server, for the e2e suites (STREAMHUB_TEST_CLUSTER=N, with STREAMHUB_TEST_PG):
// N `streamhub serve` nodes with their job runners off, STREAMHUB_TEST_CLUSTER_WORKERS `streamhub
// worker` processes (default 2) running the jobs, all on one PostgreSQL database and one data
// directory (the uploads spool and the local media store are shared, as deploy/ shares them), a
// redis-server of their own when the binary has --redis, and Debian's nginx in front, configured
// like deploy/compose/nginx.conf (round robin, WebSocket upgrade, no sticky sessions, lingering
// close so that a close frame reaches a client that still sends). The handle
// is startServer's: url is nginx's; stop, kill and restart act on every process, killNode(i) on
// one node; nodes[i].url is a node's own address; stderrText joins the nodes' and workers' logs.
// Every process gets --node-id auto, so ids never collide. startServer returns once every node
// listens and every worker has logged "worker started".
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { launch } from './harness.mjs';

const BIN = process.env.STREAMHUB_BIN || 'build/streamhub';
const SANITIZER = /ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|WARNING: ThreadSanitizer/;
const NODES = Number(process.env.STREAMHUB_TEST_CLUSTER) || 3;
const WORKERS = Number(process.env.STREAMHUB_TEST_CLUSTER_WORKERS ?? 2);
let hasRedisOption;

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
  });
}

async function waitForPort(port, what, proc, log) {
  for (let i = 0; i < 200; i++) {
    if (proc.exitCode !== null) throw new Error(`${what} exited: ${log()}`);
    const ok = await new Promise((r) => {
      const c = net.connect(port, '127.0.0.1', () => { c.end(); r(true); });
      c.on('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not listen on ${port}: ${log()}`);
}

async function waitForLog(p, re, what) {
  for (let i = 0; i < 400; i++) {
    if (re.test(p.stderr)) return;
    if (p.proc.exitCode !== null || p.proc.signalCode !== null) throw new Error(`${what} exited: ${p.stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not start in 20 s: ${p.stderr}`);
}

function spawnLogged(cmd, args, env = {}) {
  const p = { stderr: '' };
  p.proc = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  p.proc.stderr.on('data', (d) => { if (p.stderr.length < 5e6) p.stderr += d; });
  p.exited = new Promise((r) => p.proc.on('exit', (code, signal) => r({ code, signal })));
  return p;
}

async function stopProc(p, signal = 'SIGTERM', ms = 15000) {
  if (!p || p.proc.exitCode !== null || p.proc.signalCode !== null) return p ? p.exited : null;
  p.proc.kill(signal);
  const res = await Promise.race([p.exited, new Promise((r) => setTimeout(() => r(null), ms))]);
  if (!res) { p.proc.kill('SIGKILL'); return p.exited; }
  return res;
}

function nginxConf(dir, port, nodePorts) {
  return `pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
daemon off;
worker_processes 1;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream streamhub {
${nodePorts.map((p) => `    server 127.0.0.1:${p} max_fails=0;`).join('\n')}
    keepalive 64;
  }
  map $http_upgrade $connection_upgrade { default upgrade; '' ''; }
  server {
    listen 127.0.0.1:${port};
    client_max_body_size 0;
    proxy_request_buffering off;
    proxy_buffering off;
    lingering_close always;
    location / {
      proxy_pass http://streamhub;
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_read_timeout 3600s;
      proxy_send_timeout 3600s;
      proxy_next_upstream error timeout http_502;
    }
  }
}
`;
}

export async function startCluster(opts) {
  if (!opts.database) throw new Error('STREAMHUB_TEST_CLUSTER needs STREAMHUB_TEST_PG: the nodes share one database');
  hasRedisOption ??= /--redis\b/.test(execFileSync(BIN, ['--help'], { encoding: 'utf8' }));
  const dataDir = opts.dataDir || mkdtempSync(path.join(tmpdir(), 'sh-cluster-'));
  const work = mkdtempSync(path.join(tmpdir(), 'sh-cluster-run-'));
  const c = { nodes: [], workers: [], redis: null, nginx: null, running: false, url: null };
  const shared = ['--node-id', 'auto'];
  const redisPort = hasRedisOption ? await freePort() : 0;
  const startRedis = async () => {
    c.redis = spawnLogged('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', work]);
    await waitForPort(redisPort, 'redis-server', c.redis.proc, () => c.redis.stderr);
  };
  if (hasRedisOption) shared.push('--redis', `redis://127.0.0.1:${redisPort}/0`);
  // The nodes' job runners stay off whatever the test asks; the workers take the test's own
  // settings (delivery gateway, job lease, --job-workers N: 0 means no job runs anywhere, as on
  // one server started with it), so what a test configures for jobs reaches whoever runs them.
  // --workers 4 unless the test says otherwise: 16 per node (the PostgreSQL default) would open
  // ~80 connections per cluster, and a suite file may hold several clusters at once.
  // A --port the test asks for is the cluster's address, nginx's; the nodes take free ones.
  const args = [...(opts.args || [])];
  const portAt = args.indexOf('--port');
  const askedPort = portAt >= 0 ? Number(args.splice(portAt, 2)[1]) : 0;
  const nodeArgs = [...shared, '--workers', '4', ...args, '--job-workers', '0'];
  const workerArgs = [...shared, '--job-workers', '2', ...args, ...(opts.workerArgs || [])];
  for (let i = 0; i < NODES; i++) {
    c.nodes.push({ dataDir, database: opts.database, args: nodeArgs, env: opts.env || {}, stderr: '', url: null, port: 0 });
  }
  const startNodes = async () => {
    // one after the other: the first creates the data dir's files (jwt.secret) the rest read
    for (const n of c.nodes) await launch(n);
    c.workers = [];
    for (let i = 0; i < WORKERS; i++) {
      c.workers.push(spawnLogged(BIN, ['worker', '--data-dir', dataDir, '--database', opts.database, ...workerArgs], opts.env || {}));
    }
    // started means running, as a node is once it listens: a test that then takes the database
    // away (or counts the leased ids) must not catch a worker still connecting
    await Promise.all(c.workers.map((w) => waitForLog(w, /"msg":"worker started"/, 'streamhub worker')));
  };
  const lbPort = askedPort || await freePort();
  mkdirSync(path.join(work, 'nginx'), { recursive: true });
  // Restarted nodes take fresh ports (a dead node's port may meanwhile be some connection's
  // local port, nginx's own to another upstream included), and nginx is pointed at them: started,
  // or reloaded (SIGHUP) and asked until a request through it reaches a node. The address
  // clients use, nginx's, stays.
  const startNginx = async () => {
    writeFileSync(path.join(work, 'nginx.conf'), nginxConf(path.join(work, 'nginx'), lbPort, c.nodes.map((n) => n.port)));
    if (c.nginx && c.nginx.proc.exitCode === null && c.nginx.proc.signalCode === null) {
      c.nginx.proc.kill('SIGHUP');
      for (let ok = 0, i = 0; ok < 3; i++) {
        if (i > 200) throw new Error(`nginx did not take the new upstreams: ${readErr(work)}`);
        const r = await fetch(`http://127.0.0.1:${lbPort}/health/live`).catch(() => null);
        ok = r && r.status === 200 ? ok + 1 : 0;
        if (ok < 3) await new Promise((res) => setTimeout(res, 50));
      }
      return;
    }
    c.nginx = spawnLogged('nginx', ['-p', path.join(work, 'nginx'), '-c', path.join(work, 'nginx.conf')]);
    await waitForPort(lbPort, 'nginx', c.nginx.proc, () => c.nginx.stderr + readErr(work));
  };
  const startAll = async () => {
    if (hasRedisOption) await startRedis();
    await startNodes();
    await startNginx();
    c.running = true;
  };
  try {
    await startAll();
  } catch (e) { // e.g. a test checking that bad options stop the server: nothing may linger
    await Promise.all([...c.nodes.filter((n) => n.proc).map((n) => stopProc({ proc: n.proc, exited: n.exited })),
      ...c.workers.map((w) => stopProc(w)), stopProc(c.nginx, 'SIGQUIT'), stopProc(c.redis)]);
    throw e;
  }
  c.url = `http://127.0.0.1:${lbPort}`;

  const stderrText = () => c.nodes.map((n) => n.stderr).join('') + c.workers.map((w) => w.stderr).join('');
  const stopServers = async (signal) => {
    const results = await Promise.all([
      ...c.nodes.map((n) => stopProc({ proc: n.proc, exited: n.exited }, signal)),
      ...c.workers.map((w) => stopProc(w, signal)),
    ]);
    return results;
  };
  const handle = {
    get url() { return c.url; },
    get proc() { return c.nodes[0].proc; },
    dataDir,
    database: opts.database,
    nodes: c.nodes,
    get workerPids() { return c.workers.map((w) => w.proc.pid); },
    stderrText,
    async stop() {
      if (!c.running) return 0;
      c.running = false;
      const results = await stopServers('SIGTERM');
      await stopProc(c.nginx, 'SIGQUIT');
      await stopProc(c.redis);
      if (SANITIZER.test(stderrText())) throw new Error(`sanitizer report:\n${stderrText().slice(-4000)}`);
      const bad = results.find((r) => r && r.code !== 0 && r.signal == null);
      return bad ? bad.code : 0;
    },
    /** Ends one node and leaves the others running; nginx keeps it among its upstreams (as a
     * load balancer does until its checks notice) and passes its connections to the next. */
    async killNode(i, signal = 'SIGKILL') {
      c.nodes[i].proc.kill(signal);
      return c.nodes[i].exited;
    },
    async kill(signal = 'SIGKILL') {
      await stopServers(signal);
      return { code: null, signal };
    },
    async restart() {
      if (!c.running) { // after stop(): everything, nginx on its address
        for (const n of c.nodes) n.port = 0;
        await startAll();
        return handle;
      }
      await stopServers('SIGTERM');
      for (const n of c.nodes) { n.url = null; n.port = 0; }
      await startNodes();
      await startNginx();
      return handle;
    },
  };
  return { handle, entry: { handle, get stderr() { return stderrText(); } } };
}

function readErr(work) {
  try { return readFileSync(path.join(work, 'nginx', 'error.log'), 'utf8'); } catch { return ''; }
}
