// SPDX-License-Identifier: MIT
// Opens N keep-alive connections to the server, sends one request on each (so the server has
// allocated its per-connection state), keeps them all open and idle, then reports the server's
// RSS. Usage: node bench/idle-connections.mjs URL N PID
import net from 'node:net';
import { readFileSync } from 'node:fs';

const [url, nArg, pid] = process.argv.slice(2);
const { hostname, port } = new URL(url);
const n = Number(nArg);
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
const sockets = [];
let answered = 0;
const t0 = Date.now();
await new Promise((resolve, reject) => {
  let opened = 0;
  const openOne = () => {
    if (opened >= n) return;
    opened++;
    const s = net.connect(Number(port), hostname);
    s.setNoDelay(true);
    let got = false;
    s.on('data', () => { if (!got) { got = true; answered++; if (answered === n) resolve(); else openOne(); } });
    s.on('error', reject);
    s.write(`GET /health/live HTTP/1.1\r\nHost: ${hostname}\r\n\r\n`);
    sockets.push(s);
  };
  for (let i = 0; i < 200; i++) openOne(); // 200 connects in flight at a time
});
const connectMs = Date.now() - t0;
await new Promise((r) => setTimeout(r, 1000));
const kib = rss();
console.log(`${answered} connected in ${connectMs} ms, server RSS ${Math.round(kib / 1024)} MiB (${kib} KiB)`);
for (const s of sockets) s.destroy();
