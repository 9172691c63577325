// SPDX-License-Identifier: MIT
// Resumable uploads over tus 1.0.0: the real npm tus-js-client (chunked, aborted and resumed,
// resumed across a server restart) and raw-protocol requests for every status rule (412, 415,
// 409, 404, 410, 413, 460, 401, another user's upload), then the finished upload becoming media.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import tus from 'tus-js-client';
import { startServer, stopAll, serverPids, singleNodeOnly } from './lib/harness.mjs';
import { client, register, expectError } from './lib/accounts.mjs';

const work = mkdtempSync(path.join(tmpdir(), 'sh-tus-'));
let server, video;
before(async () => {
  execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-f', 'lavfi',
    '-i', 'sine=frequency=330', '-t', '3', '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-shortest', path.join(work, 'v.mp4')]);
  video = readFileSync(path.join(work, 'v.mp4'));
  server = await startServer({ args: ['--trust-proxy', '--rate-limit', '0', '--auth-rate-limit', '0', '--upload-max-size', '300000000', '--upload-expiry', '120', '--media-post-max', '200000'] });
});
after(stopAll);

/** Runs a tus-js-client upload; resolves with the Upload once it succeeds (or stops). */
function runUpload(url, who, data, opts = {}) {
  return new Promise((resolve, reject) => {
    const up = new tus.Upload(data, {
      endpoint: `${url}/api/v1/uploads`,
      headers: { Authorization: `Bearer ${who.tokens.access_token}` },
      chunkSize: 64 * 1024,
      retryDelays: [0, 200, 500],
      metadata: { filename: 'v.mp4', filetype: 'video/mp4' },
      ...opts,
      onSuccess: () => resolve(up),
      onError: reject,
      onProgress: (sent, total) => opts.onProgressHook && opts.onProgressHook(up, sent, total, resolve),
    });
    up.start();
  });
}

const head = (url, who, loc) => fetch(`${url}${new URL(loc, url).pathname}`, {
  method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0', Authorization: `Bearer ${who.tokens.access_token}` } });

async function mediaOf(url, who, loc) {
  const h = await head(url, who, loc);
  assert.equal(h.status, 200);
  assert.equal(Number(h.headers.get('upload-offset')), video.length);
  const id = h.headers.get('upload-media-id');
  assert.ok(id, 'a finished upload names its media');
  const m = await client(url).get(`/api/v1/media/${id}`, { token: who.tokens.access_token });
  assert.equal(m.status, 200);
  return m.json;
}

describe('tus-js-client', () => {
  test('a chunked upload becomes media', async () => {
    const a = await register(server.url);
    const up = await runUpload(server.url, a, video);
    const m = await mediaOf(server.url, a, up.url);
    assert.equal(m.filename, 'v.mp4');
    assert.equal(m.size, video.length);
    assert.equal(m.mime, 'video/mp4');
  });

  test('an aborted upload resumes where it stopped', async () => {
    const a = await register(server.url);
    let aborted = false;
    const first = await runUpload(server.url, a, video, {
      onProgressHook: (up, sent, total, resolve) => {
        if (!aborted && sent > total / 3) { aborted = true; up.abort().then(() => resolve(up)); }
      },
    });
    const h = await head(server.url, a, first.url);
    const offset = Number(h.headers.get('upload-offset'));
    assert.ok(offset > 0 && offset < video.length, `stopped part way: ${offset}`);
    const second = await runUpload(server.url, a, video, { uploadUrl: first.url });
    assert.equal(second.url, first.url);
    const m = await mediaOf(server.url, a, first.url);
    assert.equal(m.size, video.length);
    const stored = readFileSync(path.join(server.dataDir, 'media', m.id, 'original'));
    assert.equal(createHash('sha256').update(stored).digest('hex'), createHash('sha256').update(video).digest('hex'));
  });

  test('an upload interrupted by a server restart resumes', async () => {
    const t = await startServer({ args: ['--rate-limit', '0', '--auth-rate-limit', '0'] });
    const a = await register(t.url);
    let stopped = false;
    const first = await runUpload(t.url, a, video, {
      onProgressHook: (up, sent, total, resolve) => {
        if (!stopped && sent > total / 2) { stopped = true; up.abort().then(() => resolve(up)); }
      },
    });
    await t.restart();
    // the restarted server listens on a new port; the upload's path is what persists
    const second = await runUpload(t.url, a, video, { uploadUrl: `${t.url}${new URL(first.url).pathname}` });
    const h = await head(t.url, a, second.url);
    assert.equal(Number(h.headers.get('upload-offset')), video.length);
    assert.ok(h.headers.get('upload-media-id'));
  });
});

describe('tus protocol', () => {
  const tusReq = (method, p, { token, headers = {}, body } = {}) => fetch(`${server.url}${p}`, {
    method, body, headers: { 'Tus-Resumable': '1.0.0', ...(token ? { Authorization: `Bearer ${token}` } : {}), ...headers } });
  const create = async (token, length, extra = {}) => {
    const r = await tusReq('POST', '/api/v1/uploads', { token, headers: { 'Upload-Length': String(length), ...extra } });
    assert.equal(r.status, 201, await r.text());
    assert.equal(r.headers.get('tus-resumable'), '1.0.0');
    return r.headers.get('location');
  };
  const patch = (token, loc, offset, body, headers = {}) => tusReq('PATCH', loc, { token, body,
    headers: { 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': String(offset), ...headers } });

  test('OPTIONS advertises the server; other versions get 412', async () => {
    const o = await fetch(`${server.url}/api/v1/uploads`, { method: 'OPTIONS' });
    assert.equal(o.status, 204);
    assert.equal(o.headers.get('tus-version'), '1.0.0');
    assert.equal(o.headers.get('tus-max-size'), '300000000');
    assert.equal(o.headers.get('tus-checksum-algorithm'), 'sha1,sha256');
    for (const ext of ['creation', 'creation-with-upload', 'creation-defer-length', 'termination', 'checksum', 'expiration'])
      assert.ok(o.headers.get('tus-extension').split(',').includes(ext), ext);
    const a = await register(server.url);
    const r = await fetch(`${server.url}/api/v1/uploads`, { method: 'POST', headers: { 'Tus-Resumable': '0.2.2', 'Upload-Length': '5', Authorization: `Bearer ${a.tokens.access_token}` } });
    assert.equal(r.status, 412);
    assert.equal(r.headers.get('tus-version'), '1.0.0');
  });

  test('every status rule', async () => {
    const a = await register(server.url);
    const b = await register(server.url);
    const ta = a.tokens.access_token;
    const data = Buffer.from('0123456789abcdefghij');
    const loc = await create(ta, data.length, { 'Upload-Metadata': `filename ${Buffer.from('note.txt').toString('base64')},flag` });
    let h = await tusReq('HEAD', loc, { token: ta });
    assert.equal(h.status, 200);
    assert.equal(h.headers.get('upload-offset'), '0');
    assert.equal(h.headers.get('upload-length'), '20');
    assert.equal(h.headers.get('cache-control'), 'no-store');
    assert.ok(h.headers.get('upload-metadata').startsWith('filename '));
    assert.equal((await patch(ta, loc, 0, data.subarray(0, 5), { 'Content-Type': 'application/octet-stream' })).status, 415);
    assert.equal((await patch(ta, loc, 3, data.subarray(0, 5))).status, 409);
    assert.equal((await patch(ta, loc, 'x', data.subarray(0, 5))).status, 400);
    // A wrong checksum keeps the offset; a right one (sha1 or sha256) is accepted.
    const bad = await patch(ta, loc, 0, data.subarray(0, 5), { 'Upload-Checksum': `sha1 ${createHash('sha1').update('nope').digest('base64')}` });
    assert.equal(bad.status, 460);
    assert.equal((await tusReq('HEAD', loc, { token: ta })).headers.get('upload-offset'), '0');
    assert.equal((await patch(ta, loc, 0, data.subarray(0, 5), { 'Upload-Checksum': 'md5 AAAA' })).status, 400);
    let ok = await patch(ta, loc, 0, data.subarray(0, 5), { 'Upload-Checksum': `sha1 ${createHash('sha1').update(data.subarray(0, 5)).digest('base64')}` });
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get('upload-offset'), '5');
    assert.ok(ok.headers.get('upload-expires'));
    // X-HTTP-Method-Override: a POST that means PATCH.
    ok = await tusReq('POST', loc, { token: ta, body: data.subarray(5, 10), headers: { 'X-HTTP-Method-Override': 'PATCH', 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': '5',
      'Upload-Checksum': `sha256 ${createHash('sha256').update(data.subarray(5, 10)).digest('base64')}` } });
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get('upload-offset'), '10');
    // Past the declared length: 413; someone else's upload or none: 404; no token: 401.
    assert.equal((await patch(ta, loc, 10, Buffer.alloc(11))).status, 413);
    assert.equal((await patch(b.tokens.access_token, loc, 10, data.subarray(10))).status, 404);
    assert.equal((await tusReq('HEAD', loc, { token: b.tokens.access_token })).status, 404);
    assert.equal((await patch(undefined, loc, 10, data.subarray(10))).status, 401);
    assert.equal((await patch(ta, '/api/v1/uploads/123456', 0, data)).status, 404);
    assert.equal((await tusReq('HEAD', loc, { token: ta })).headers.get('upload-offset'), '10', 'nothing changed');
    // Termination.
    assert.equal((await tusReq('DELETE', loc, { token: ta })).status, 204);
    assert.equal((await tusReq('HEAD', loc, { token: ta })).status, 404);
    assert.equal((await patch(ta, loc, 10, data.subarray(10))).status, 404);
    // Over the size limit at creation: 413, by header or by body.
    const big = await tusReq('POST', '/api/v1/uploads', { token: ta, headers: { 'Upload-Length': '300000001' } });
    assert.equal(big.status, 413);
    for (const l of ['-1', 'abc', ''])
      assert.equal((await tusReq('POST', '/api/v1/uploads', { token: ta, headers: { 'Upload-Length': l } })).status, 400, l);
    assert.equal((await tusReq('POST', '/api/v1/uploads', { token: ta })).status, 400, 'a length or a deferral is required');
    assert.equal((await tusReq('POST', '/api/v1/uploads', { token: ta, headers: { 'Upload-Length': '3', 'Upload-Metadata': 'filename !!notbase64' } })).status, 400);
  });

  test('creation-with-upload, deferred length, completion and expiry', async () => {
    const a = await register(server.url);
    const ta = a.tokens.access_token;
    // The whole video in the creation request: 201 with the final offset, and it becomes media.
    const r = await tusReq('POST', '/api/v1/uploads', { token: ta, body: video, headers: { 'Upload-Length': String(video.length), 'Content-Type': 'application/offset+octet-stream' } });
    assert.equal(r.status, 201, await r.text());
    assert.equal(Number(r.headers.get('upload-offset')), video.length);
    const mediaId = r.headers.get('upload-media-id');
    assert.ok(mediaId);
    // A finished upload takes no more bytes.
    assert.equal((await patch(ta, r.headers.get('location'), video.length, Buffer.alloc(1))).status, 410);
    // Deferred length: the size comes with a later PATCH.
    const d = await tusReq('POST', '/api/v1/uploads', { token: ta, headers: { 'Upload-Defer-Length': '1' } });
    assert.equal(d.status, 201);
    const dl = d.headers.get('location');
    assert.equal((await tusReq('HEAD', dl, { token: ta })).headers.get('upload-defer-length'), '1');
    assert.equal((await patch(ta, dl, 0, video.subarray(0, 1000))).status, 204);
    const fin = await patch(ta, dl, 1000, video.subarray(1000), { 'Upload-Length': String(video.length) });
    assert.equal(fin.status, 204);
    assert.ok(fin.headers.get('upload-media-id'));
    // A file that is not media is refused when it completes.
    const junk = await tusReq('POST', '/api/v1/uploads', { token: ta, body: Buffer.from('just some text, not a video'), headers: { 'Upload-Length': '27', 'Content-Type': 'application/offset+octet-stream' } });
    assert.equal(junk.status, 422);
    // Unfinished uploads expire (--upload-expiry 2, a server of its own so that slow machines
    // do not expire the other tests' uploads): 410, then gone.
    const t = await startServer({ args: ['--rate-limit', '0', '--auth-rate-limit', '0', '--upload-expiry', '2'] });
    const at = (await register(t.url)).tokens.access_token;
    const tus = { 'Tus-Resumable': '1.0.0', Authorization: `Bearer ${at}` };
    const c = await fetch(`${t.url}/api/v1/uploads`, { method: 'POST', headers: { ...tus, 'Upload-Length': '100' } });
    assert.equal(c.status, 201);
    const e = new URL(c.headers.get('location'), t.url).href;
    await sleep(2300);
    const late = await fetch(e, { method: 'PATCH', body: Buffer.alloc(10), headers: { ...tus,
      'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': '0' } });
    assert.equal(late.status, 410);
    assert.equal((await fetch(e, { method: 'HEAD', headers: tus })).status, 410);
  });
});

describe('large uploads and direct images', () => {
  test('200 MB in 50 MB PATCHes: the server\'s memory does not grow with the upload', async () => {
    const a = await register(server.url);
    const ta = a.tokens.access_token;
    const size = 200 * 1024 * 1024, chunk = 50 * 1024 * 1024;
    const r = await fetch(`${server.url}/api/v1/uploads`, { method: 'POST', headers: { 'Tus-Resumable': '1.0.0', Authorization: `Bearer ${ta}`, 'Upload-Length': String(size) } });
    assert.equal(r.status, 201);
    const loc = r.headers.get('location');
    // every node's, summed: behind the load balancer any of them may take a PATCH
    const rss = () => serverPids(server).reduce((sum, pid) =>
      sum + Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]) * 1024, 0);
    const before = rss();
    let peak = before;
    const body = Buffer.alloc(chunk, 7);
    for (let off = 0; off < size; off += chunk) {
      const watch = setInterval(() => { peak = Math.max(peak, rss()); }, 20);
      const p = await fetch(`${server.url}${loc}`, { method: 'PATCH', body, headers: { 'Tus-Resumable': '1.0.0', Authorization: `Bearer ${ta}`,
        'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': String(off) } });
      clearInterval(watch);
      // the last chunk completes the upload, which is then refused as not media
      assert.equal(p.status, off + chunk < size ? 204 : 422, await p.text());
    }
    const grew = (peak - before) / 1024 / 1024;
    assert.ok(grew < 32, `RSS grew by ${grew.toFixed(1)} MiB during a 200 MB upload`);
  });

  test('images are turned upright and stripped of EXIF and GPS', async () => {
    const a = await register(server.url);
    const c = client(server.url);
    // A 320x240 JPEG that says "rotate 90 degrees" (orientation 6) and where it was taken.
    execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240', '-frames:v', '1', path.join(work, 'plain.jpg')]);
    const jpeg = readFileSync(path.join(work, 'plain.jpg'));
    const exif = exifWithOrientationAndGps(6);
    const photo = Buffer.concat([jpeg.subarray(0, 2), exif, jpeg.subarray(2)]);
    const r = await fetch(`${server.url}/api/v1/media?filename=p.jpg`, { method: 'POST', body: photo, headers: { Authorization: `Bearer ${a.tokens.access_token}` } });
    assert.equal(r.status, 201, await r.clone().text());
    const id = (await r.json()).id;
    let m;
    for (let i = 0; i < 300; i++) { // up to 30 s: libvips shares the cores with the other suites
      m = (await c.get(`/api/v1/media/${id}`, { token: a.tokens.access_token })).json;
      if (m.state !== 'uploaded' && m.state !== 'processing') break;
      await sleep(100);
    }
    assert.equal(m.state, 'ready', JSON.stringify(m));
    assert.deepEqual([m.probe.display_width, m.probe.display_height], [240, 320], 'upright');
    const shown = Buffer.from(await (await fetch(`${server.url}${m.playback.image}`)).arrayBuffer());
    assert.ok(!shown.includes(Buffer.from('Exif')), 'no EXIF block');
    assert.ok(!shown.includes(Buffer.from('GPS-PLACE')), 'no GPS data');
    const dims = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', '-'], { input: shown, encoding: 'utf8' }).trim();
    assert.equal(dims, '240,320');
    const thumb = Buffer.from(await (await fetch(`${server.url}${m.playback.thumbnail_160}`)).arrayBuffer());
    const tdims = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', '-'], { input: thumb, encoding: 'utf8' }).trim();
    assert.equal(tdims, '160,213');
  });

  test('POST /api/v1/media takes an image as a raw body', async () => {
    const a = await register(server.url);
    const c = client(server.url);
    execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240', '-frames:v', '1', path.join(work, 'i.jpg')]);
    const img = readFileSync(path.join(work, 'i.jpg'));
    const post = (body, token = a.tokens.access_token, q = '?filename=photo.jpg') => fetch(`${server.url}/api/v1/media${q}`, { method: 'POST', body, headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), 'Content-Type': 'image/jpeg' } });
    let r = await post(img);
    assert.equal(r.status, 201, await r.clone().text());
    const m = await r.json();
    assert.deepEqual([m.kind, m.mime, m.filename, m.size], ['image', 'image/jpeg', 'photo.jpg', img.length]);
    let got;
    for (let i = 0; i < 300; i++) { // up to 30 s, as above
      got = (await c.get(`/api/v1/media/${m.id}`, { token: a.tokens.access_token })).json;
      if (got.state === 'ready') break;
      await sleep(100);
    }
    assert.equal(got.state, 'ready');
    assert.equal(got.probe.width, 320);
    const p = await c.post('/api/v1/posts', { token: a.tokens.access_token, json: { type: 'image', media_id: m.id } });
    assert.equal(p.status, 201, p.text);
    r = await post(video);
    assert.equal(r.status, 413, 'over --media-post-max');
    r = await post(video.subarray(0, 150000));
    assert.equal(r.status, 422);
    assert.equal((await r.json()).error.details.reason, 'use_resumable_upload');
    r = await post(Buffer.alloc(0));
    assert.equal(r.status, 422);
    r = await post(img, null);
    assert.equal(r.status, 401);
  });
});

/** An APP1 EXIF segment with an orientation and a GPS IFD (latitude ref "N" and a marker text
 * "GPS-PLACE" as the map datum), built by hand: little-endian TIFF, IFD0 with two entries. */
function exifWithOrientationAndGps(orientation) {
  const tiff = Buffer.alloc(64);
  tiff.write('II', 0, 'ascii');
  tiff.writeUInt16LE(42, 2);
  tiff.writeUInt32LE(8, 4); // IFD0 at 8
  tiff.writeUInt16LE(2, 8); // two entries
  tiff.writeUInt16LE(0x0112, 10); tiff.writeUInt16LE(3, 12); tiff.writeUInt32LE(1, 14); tiff.writeUInt16LE(orientation, 18);
  tiff.writeUInt16LE(0x8825, 22); tiff.writeUInt16LE(4, 24); tiff.writeUInt32LE(1, 26); tiff.writeUInt32LE(38, 30);
  tiff.writeUInt32LE(0, 34); // no next IFD
  tiff.writeUInt16LE(1, 38); // GPS IFD: one entry
  tiff.writeUInt16LE(0x0012, 40); tiff.writeUInt16LE(2, 42); tiff.writeUInt32LE(10, 44); tiff.writeUInt32LE(54, 48); // GPSMapDatum at 54
  tiff.writeUInt32LE(0, 52);
  tiff.write('GPS-PLACE\0', 54, 'ascii');
  const body = Buffer.concat([Buffer.from('Exif\0\0', 'binary'), tiff]);
  const head = Buffer.from([0xff, 0xe1, 0, 0]);
  head.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([head, body]);
}

describe('refusing before reading', () => {
  test('a body without a valid token or the right version is refused before it is read', async () => {
    const { connect } = await import('node:net');
    const u = new URL(server.url);
    const ask = (headers) => new Promise((resolve, reject) => {
      const sock = connect(Number(u.port), u.hostname, () => {
        // headers promising 100 MB, and not one byte of body
        sock.write(`PATCH /api/v1/uploads/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 104857600\r\nContent-Type: application/offset+octet-stream\r\n${headers}\r\n`);
      });
      let got = '';
      sock.on('data', (d) => { got += d; });
      sock.on('end', () => resolve(got));
      sock.on('error', reject);
      setTimeout(() => { sock.destroy(); resolve(got); }, 3000);
    });
    let r = await ask('Tus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n');
    assert.match(r, /^HTTP\/1\.1 401/, r);
    assert.match(r, /Tus-Resumable: 1\.0\.0/i);
    r = await ask('Tus-Resumable: 1.0.0\r\nAuthorization: Bearer not.a.token\r\n');
    assert.match(r, /^HTTP\/1\.1 401/, r);
    r = await ask('Tus-Resumable: 0.9\r\n');
    assert.match(r, /^HTTP\/1\.1 412/, r);
    const a = await register(server.url);
    const img = await new Promise((resolve) => {
      const sock = connect(Number(u.port), u.hostname, () => sock.write(`POST /api/v1/media HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\nAuthorization: Bearer ${a.tokens.access_token}\r\n\r\n`));
      let got = '';
      sock.on('data', (d) => { got += d; });
      sock.on('end', () => resolve(got));
      setTimeout(() => { sock.destroy(); resolve(got); }, 3000);
    });
    assert.match(img, /^HTTP\/1\.1 413/, img);
  });
});

describe('interrupted PATCH', () => {
  // Headers and the first part of a body, then the connection is destroyed (what a dropped
  // mobile connection looks like to the server).
  const cutPatch = async (token, loc, offset, total, part, extra = '') => {
    const { connect } = await import('node:net');
    const u = new URL(server.url);
    await new Promise((resolve, reject) => {
      const sock = connect(Number(u.port), u.hostname, () => {
        sock.write(`PATCH ${new URL(loc, server.url).pathname} HTTP/1.1\r\nHost: x\r\nTus-Resumable: 1.0.0\r\n` +
          `Authorization: Bearer ${token}\r\nContent-Type: application/offset+octet-stream\r\n` +
          `Upload-Offset: ${offset}\r\nContent-Length: ${total}\r\n${extra}\r\n`);
        // The connection drops a moment after its last bytes, as a real one does: bytes that a
        // busy server (ASan, other suites) has not read from the socket yet when it sees the
        // close are not the body that "arrived", and libmicrohttpd discards them.
        sock.write(part, () => setTimeout(() => { sock.destroy(); resolve(); }, 300));
      });
      sock.on('error', reject);
    });
  };
  const offsetOf = async (token, loc) => {
    const h = await fetch(`${server.url}${new URL(loc, server.url).pathname}`, { method: 'HEAD',
      headers: { 'Tus-Resumable': '1.0.0', Authorization: `Bearer ${token}` } });
    assert.equal(h.status, 200);
    return Number(h.headers.get('upload-offset'));
  };
  // The kept prefix is saved after the connection is gone, so HEAD is asked until it shows.
  const waitOffset = async (token, loc, want) => {
    let got;
    for (let i = 0; i < 200 && (got = await offsetOf(token, loc)) !== want; i++) await sleep(25);
    return got;
  };
  const createUpload = async (token, length) => {
    const r = await fetch(`${server.url}/api/v1/uploads`, { method: 'POST',
      headers: { 'Tus-Resumable': '1.0.0', Authorization: `Bearer ${token}`, 'Upload-Length': String(length),
        'Upload-Metadata': `filename ${Buffer.from('v.mp4').toString('base64')}` } });
    assert.equal(r.status, 201);
    return r.headers.get('location');
  };

  test('the bytes that arrived are kept, and a resume completes the file exactly', async () => {
    const a = await register(server.url);
    const ta = a.tokens.access_token;
    const loc = await createUpload(ta, video.length);
    const half = Math.floor(video.length / 2);
    await cutPatch(ta, loc, 0, video.length, video.subarray(0, half));
    assert.equal(await waitOffset(ta, loc, half), half, 'HEAD shows the kept prefix');
    // tus-js-client resumes from there (HEAD, then one PATCH of the rest)
    const sent = [];
    const up = await runUpload(server.url, a, video, { uploadUrl: new URL(loc, server.url).href, chunkSize: Infinity,
      onBeforeRequest: (req) => { if (req.getMethod() === 'PATCH') sent.push(Number(req.getHeader('Upload-Offset'))); } });
    assert.deepEqual(sent, [half], 'the resume starts at the kept offset');
    const m = await mediaOf(server.url, a, up.url);
    const orig = await fetch(`${server.url}/api/v1/media/${m.id}/original`, { headers: { Authorization: `Bearer ${ta}` } });
    assert.equal(orig.status, 200);
    const got = Buffer.from(await orig.arrayBuffer());
    assert.equal(createHash('sha256').update(got).digest('hex'), createHash('sha256').update(video).digest('hex'));
  });

  test('a cut body with Upload-Checksum cannot be verified and is discarded', async () => {
    const a = await register(server.url);
    const ta = a.tokens.access_token;
    const loc = await createUpload(ta, 1000);
    const body = Buffer.alloc(1000, 7);
    const sum = `Upload-Checksum: sha1 ${createHash('sha1').update(body).digest('base64')}\r\n`;
    await cutPatch(ta, loc, 0, 1000, body.subarray(0, 400), sum);
    // then a cut body without one at the same offset: once it shows, the first was handled too
    // (one PATCH at a time per upload: whichever ran first, only the unchecked prefix counts)
    await cutPatch(ta, loc, 0, 1000, body.subarray(0, 300));
    assert.equal(await waitOffset(ta, loc, 300), 300);
  });

  test('someone else\'s cut PATCH keeps nothing', async () => {
    const a = await register(server.url);
    const b = await register(server.url);
    const loc = await createUpload(a.tokens.access_token, 1000);
    await cutPatch(b.tokens.access_token, loc, 0, 1000, Buffer.alloc(500, 1));
    await cutPatch(a.tokens.access_token, loc, 0, 1000, Buffer.alloc(100, 2));
    assert.equal(await waitOffset(a.tokens.access_token, loc, 100), 100);
  });
});

describe('trailing slash', () => {
  test('OPTIONS and POST on /api/v1/uploads/ work as without the slash', async () => {
    const o = await fetch(`${server.url}/api/v1/uploads/`, { method: 'OPTIONS', headers: { 'Tus-Resumable': '1.0.0' } });
    assert.equal(o.status, 204);
    assert.equal(o.headers.get('tus-version'), '1.0.0');
    assert.ok(!o.headers.get('tus-extension').split(',').includes('concatenation'), 'not offered (docs/media.md)');
    const a = await register(server.url);
    const up = await runUpload(server.url, a, video, { endpoint: `${server.url}/api/v1/uploads/` });
    const m = await mediaOf(server.url, a, up.url);
    assert.equal(m.size, video.length);
    const r = await fetch(`${server.url}/api/v1/uploads/`, { method: 'POST', headers: { 'Tus-Resumable': '1.0.0', 'Upload-Length': '5' } });
    assert.equal(r.status, 401);
  });
});

describe('quota', () => {
  test('unfinished uploads count against the per-user quota', async () => {
    const t = await startServer({ args: ['--upload-quota', '1000'] });
    const a = await register(t.url);
    const b = await register(t.url);
    const create = (who, n) => fetch(`${t.url}/api/v1/uploads`, { method: 'POST', headers: { 'Tus-Resumable': '1.0.0', Authorization: `Bearer ${who.tokens.access_token}`, 'Upload-Length': String(n) } });
    assert.equal((await create(a, 800)).status, 201);
    const over = await create(a, 300);
    assert.equal(over.status, 413);
    assert.equal((await over.json()).error.code, 'quota_exceeded');
    assert.equal((await create(b, 800)).status, 201, 'per user');
  });
});

describe('expiry', () => {
  test('abandoned uploads and their bytes are removed by housekeeping', async () => {
    const t = await startServer({ args: ['--upload-expiry', '1', '--maintenance-interval', '1'] });
    const a = await register(t.url);
    const r = await fetch(`${t.url}/api/v1/uploads`, { method: 'POST', headers: { 'Tus-Resumable': '1.0.0', Authorization: `Bearer ${a.tokens.access_token}`, 'Upload-Length': '100' } });
    const id = r.headers.get('location').split('/').pop();
    await fetch(`${t.url}/api/v1/uploads/${id}`, { method: 'PATCH', body: Buffer.alloc(10), headers: { 'Tus-Resumable': '1.0.0', Authorization: `Bearer ${a.tokens.access_token}`,
      'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': '0' } });
    const part = path.join(t.dataDir, 'uploads', `${id}.part`);
    assert.ok(existsSync(part));
    for (let i = 0; i < 60 && existsSync(part); i++) await sleep(100);
    assert.ok(!existsSync(part), 'the bytes are gone');
    const h = await fetch(`${t.url}/api/v1/uploads/${id}`, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0', Authorization: `Bearer ${a.tokens.access_token}` } });
    assert.equal(h.status, 404, 'and so is the upload');
  });
});
