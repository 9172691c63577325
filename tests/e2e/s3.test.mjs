// SPDX-License-Identifier: MIT
// Media on an S3-compatible object store (issue 13): the server runs with
// --object-store s3://... against a real s3rver behind a proxy that verifies every SigV4
// signature with the official AWS signer (lib/s3.mjs). An upload goes to the store, the transcode
// job fetches it into a temp dir and writes the renditions back, the node proxies playlists and
// segments with Range; the official AWS SDK reads back and lists what the node wrote; deleting a
// post removes its objects by prefix; a store that stops answering opens the circuit breaker
// (fast 503s) and the node recovers once it answers again. No timing is asserted.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ListObjectsV2Command, GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { startServer, stopAll } from './lib/harness.mjs';
import { client, register } from './lib/accounts.mjs';
import { startS3 } from './lib/s3.mjs';
import { tinyPng } from './lib/images.mjs';

const work = mkdtempSync(path.join(tmpdir(), 'sh-s3e2e-'));
let s3, server, video;
before(async () => {
  execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-f', 'lavfi',
    '-i', 'sine=frequency=330', '-t', '4', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-shortest', path.join(work, 'v.mp4')]);
  video = readFileSync(path.join(work, 'v.mp4'));
  // H.264 with a keyframe every 2 s: its first rendition is the source cut as it is
  execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-f', 'lavfi',
    '-i', 'sine=frequency=440', '-t', '8', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '60', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-shortest', path.join(work, 'remux.mp4')]);
  // about 8 MB of noise: two 5 MiB parts
  execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'nullsrc=s=1280x720:r=25,geq=random(1)*255:128:128',
    '-t', '1', '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '64M', '-maxrate', '64M', '-bufsize', '64M', '-pix_fmt', 'yuv420p',
    path.join(work, 'big.mp4')]);
  s3 = await startS3();
  // a low multipart threshold: the original goes up as a multipart upload; small list pages:
  // deletes by prefix follow continuation tokens
  server = await startServer({
    args: ['--object-store', s3.spec({ multipart_threshold: 65536, part_size: 5242880, list_max_keys: 3, timeout_ms: 1000, retries: 1,
      breaker_failures: 3, breaker_cooldown_ms: 1500 }),
      '--rate-limit', '0', '--auth-rate-limit', '0', '--job-workers', '1'],
    env: s3.env,
  });
});
after(async () => { await stopAll(); if (s3) await s3.stop(); });

/** Uploads bytes over tus (one PATCH) and returns the media id. */
async function upload(who, bytes) {
  const auth = { 'Tus-Resumable': '1.0.0', Authorization: `Bearer ${who.tokens.access_token}` };
  const created = await fetch(`${server.url}/api/v1/uploads`, { method: 'POST', headers: { ...auth, 'Upload-Length': String(bytes.length) } });
  assert.equal(created.status, 201, await created.text());
  const loc = new URL(created.headers.get('location'), server.url).pathname;
  const patched = await fetch(`${server.url}${loc}`, { method: 'PATCH', body: bytes,
    headers: { ...auth, 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream' } });
  assert.equal(patched.status, 204, `${await patched.text()} ${s3.stats.rejections.join('\n')}`);
  const id = patched.headers.get('upload-media-id') ||
    (await fetch(`${server.url}${loc}`, { method: 'HEAD', headers: auth })).headers.get('upload-media-id');
  assert.ok(id, 'a finished upload names its media');
  return id;
}

async function until(who, id, pred, what) {
  let m;
  for (let i = 0; i < 2400; i++) {
    const r = await client(server.url).get(`/api/v1/media/${id}`, { token: who.tokens.access_token });
    m = r.json;
    if (pred(m)) return m;
    if (m.state === 'failed') break;
    await sleep(50);
  }
  throw new Error(`media ${id} never ${what}: ${JSON.stringify(m)}`);
}

async function listKeys(prefix) {
  const out = [];
  let token;
  do {
    const r = await s3.client().send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix, ContinuationToken: token, MaxKeys: 5 }));
    for (const o of r.Contents || []) out.push(o);
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token);
  return out;
}

const metric = async (name) => {
  const text = (await client(server.url).get('/metrics')).text;
  return text.split('\n').filter((l) => l.startsWith(name));
};

describe('media on an S3-compatible store', () => {
  let owner, mediaId, media;

  test('the verifying proxy rejects a wrong secret (so every accepted request was signed right)', async () => {
    await assert.rejects(s3.client('not-the-secret').send(new ListObjectsV2Command({ Bucket: s3.bucket })),
      (e) => e.name === 'SignatureDoesNotMatch');
    const r = await s3.client().send(new ListObjectsV2Command({ Bucket: s3.bucket }));
    assert.equal(r.$metadata.httpStatusCode, 200);
    s3.stats.rejected = 0; // from here on every rejection is the node's
    s3.stats.rejections.length = 0;
  });

  test('upload -> store -> transcode from the store -> ready; nothing of it stays on the node', async () => {
    owner = await register(server.url);
    mediaId = await upload(owner, video);
    media = await until(owner, mediaId, (m) => m.state === 'ready', 'ready');
    assert.equal(media.playable, true);
    assert.ok(media.renditions.length >= 1);
    // the transcode worked in a temp dir that is gone, and nothing went to the data dir's media/
    assert.equal(existsSync(path.join(server.dataDir, 'media', mediaId)), false);
    const scratch = path.join(server.dataDir, 'tmp-objects', 'media');
    assert.deepEqual(existsSync(scratch) ? readdirSync(scratch).filter((d) => d === mediaId) : [], []);
    assert.equal(s3.stats.rejected, 0, s3.stats.rejections.join('\n'));
    assert.ok(s3.stats.requests.some((r) => r.startsWith('POST ') && r.includes('?uploads=')), 'the original went up as a multipart upload');
    assert.ok(s3.stats.requests.some((r) => r.includes('partNumber=1&uploadId=')));
  });

  test('the AWS SDK reads back and lists what the node wrote: keys, types, sizes', async () => {
    const objects = await listKeys(`media/${mediaId}/`);
    const keys = objects.map((o) => o.Key);
    for (const k of ['original', 'hls/master.m3u8', 'poster.jpg', 'thumb_160.jpg', 'storyboard.vtt', 'storyboard.jpg'])
      assert.ok(keys.includes(`media/${mediaId}/${k}`), `${k} in ${keys.join(' ')}`);
    for (const r of media.renditions) {
      assert.ok(keys.includes(`media/${mediaId}/hls/${r.name}/index.m3u8`));
      assert.ok(keys.some((k) => k.startsWith(`media/${mediaId}/hls/${r.name}/seg`) && k.endsWith('.ts')));
    }
    assert.ok(!keys.some((k) => k.includes('.part')), 'no half-made rendition left');
    const original = await s3.client().send(new GetObjectCommand({ Bucket: s3.bucket, Key: `media/${mediaId}/original` }));
    assert.deepEqual(Buffer.from(await original.Body.transformToByteArray()), video);
    const seg = objects.find((o) => o.Key.endsWith('.ts'));
    const head = await s3.client().send(new HeadObjectCommand({ Bucket: s3.bucket, Key: seg.Key }));
    assert.equal(head.ContentType, 'video/mp2t');
    assert.equal(head.ContentLength, seg.Size);
    const pl = await s3.client().send(new HeadObjectCommand({ Bucket: s3.bucket, Key: `media/${mediaId}/hls/master.m3u8` }));
    assert.equal(pl.ContentType, 'application/vnd.apple.mpegurl');
  });

  test('playlists in the store reference their renditions and segments relatively (they play from a CDN as they are)', async () => {
    const text = async (key) => (await (await s3.client().send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }))).Body.transformToString());
    const master = await text(`media/${mediaId}/hls/master.m3u8`);
    const uris = master.split('\n').filter((l) => l && !l.startsWith('#'));
    assert.deepEqual(uris, media.renditions.map((r) => `${r.name}/index.m3u8`));
    const index = await text(`media/${mediaId}/hls/${media.renditions[0].name}/index.m3u8`);
    assert.ok(index.split('\n').filter((l) => l && !l.startsWith('#')).every((l) => /^seg\d+\.ts$/.test(l)), index);
  });

  test('a large original goes up in several parts and reads back whole', async () => {
    const big = readFileSync(path.join(work, 'big.mp4'));
    assert.ok(big.length > 5 * 1024 * 1024, `${big.length} bytes`);
    const id = await upload(owner, big);
    const parts = s3.stats.requests.filter((r) => r.startsWith('PUT ') && r.includes(`/media/${id}/original?partNumber=`));
    assert.equal(parts.length, Math.ceil(big.length / 5242880), parts.join('\n'));
    const stored = await s3.client().send(new GetObjectCommand({ Bucket: s3.bucket, Key: `media/${id}/original` }));
    assert.deepEqual(Buffer.from(await stored.Body.transformToByteArray()), big);
    // through the node: streamed from the store through a bounded buffer, many times its size
    const auth = { Authorization: `Bearer ${owner.tokens.access_token}` };
    const whole = await fetch(`${server.url}/api/v1/media/${id}/original`, { headers: auth });
    assert.equal(whole.status, 200);
    assert.equal(Number(whole.headers.get('content-length')), big.length);
    assert.deepEqual(Buffer.from(await whole.arrayBuffer()), big);
    const mid = await fetch(`${server.url}/api/v1/media/${id}/original`, { headers: { ...auth, Range: 'bytes=3000000-6000000' } });
    assert.equal(mid.status, 206);
    assert.deepEqual(Buffer.from(await mid.arrayBuffer()), big.subarray(3000000, 6000001));
    // readers that leave mid-body free their copy threads: more reads than the pool has threads
    for (let i = 0; i < 20; i++) {
      const ctl = new AbortController();
      const r = await fetch(`${server.url}/api/v1/media/${id}/original`, { headers: auth, signal: ctl.signal });
      const reader = r.body.getReader();
      await reader.read();
      ctl.abort();
    }
    const again = await fetch(`${server.url}/api/v1/media/${id}/original`, { headers: { ...auth, Range: 'bytes=0-99' } });
    assert.equal(again.status, 206);
    assert.deepEqual(Buffer.from(await again.arrayBuffer()), big.subarray(0, 100));
    const del = await client(server.url).del(`/api/v1/media/${id}`, { token: owner.tokens.access_token });
    assert.equal(del.status, 204, del.text);
  });

  test('playlists and segments come through the node, with Range', async () => {
    const c = client(server.url);
    const master = await c.get(media.playback.master);
    assert.equal(master.status, 200, master.text);
    const variant = master.text.split('\n').find((l) => l.includes('/index.m3u8?exp='));
    const playlist = await c.get(variant);
    assert.equal(playlist.status, 200);
    const segUrl = playlist.text.split('\n').find((l) => l.includes('.ts?exp='));
    const rel = new URL(segUrl, server.url).pathname.replace(`/api/v1/media/${mediaId}/`, '');
    const stored = Buffer.from(await (await s3.client().send(new GetObjectCommand({ Bucket: s3.bucket, Key: `media/${mediaId}/${rel}` }))).Body.transformToByteArray());
    const whole = await fetch(`${server.url}${segUrl}`);
    assert.equal(whole.status, 200);
    assert.equal(whole.headers.get('content-type'), 'video/mp2t');
    assert.deepEqual(Buffer.from(await whole.arrayBuffer()), stored);
    const part = await fetch(`${server.url}${segUrl}`, { headers: { Range: 'bytes=188-1127' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 188-1127/${stored.length}`);
    assert.deepEqual(Buffer.from(await part.arrayBuffer()), stored.subarray(188, 1128));
    const tail = await fetch(`${server.url}${segUrl}`, { headers: { Range: 'bytes=-100' } });
    assert.equal(tail.status, 206);
    assert.deepEqual(Buffer.from(await tail.arrayBuffer()), stored.subarray(stored.length - 100));
    const past = await fetch(`${server.url}${segUrl}`, { headers: { Range: `bytes=${stored.length}-` } });
    assert.equal(past.status, 416);
    const poster = await fetch(`${server.url}${media.playback.poster}`);
    assert.equal(poster.status, 200);
    assert.equal(poster.headers.get('content-type'), 'image/jpeg');
    assert.ok((await poster.arrayBuffer()).byteLength > 100);
    const gone = await c.get(`/api/v1/media/${mediaId}/hls/9999p/index.m3u8`, { token: owner.tokens.access_token });
    assert.equal(gone.status, 404);
  });

  test('a store that stops answering opens the breaker: fast 503s; it recovers after', async () => {
    const seg = (await c2(media.playback.master));
    s3.setMode('hang');
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await fetch(`${server.url}${seg}`, { headers: { Range: 'bytes=0-9' } })).status);
    assert.deepEqual([...new Set(statuses)], [503], statuses.join(','));
    assert.deepEqual(await metric('streamhub_object_store_breaker_state'), ['streamhub_object_store_breaker_state 1']);
    const [rejected] = await metric('streamhub_object_store_breaker_rejected_total');
    assert.ok(Number(rejected.split(' ')[1]) > 0, 'later requests failed fast without calling the store');
    const r503 = await fetch(`${server.url}${seg}`);
    assert.equal(r503.status, 503);
    assert.equal(r503.headers.get('retry-after'), '5');
    assert.equal((await r503.json()).error.code, 'storage_unavailable');
    s3.setMode('ok');
    let status;
    for (let i = 0; i < 400 && status !== 206; i++) {
      status = (await fetch(`${server.url}${seg}`, { headers: { Range: 'bytes=0-9' } })).status;
      if (status !== 206) await sleep(50);
    }
    assert.equal(status, 206, 'after the cool-down a probe goes through and closes the breaker');
    assert.deepEqual(await metric('streamhub_object_store_breaker_state'), ['streamhub_object_store_breaker_state 0']);
  });

  test('deleting the post deletes the media objects by prefix', async () => {
    const c = client(server.url);
    const post = await c.post('/api/v1/posts', { token: owner.tokens.access_token, json: { type: 'video', media_id: mediaId, caption: 's3' } });
    assert.equal(post.status, 201, post.text);
    assert.ok((await listKeys(`media/${mediaId}/`)).length > 5);
    const other = await upload(owner, video); // a neighbour that must survive
    const del = await c.del(`/api/v1/posts/${post.json.id}`, { token: owner.tokens.access_token });
    assert.equal(del.status, 204, del.text);
    let left;
    for (let i = 0; i < 200; i++) {
      left = await listKeys(`media/${mediaId}/`);
      if (left.length === 0) break;
      await sleep(50);
    }
    assert.deepEqual(left.map((o) => o.Key), []);
    const pages = s3.stats.requests.filter((r) => r.includes('list-type=2&max-keys=3&prefix=media%2F' + mediaId));
    assert.ok(pages.some((r) => r.includes('continuation-token=')), `the node followed continuation tokens: ${pages.join('\n')}`);
    assert.ok((await listKeys(`media/${other}/`)).some((o) => o.Key === `media/${other}/original`));
    const metrics = await metric('streamhub_object_store_requests_total{backend="s3",op="delete",outcome="ok"}');
    assert.ok(Number(metrics[0].split(' ')[1]) > 0);
  });

  async function c2(masterUrl) {
    const c = client(server.url);
    const master = await c.get(masterUrl);
    const variant = master.text.split('\n').find((l) => l.includes('/index.m3u8?exp='));
    const playlist = await c.get(variant);
    return playlist.text.split('\n').find((l) => l.includes('.ts?exp='));
  }
});

describe('resume after a crash', () => {
  test('a node killed between playable and ready finishes from the store without redoing what it holds', async () => {
    const t = await startServer({ args: ['--object-store', s3.spec(), '--rate-limit', '0', '--auth-rate-limit', '0',
      '--job-lease', '5', '--job-workers', '1'], env: s3.env });
    const saved = server;
    server = t; // upload() and until() talk to `server`
    try {
      const a = await register(t.url);
      const id = await upload(a, readFileSync(path.join(work, 'remux.mp4')));
      const m = await until(a, id, (x) => x.playable || x.state === 'ready', 'playable');
      assert.equal(m.state, 'processing', JSON.stringify(m));
      const firstPut = (r) => r === `PUT /${s3.bucket}/media/${id}/hls/720p/index.m3u8`;
      assert.equal(s3.stats.requests.filter(firstPut).length, 1);
      await t.kill('SIGKILL');
      await t.restart();
      const again = (await client(t.url).get(`/api/v1/media/${id}`, { token: a.tokens.access_token })).json;
      assert.equal(again.playable, true);
      assert.equal((await client(t.url).get(again.playback.master)).status, 200);
      const done = await until(a, id, (x) => x.state === 'ready', 'ready');
      assert.deepEqual(done.renditions.map((r) => r.name), ['240p', '480p', '720p']);
      assert.equal(s3.stats.requests.filter(firstPut).length, 1, 'the first rendition is not made again');
      // the job drops its scratch copy when it returns, just after it committed "ready"
      const scratch = path.join(t.dataDir, 'tmp-objects', 'media', id);
      for (let i = 0; i < 100 && existsSync(scratch); i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal(existsSync(scratch), false, 'the scratch copy is gone');
      const keys = (await listKeys(`media/${id}/`)).map((o) => o.Key);
      assert.ok(!keys.some((k) => k.includes('.part')), keys.join(' '));
    } finally {
      server = saved;
    }
  });
});

describe('CDN mode (--media-base-url)', () => {
  test('media URLs point at the base, unsigned, and name the objects the store holds', async () => {
    const cdn = await startServer({ args: ['--object-store', s3.spec(), '--media-base-url', 'https://cdn.example.test/sh/',
      '--rate-limit', '0', '--auth-rate-limit', '0', '--job-workers', '1'], env: s3.env });
    const who = await register(cdn.url);
    const c = client(cdn.url);
    const posted = await c.post('/api/v1/media?filename=t.png', { token: who.tokens.access_token, body: tinyPng(), headers: { 'content-type': 'image/png' } });
    assert.equal(posted.status, 201, posted.text);
    let m;
    for (let i = 0; i < 600; i++) {
      m = (await c.get(`/api/v1/media/${posted.json.id}`, { token: who.tokens.access_token })).json;
      if (m.state === 'ready' || m.state === 'failed') break;
      await sleep(50);
    }
    assert.equal(m.state, 'ready', JSON.stringify(m));
    assert.equal(m.playback.image, `https://cdn.example.test/sh/media/${m.id}/image.jpg`);
    for (const url of Object.values(m.playback)) {
      assert.ok(url.startsWith('https://cdn.example.test/sh/media/') && !url.includes('sig='), url);
      const key = url.slice('https://cdn.example.test/sh/'.length);
      const head = await s3.client().send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key }));
      assert.equal(head.ContentType, 'image/jpeg');
      assert.match(head.CacheControl, /immutable/);
    }
    await cdn.stop();
  });

  test('a base URL that is not http(s) stops start-up', async () => {
    await assert.rejects(startServer({ args: ['--object-store', s3.spec(), '--media-base-url', 'ftp://cdn'], env: s3.env }), /media-base-url/);
  });
});

describe('a node with the wrong secret', () => {
  test('its uploads are refused by the verifying store and nothing is stored', async () => {
    const bad = await startServer({ args: ['--object-store', s3.spec({ retries: 0 }), '--rate-limit', '0', '--auth-rate-limit', '0', '--job-workers', '0'],
      env: { ...s3.env, AWS_SECRET_ACCESS_KEY: 'wrong-secret' } });
    const before = s3.stats.rejected;
    const who = await register(bad.url);
    const img = await fetch(`${bad.url}/api/v1/media?filename=p.jpg`, { method: 'POST', body: readFileSync(path.join(work, 'v.mp4')).subarray(0, 0),
      headers: { Authorization: `Bearer ${who.tokens.access_token}`, 'Content-Type': 'application/octet-stream' } });
    assert.ok(img.status >= 400); // an empty body: refused before the store
    const auth = { 'Tus-Resumable': '1.0.0', Authorization: `Bearer ${who.tokens.access_token}` };
    const created = await fetch(`${bad.url}/api/v1/uploads`, { method: 'POST', headers: { ...auth, 'Upload-Length': String(video.length) } });
    const loc = new URL(created.headers.get('location'), bad.url).pathname;
    const patched = await fetch(`${bad.url}${loc}`, { method: 'PATCH', body: video,
      headers: { ...auth, 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream' } });
    assert.ok(patched.status >= 500, `status ${patched.status}`);
    assert.ok(s3.stats.rejected > before, 'the proxy refused the badly signed request');
    const [, failed] = (await (await fetch(`${bad.url}/metrics`)).text()).match(/streamhub_object_store_requests_total\{backend="s3",op="put",outcome="failed"\} (\d+)/);
    assert.ok(Number(failed) > 0);
    await bad.stop();
  });
});
