// SPDX-License-Identifier: MIT
// Upload benchmark (issue 4): one 1 GiB file through tus-js-client over loopback, in 50 MiB PATCH
// requests, while the server's RSS is sampled every 20 ms. Prints Markdown rows for
// docs/BENCHMARKS.md; asserts nothing.
//   node bench/upload.mjs            (BENCH_UPLOAD_MB=1024, BENCH_CHUNK_MB=50)
import { spawn, execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, openSync, writeSync, closeSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tus from 'tus-js-client';

const BIN = process.env.STREAMHUB_BIN || 'build/streamhub';
const MB = Number(process.env.BENCH_UPLOAD_MB || 1024);
const CHUNK = Number(process.env.BENCH_CHUNK_MB || 50) * 1024 * 1024;
const work = mkdtempSync(path.join(tmpdir(), 'sh-upload-bench-'));

// A file that sniffs as MP4 (a real header from ffmpeg) padded to size: the bytes' content does
// not matter to the upload path, and processing is switched off below.
const head = path.join(work, 'head.mp4');
execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240', '-t', '1', '-c:v', 'libx264', head]);
const file = path.join(work, 'big.mp4');
const fd = openSync(file, 'w');
writeSync(fd, readFileSync(head));
const block = Buffer.alloc(8 * 1024 * 1024, 0x5a);
let size = statSync(head).size;
while (size < MB * 1024 * 1024) {
  const n = Math.min(block.length, MB * 1024 * 1024 - size);
  writeSync(fd, block, 0, n);
  size += n;
}
closeSync(fd);

const server = spawn(BIN, ['serve', '--port', '0', '--data-dir', path.join(work, 'data'), '--rate-limit', '0', '--auth-rate-limit', '0',
  '--upload-max-size', String(4 * 1024 * 1024 * 1024), '--job-workers', '0'], { stdio: ['ignore', 'pipe', 'ignore'] });
const url = await new Promise((resolve) => {
  let out = '';
  server.stdout.on('data', (d) => { out += d; const m = out.match(/listening on (\S+)/); if (m) resolve(m[1]); });
});
const rss = () => Number(readFileSync(`/proc/${server.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]) / 1024;
const reg = await fetch(`${url}/api/v1/auth/register`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ email: `bench${Date.now()}@example.test`, handle: `bench${Date.now() % 1e9}`, password: 'benchmark password' }) });
const token = (await reg.json()).access_token;

const before = rss();
let peak = before;
const timer = setInterval(() => { peak = Math.max(peak, rss()); }, 20);
const t0 = process.hrtime.bigint();
await new Promise((resolve, reject) => {
  const up = new tus.Upload(createReadStream(file), {
    endpoint: `${url}/api/v1/uploads`, uploadSize: size, chunkSize: CHUNK,
    headers: { Authorization: `Bearer ${token}` }, metadata: { filename: 'big.mp4', filetype: 'video/mp4' },
    onSuccess: resolve, onError: reject,
  });
  up.start();
});
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
clearInterval(timer);
server.kill('SIGTERM');
await new Promise((r) => server.on('exit', r));
rmSync(work, { recursive: true, force: true });

const date = new Date().toISOString().slice(0, 10);
console.log(`### Uploads — ${date} — tus-js-client, ${MB} MiB in ${CHUNK / 1048576} MiB PATCHes over loopback`);
console.log('');
console.log('| scenario | result |');
console.log('|---|---|');
console.log(`| upload throughput | ${(size / 1048576 / secs).toFixed(0)} MiB/s (${secs.toFixed(1)} s) |`);
console.log(`| server RSS before / peak during | ${before.toFixed(1)} MiB / ${peak.toFixed(1)} MiB (grew ${(peak - before).toFixed(1)} MiB) |`);
