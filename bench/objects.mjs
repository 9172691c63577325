// SPDX-License-Identifier: MIT
// Object store throughput (issue 13): the local-disk backend against the S3 backend (s3rver
// behind the tests' SigV4-verifying proxy, tests/e2e/lib/s3.mjs, all on this machine). For each:
// the time the final tus PATCH of an upload takes (the file goes into the store: a rename on
// local disk, a multipart upload of 8 MiB parts to S3), then ranged reads through the node
// (the path segments take: stat, read the range, sendfile) as 1 MiB ranges of the original,
// sequential and 8 at a time; the S3 rows once through the verifying proxy and once straight to
// s3rver. Prints Markdown; asserts nothing.
//   node bench/objects.mjs [size_mib=48] [reads=64]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, stopAll } from '../tests/e2e/lib/harness.mjs';
import { register } from '../tests/e2e/lib/accounts.mjs';
import { startS3 } from '../tests/e2e/lib/s3.mjs';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';

const sizeMiB = Number(process.argv[2] || 48), reads = Number(process.argv[3] || 64);
const work = mkdtempSync(path.join(tmpdir(), 'sh-objbench-'));
// a video of about sizeMiB: high-bitrate noise so it does not compress
execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'nullsrc=s=1280x720:r=25,geq=random(1)*255:128:128',
  '-t', String(Math.max(1, Math.round(sizeMiB / 8))), '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '64M', '-maxrate', '64M',
  '-bufsize', '64M', '-pix_fmt', 'yuv420p', path.join(work, 'v.mp4')]);
const video = readFileSync(path.join(work, 'v.mp4'));
const MiB = 1024 * 1024;

async function measure(name, server) {
  const who = await register(server.url);
  const auth = { 'Tus-Resumable': '1.0.0', Authorization: `Bearer ${who.tokens.access_token}` };
  const created = await fetch(`${server.url}/api/v1/uploads`, { method: 'POST', headers: { ...auth, 'Upload-Length': String(video.length) } });
  const loc = new URL(created.headers.get('location'), server.url).pathname;
  // all but the last byte first, so the timed PATCH is the one that stores the file
  await fetch(`${server.url}${loc}`, { method: 'PATCH', body: video.subarray(0, video.length - 1),
    headers: { ...auth, 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream' } });
  let t = performance.now();
  const last = await fetch(`${server.url}${loc}`, { method: 'PATCH', body: video.subarray(video.length - 1),
    headers: { ...auth, 'Upload-Offset': String(video.length - 1), 'Content-Type': 'application/offset+octet-stream' } });
  const storeMs = performance.now() - t;
  if (last.status !== 204) throw new Error(`${name}: ${last.status} ${await last.text()}`);
  const id = last.headers.get('upload-media-id');
  const url = `${server.url}/api/v1/media/${id}/original`;
  const ranges = Math.floor(video.length / MiB);
  const one = async (i) => {
    const from = (i % ranges) * MiB;
    const r = await fetch(url, { headers: { Authorization: `Bearer ${who.tokens.access_token}`, Range: `bytes=${from}-${from + MiB - 1}` } });
    const b = await r.arrayBuffer();
    if (r.status !== 206 || b.byteLength !== MiB) throw new Error(`${name}: read ${r.status}`);
  };
  t = performance.now();
  for (let i = 0; i < reads; i++) await one(i);
  const seqS = (performance.now() - t) / 1000;
  t = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => { while (next < reads) await one(next++); }));
  const parS = (performance.now() - t) / 1000;
  return { name, storeMs, seq: reads / seqS, par: reads / parS };
}

/** A small video transcoded into the store, then deleted: the delete-by-prefix request's time. */
async function deleteTime(server) {
  execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-t', '6',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-pix_fmt', 'yuv420p', path.join(work, 'small.mp4')]);
  const small = readFileSync(path.join(work, 'small.mp4'));
  const who = await register(server.url);
  const auth = { 'Tus-Resumable': '1.0.0', Authorization: `Bearer ${who.tokens.access_token}` };
  const created = await fetch(`${server.url}/api/v1/uploads`, { method: 'POST', headers: { ...auth, 'Upload-Length': String(small.length) } });
  const loc = new URL(created.headers.get('location'), server.url).pathname;
  const done = await fetch(`${server.url}${loc}`, { method: 'PATCH', body: small, headers: { ...auth, 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream' } });
  const id = done.headers.get('upload-media-id');
  for (;;) {
    const m = await (await fetch(`${server.url}/api/v1/media/${id}`, { headers: { Authorization: auth.Authorization } })).json();
    if (m.state === 'ready') break;
    if (m.state === 'failed') throw new Error('transcode failed');
    await new Promise((r) => setTimeout(r, 200));
  }
  const objects = (await s3.client().send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `media/${id}/` }))).KeyCount;
  const t = performance.now();
  const del = await fetch(`${server.url}/api/v1/media/${id}`, { method: 'DELETE', headers: { Authorization: auth.Authorization } });
  if (del.status !== 204) throw new Error(`delete ${del.status}`);
  return { objects, ms: performance.now() - t };
}

const s3 = await startS3();
const rows = [];
let deleted;
try {
  const local = await startServer({ args: ['--rate-limit', '0', '--auth-rate-limit', '0', '--job-workers', '0', '--upload-max-size', String(1 << 30)] });
  rows.push(await measure('local disk', local));
  const remote = await startServer({ args: ['--object-store', s3.spec(), '--rate-limit', '0', '--auth-rate-limit', '0', '--job-workers', '0', '--upload-max-size', String(1 << 30)], env: s3.env });
  rows.push(await measure('S3 (s3rver + verifying proxy)', remote));
  const direct = s3.spec().replace(encodeURIComponent(s3.endpoint), encodeURIComponent(`http://127.0.0.1:${s3.backendPort}`));
  const bare = await startServer({ args: ['--object-store', direct, '--rate-limit', '0', '--auth-rate-limit', '0', '--job-workers', '0', '--upload-max-size', String(1 << 30)], env: s3.env });
  rows.push(await measure('S3 (s3rver direct)', bare));
  const worker = await startServer({ args: ['--object-store', direct, '--rate-limit', '0', '--auth-rate-limit', '0', '--job-workers', '1'], env: s3.env });
  deleted = await deleteTime(worker);
} finally {
  await stopAll();
  await s3.stop();
  rmSync(work, { recursive: true, force: true });
}
const mib = video.length / MiB;
console.log(`Upload of a ${mib.toFixed(1)} MiB video (final tus PATCH: into the store), then ${reads} ranged reads of 1 MiB of it through the node.\n`);
console.log('| backend | store the upload | MiB/s into the store | 1 MiB ranged reads/s, sequential | same, 8 concurrent |');
console.log('|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.name} | ${r.storeMs.toFixed(0)} ms | ${(mib / (r.storeMs / 1000)).toFixed(0)} | ${r.seq.toFixed(0)} | ${r.par.toFixed(0)} |`);
console.log(`\nDeleting a transcoded 6 s video's ${deleted.objects} objects by prefix (list + one DELETE each, s3rver direct): DELETE /api/v1/media/:id took ${deleted.ms.toFixed(0)} ms.`);
