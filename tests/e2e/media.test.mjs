// SPDX-License-Identifier: MIT
// Media processing end to end with the real ffmpeg: files generated here from lavfi sources are
// imported as a user's media (`streamhub admin import-media`), the server's job workers probe
// and transcode them to an HLS ladder, and GET /api/v1/media/:id shows the states; a server
// killed (SIGKILL) mid-transcode comes back and the job is taken again and finishes.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { startServer, stopAll } from './lib/harness.mjs';
import { client, register, expectError, BIN } from './lib/accounts.mjs';

const work = mkdtempSync(path.join(tmpdir(), 'sh-media-'));
const ffmpeg = (...args) => execFileSync('ffmpeg', ['-loglevel', 'error', '-y', ...args]);
let server;
before(async () => {
  ffmpeg('-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440',
    '-t', '4', '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-shortest', path.join(work, 'clip.mp4'));
  ffmpeg('-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-t', '40', '-c:v', 'libx264', '-preset', 'ultrafast',
    path.join(work, 'long.mp4'));
  ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=360x640:rate=30', '-t', '3', '-c:v', 'libx264', '-preset', 'ultrafast',
    path.join(work, 'portrait.mp4'));
  ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=640x360:rate=30', '-t', '2', '-c:v', 'libx264', '-preset', 'ultrafast',
    path.join(work, 'flat.mp4'));
  // a phone video: stored landscape with a display matrix that turns it upright
  ffmpeg('-i', path.join(work, 'flat.mp4'), '-c', 'copy', '-metadata:s:v:0', 'rotate=90', path.join(work, 'rotated.mp4'));
  ffmpeg('-f', 'lavfi', '-i', 'sine=frequency=300', '-t', '2', path.join(work, 'tone.mp3'));
  ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=64x48', '-frames:v', '1', path.join(work, 'tiny.jpg'));
  // An mp4 whose header is fine but whose data is cut off: sniffed as video, unreadable.
  const clip = readFileSync(path.join(work, 'clip.mp4'));
  writeFileSync(path.join(work, 'broken.mp4'), clip.subarray(0, 2000));
  writeFileSync(path.join(work, 'noise.bin'), Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 251)));
  server = await startServer({ args: ['--trust-proxy', '--rate-limit', '0', '--auth-rate-limit', '0', '--job-lease', '5', '--job-workers', '1', '--media-max-duration', '30'] });
});
after(stopAll);

function importMedia(owner, file) {
  const args = ['admin', 'import-media', '--owner', owner.creds.handle, '--file', path.join(work, file), '--data-dir', server.dataDir];
  if (server.database) args.push('--database', server.database);
  return spawnSync(BIN, args, { encoding: 'utf8' });
}

function imported(owner, file) {
  const r = importMedia(owner, file);
  assert.equal(r.status, 0, r.stderr);
  const m = r.stdout.match(/imported media (\d+) \(([^)]+)\)/);
  assert.ok(m, r.stdout);
  return { id: m[1], mime: m[2] };
}

async function waitFor(owner, id, states, seconds = 90) {
  let last;
  for (let i = 0; i < seconds * 10; i++) {
    last = await client(server.url).get(`/api/v1/media/${id}`, { token: owner.tokens.access_token });
    assert.equal(last.status, 200, last.text);
    if (states.includes(last.json.state)) return last.json;
    await sleep(100);
  }
  throw new Error(`media ${id} stayed ${last.json.state}`);
}

/** Plays the media back the way an HLS client does: signed URLs only, no headers. */
async function checkPlayback(owner, m) {
  const c = client(server.url);
  const pb = m.playback;
  assert.ok(pb && pb.master.includes('?exp='), JSON.stringify(pb));
  const master = await c.get(pb.master);
  assert.equal(master.status, 200, master.text);
  assert.equal(master.headers.get('content-type'), 'application/vnd.apple.mpegurl');
  assert.match(master.text, /RESOLUTION=1280x720/);
  const variant = master.text.split('\n').find((l) => l.startsWith('/api/v1/media/') && l.includes('480p/index.m3u8'));
  assert.ok(variant, master.text);
  const v = await c.get(variant);
  assert.equal(v.status, 200);
  const seg = v.text.split('\n').find((l) => l.includes('seg000.ts?exp='));
  assert.ok(seg, v.text);
  const full = await c.get(seg);
  assert.equal(full.status, 200);
  assert.equal(full.headers.get('content-type'), 'video/mp2t');
  assert.equal(full.headers.get('accept-ranges'), 'bytes');
  assert.match(full.headers.get('cache-control'), /immutable/);
  const etag = full.headers.get('etag');
  assert.ok(etag && full.headers.get('last-modified'));
  const size = Number(full.headers.get('content-length'));
  assert.ok(size > 1000);
  let r = await c.get(seg, { headers: { Range: 'bytes=0-99' } });
  assert.equal(r.status, 206);
  assert.equal(r.headers.get('content-range'), `bytes 0-99/${size}`);
  assert.equal(Number(r.headers.get('content-length')), 100);
  r = await c.get(seg, { headers: { Range: 'bytes=-10' } });
  assert.equal(r.status, 206);
  assert.equal(r.headers.get('content-range'), `bytes ${size - 10}-${size - 1}/${size}`);
  r = await c.get(seg, { headers: { Range: `bytes=${size}-` } });
  assert.equal(r.status, 416);
  assert.equal(r.headers.get('content-range'), `bytes */${size}`);
  assert.equal((await c.get(seg, { headers: { 'If-None-Match': etag } })).status, 304);
  // Tampered or missing signatures.
  expectError(await c.get(seg.replace(/sig=([0-9a-f])/, (x, d) => `sig=${d === '0' ? '1' : '0'}`)), 403, 'bad_signature');
  expectError(await c.get(seg.replace(/exp=(\d+)/, (x, n) => `exp=${Number(n) + 1}`)), 403, 'bad_signature');
  expectError(await c.get(seg.replace('seg000.ts', 'seg001.ts')), 403, 'bad_signature');
  expectError(await c.get(seg.split('?')[0]), 401, 'unauthenticated');
  assert.equal((await c.get(seg.split('?')[0], { token: owner.tokens.access_token })).status, 200, 'the owner needs no signature');
  const base = `/api/v1/media/${m.id}`;
  for (const p of [`${base}/hls/../../jwt.secret`, `${base}/hls/480p/..%2f..%2foriginal`, `${base}/hls/abc/seg000.ts`, `${base}/secret.txt`, `${base}/hls/480p/seg000.mp4`])
    assert.equal((await c.get(p, { token: owner.tokens.access_token })).status, 404, p);
  // The original (which may carry metadata) is its owner's only: no signed URL opens it.
  expectError(await c.get(pb.poster.replace('poster.jpg', 'original')), 403, 'owner_only');
  assert.equal((await c.get(`${base}/original`, { token: owner.tokens.access_token })).status, 200);
  const poster = await c.get(pb.poster);
  assert.equal(poster.status, 200);
  assert.equal(poster.headers.get('content-type'), 'image/jpeg');
  // storyboard_vtt and storyboard_image name both files; storyboard is the deprecated alias
  assert.equal(pb.storyboard.split('?')[0], pb.storyboard_vtt.split('?')[0]);
  assert.match(pb.storyboard_vtt.split('?')[0], /storyboard\.vtt$/);
  assert.match(pb.storyboard_image.split('?')[0], /storyboard\.jpg$/);
  assert.equal((await c.get(pb.storyboard_image)).headers.get('content-type'), 'image/jpeg');
  const vtt = await c.get(pb.storyboard_vtt);
  assert.match(vtt.text, /^WEBVTT/);
  const sprite = vtt.text.split('\n').find((l) => l.includes('storyboard.jpg?exp='));
  assert.match(sprite, /#xywh=0,0,160,90$/);
  assert.equal((await c.get(sprite.split('#')[0])).headers.get('content-type'), 'image/jpeg');
  // ffprobe, a real HLS client, reads every rendition through the signed URLs.
  const probed = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=height', '-of', 'csv=p=0', `${server.url}${pb.master}`], { encoding: 'utf8' });
  for (const h of ['240', '480', '720']) assert.ok(probed.split('\n').includes(h), probed);
}

describe('media processing', () => {
  test('a video is probed and transcoded to an HLS ladder with images', async () => {
    const a = await register(server.url);
    const { id, mime } = imported(a, 'clip.mp4');
    assert.equal(mime, 'video/mp4');
    const m = await waitFor(a, id, ['ready', 'failed']);
    assert.equal(m.state, 'ready', JSON.stringify(m));
    assert.equal(m.progress, 100);
    assert.equal(m.kind, 'video');
    assert.equal(m.filename, 'clip.mp4');
    assert.equal(m.probe.display_width, 1280);
    assert.equal(m.probe.has_audio, true);
    assert.ok(Math.abs(m.probe.duration_s - 4) < 0.2);
    assert.deepEqual(m.renditions.map((r) => [r.name, r.width, r.height]), [['240p', 426, 240], ['480p', 854, 480], ['720p', 1280, 720]]);
    const dir = path.join(server.dataDir, 'media', id);
    for (const f of ['original', 'hls/master.m3u8', 'hls/240p/index.m3u8', 'hls/720p/seg000.ts', 'poster.jpg', 'thumb_160.jpg', 'storyboard.jpg', 'storyboard.vtt'])
      assert.ok(existsSync(path.join(dir, f)), f);
    const probe = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=height,codec_name', '-of', 'csv=p=0',
      path.join(dir, 'hls/480p/index.m3u8')], { encoding: 'utf8' });
    assert.match(probe, /h264,480/);
    await checkPlayback(a, m);
    // Only the owner sees it.
    const b = await register(server.url);
    expectError(await client(server.url).get(`/api/v1/media/${id}`, { token: b.tokens.access_token }), 404, 'media_not_found');
    expectError(await client(server.url).get(`/api/v1/media/${id}`), 401, 'unauthenticated');
    expectError(await client(server.url).get('/api/v1/media/abc', { token: a.tokens.access_token }), 404, 'media_not_found');
    expectError(await client(server.url).get('/api/v1/media/123', { token: a.tokens.access_token }), 404, 'media_not_found');
  });

  test('a video post shows to others once its media is ready, with signed playback URLs', async () => {
    const a = await register(server.url);
    const b = await register(server.url);
    const c = client(server.url);
    const { id } = imported(a, 'clip.mp4');
    const r = await c.post('/api/v1/posts', { token: a.tokens.access_token, json: { type: 'video', media_id: id, caption: 'my clip #firstclip' } });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.media.id, id);
    const pid = r.json.id;
    const early = await c.get(`/api/v1/posts/${pid}`, { token: b.tokens.access_token });
    if (!early.json.media?.ready) expectError(early, 404, 'post_not_found');
    assert.equal((await c.get(`/api/v1/posts/${pid}`, { token: a.tokens.access_token })).status, 200, 'the author sees it at once');
    await waitFor(a, id, ['ready']);
    const seen = await c.get(`/api/v1/posts/${pid}`, { token: b.tokens.access_token });
    assert.equal(seen.status, 200, seen.text);
    assert.equal(seen.json.media.ready, true);
    // its shape, so a player can size itself before loading
    assert.equal(seen.json.media.width, 1280);
    assert.equal(seen.json.media.height, 720);
    assert.equal(seen.json.media.aspect, 1.7778);
    assert.ok(Math.abs(seen.json.media.duration_s - 4) < 0.2, String(seen.json.media.duration_s));
    const listed = await c.get(`/api/v1/users/${a.user.handle}/posts`, { token: b.tokens.access_token });
    assert.equal(listed.status, 200, listed.text);
    assert.equal(listed.json.items.find((x) => x.id === pid).media.width, 1280, 'lists carry it too');
    const master = await c.get(seen.json.media.master);
    assert.equal(master.status, 200);
    assert.match(master.text, /#EXTM3U/);
    assert.equal((await c.get(seen.json.media.poster)).headers.get('content-type'), 'image/jpeg');
    // Someone else's media, the wrong kind, or a failed one cannot be posted.
    const theirs = await c.post('/api/v1/posts', { token: b.tokens.access_token, json: { type: 'video', media_id: id } });
    expectError(theirs, 422, 'validation_failed');
    assert.deepEqual(theirs.json.error.details, { field: 'media_id', reason: 'not_found' });
    const img = await c.post('/api/v1/posts', { token: a.tokens.access_token, json: { type: 'image', media_id: id } });
    assert.deepEqual(img.json.error.details, { field: 'media_id', reason: 'wrong_kind' });
    // Media a post shows cannot be deleted; deleting the post takes the media and its files.
    expectError(await c.del(`/api/v1/media/${id}`, { token: a.tokens.access_token }), 409, 'media_in_use');
    expectError(await c.del(`/api/v1/media/${id}`, { token: b.tokens.access_token }), 404, 'media_not_found');
    assert.equal((await c.del(`/api/v1/posts/${pid}`, { token: a.tokens.access_token })).status, 204);
    expectError(await c.get(`/api/v1/media/${id}`, { token: a.tokens.access_token }), 404, 'media_not_found');
    assert.ok(!existsSync(path.join(server.dataDir, 'media', id)), 'files removed');
    expectError(await c.get(seen.json.media.master), 404, 'media_not_found');
  });

  test('duets and stitches are rendered with their source before anyone sees them', async () => {
    const author = await register(server.url);
    const fan = await register(server.url);
    const c = client(server.url);
    const src = imported(author, 'clip.mp4');
    await waitFor(author, src.id, ['ready']);
    const source = (await c.post('/api/v1/posts', { token: author.tokens.access_token, json: { type: 'video', media_id: src.id } })).json;
    // a post made with media that is ready already carries its shape at once
    assert.deepEqual([source.media.width, source.media.height, source.media.aspect], [1280, 720, 1.7778]);
    const order = ['uploaded', 'composing', 'processing', 'ready'];
    for (const kind of ['duet', 'stitch']) {
      const mine = imported(fan, 'clip.mp4');
      await waitFor(fan, mine.id, ['ready']);
      const r = await c.post('/api/v1/posts', { token: fan.tokens.access_token, json: { type: 'video', media_id: mine.id, [`${kind}_of`]: source.id } });
      assert.equal(r.status, 201, r.text);
      expectError(await c.get(`/api/v1/posts/${r.json.id}`, { token: author.tokens.access_token }), 404, 'post_not_found');
      // the rendering is a media record of its own whose state only moves forward; the clip
      // stays ready as it was
      const rendered = r.json.media.id;
      assert.notEqual(rendered, mine.id);
      let m, seen = [];
      for (let i = 0; i < 900; i++) {
        m = (await c.get(`/api/v1/media/${rendered}`, { token: fan.tokens.access_token })).json;
        if (seen.at(-1) !== m.state) seen.push(m.state);
        if (m.state === 'ready' || m.state === 'failed') break;
        await sleep(100);
      }
      assert.equal(m.state, 'ready', JSON.stringify(m));
      const idx = seen.map((s) => order.indexOf(s));
      assert.deepEqual(idx, [...idx].sort((x, y) => x - y), `states only move forward: ${seen}`);
      const clip = (await c.get(`/api/v1/media/${mine.id}`, { token: fan.tokens.access_token })).json;
      assert.equal(clip.state, 'ready');
      assert.deepEqual([clip.probe.display_width, clip.probe.display_height], [1280, 720], 'the clip is untouched');
      if (kind === 'duet') {
        // stacked for vertical viewing: a 720x1280 (9:16) picture, each 16:9 video fitted into
        // its 720x640 half
        assert.deepEqual([m.probe.display_width, m.probe.display_height], [720, 1280]);
        const post = (await c.get(`/api/v1/posts/${r.json.id}`, { token: author.tokens.access_token })).json;
        assert.equal(post.media.aspect, 0.5625);
        assert.ok(Math.abs(m.probe.duration_s - 4) < 0.3, `duet lasts as long as the new video: ${m.probe.duration_s}`);
      } else {
        assert.deepEqual([m.probe.display_width, m.probe.display_height], [1280, 720]);
        assert.ok(Math.abs(m.probe.duration_s - 8) < 0.5, `4 s of source (at most 5) + 4 s: ${m.probe.duration_s}`);
      }
      assert.equal((await c.get(`/api/v1/posts/${r.json.id}`, { token: author.tokens.access_token })).status, 200);
    }
    assert.equal((await c.get(`/api/v1/posts/${source.id}`)).json.duet_count, 1);
  });

  test('portrait without sound and a rotated phone video come out upright, never above the source', async () => {
    const a = await register(server.url);
    for (const [file, display] of [['portrait.mp4', [360, 640]], ['rotated.mp4', [360, 640]]]) {
      const { id } = imported(a, file);
      const m = await waitFor(a, id, ['ready', 'failed']);
      assert.equal(m.state, 'ready', JSON.stringify(m));
      assert.deepEqual([m.probe.display_width, m.probe.display_height], display, file);
      // the source's own 360 is the top rung (it lies between 240p and 480p)
      assert.deepEqual(m.renditions.map((r) => [r.name, r.width, r.height]), [['240p', 240, 426], ['360p', 360, 640]], `${file}: 240p and its own 360p`);
      const line = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height', '-show_entries', 'format=duration',
        '-of', 'csv=p=0', path.join(server.dataDir, 'media', id, 'hls', '240p', 'index.m3u8')], { encoding: 'utf8' });
      assert.match(line, /h264,240,426/, `${file}: ${line}`);
      const audio = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'a', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0',
        path.join(server.dataDir, 'media', id, 'hls', '240p', 'index.m3u8')], { encoding: 'utf8' }).trim();
      assert.equal(audio, '', 'no sound track was invented');
    }
    // Sound without pictures is not a video.
    const tone = importMedia(a, 'tone.mp3');
    assert.equal(tone.status, 1);
    assert.match(tone.stderr, /unsupported_type/);
  });

  test('unreadable, over-long and non-media files fail with a reason', async () => {
    const a = await register(server.url);
    const broken = imported(a, 'broken.mp4');
    let m = await waitFor(a, broken.id, ['ready', 'failed']);
    assert.equal(m.state, 'failed');
    assert.match(m.error, /not a readable media file/);
    // Deleting media mid-processing cancels its job.
    const doomed = imported(a, 'long.mp4');
    assert.equal((await client(server.url).del(`/api/v1/media/${doomed.id}`, { token: a.tokens.access_token })).status, 204);
    expectError(await client(server.url).get(`/api/v1/media/${doomed.id}`, { token: a.tokens.access_token }), 404, 'media_not_found');
    expectError(await client(server.url).del(`/api/v1/media/${doomed.id}`, { token: a.tokens.access_token }), 404, 'media_not_found');
    expectError(await client(server.url).del(`/api/v1/media/${doomed.id}`), 401, 'unauthenticated');
    const noise = importMedia(a, 'noise.bin');
    assert.equal(noise.status, 1);
    assert.match(noise.stderr, /unsupported_type/);
    const long = imported(a, 'long.mp4');
    m = await waitFor(a, long.id, ['ready', 'failed']);
    assert.equal(m.state, 'failed');
    assert.equal(m.error, 'the video is longer than 30 seconds');
    const post = await client(server.url).post('/api/v1/posts', { token: a.tokens.access_token, json: { type: 'reel', media_id: long.id } });
    assert.deepEqual(post.json.error.details, { field: 'media_id', reason: 'processing_failed' });
  });

  test('a separate `streamhub worker` process runs the jobs of a server that runs none', async () => {
    const t = await startServer({ args: ['--job-workers', '0'] });
    const prev = server;
    server = t;
    try {
      const a = await register(t.url);
      const { id } = imported(a, 'clip.mp4');
      await sleep(1500);
      assert.equal((await client(t.url).get(`/api/v1/media/${id}`, { token: a.tokens.access_token })).json.state, 'uploaded', 'nothing runs it in the server');
      const args = ['worker', '--data-dir', t.dataDir, '--job-workers', '1'];
      if (t.database) args.push('--database', t.database);
      const worker = spawn(BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      worker.stderr.on('data', (d) => { stderr += d; });
      try {
        const m = await waitFor(a, id, ['ready', 'failed'], 90);
        assert.equal(m.state, 'ready', stderr.slice(-2000));
      } finally {
        worker.kill('SIGTERM');
        const code = await new Promise((r) => worker.on('exit', r));
        assert.equal(code, 0, stderr.slice(-2000));
      }
    } finally {
      server = prev;
    }
  });

  test('a server killed mid-transcode resumes the job after its lease runs out', async () => {
    const t = await startServer({ args: ['--job-lease', '5', '--job-workers', '1', '--media-max-duration', '60'] });
    const prev = server;
    server = t;
    try {
      const a = await register(t.url);
      const { id } = imported(a, 'long.mp4');
      const mid = await waitFor(a, id, ['processing', 'ready', 'failed'], 60);
      assert.equal(mid.state, 'processing', JSON.stringify(mid));
      await t.kill('SIGKILL');
      await t.restart();
      const m = await waitFor(a, id, ['ready', 'failed'], 120);
      assert.equal(m.state, 'ready', JSON.stringify(m));
      assert.equal(m.renditions.length, 3);
      assert.ok(existsSync(path.join(t.dataDir, 'media', id, 'hls', '720p', 'index.m3u8')));
    } finally {
      server = prev;
    }
  });
});

describe('your media', () => {
  const tiny = readFileSync(path.join(work, 'tiny.jpg'));
  const postImage = async (who) => {
    const r = await client(server.url).post('/api/v1/media?filename=t.jpg', { token: who.tokens.access_token, body: tiny, headers: { 'content-type': 'image/jpeg' } });
    assert.equal(r.status, 201, r.text);
    return r.json;
  };

  test('GET /api/v1/media lists your own media in every state, newest first, by cursor', async () => {
    const a = await register(server.url);
    const b = await register(server.url);
    const c = client(server.url);
    const ta = a.tokens.access_token;
    const made = [await postImage(a), await postImage(a), await postImage(a)];
    const video = imported(a, 'flat.mp4');
    await postImage(b);
    let page = await c.get('/api/v1/media?limit=2', { token: ta });
    assert.equal(page.status, 200, page.text);
    assert.deepEqual(page.json.items.map((m) => m.id), [video.id, made[2].id]);
    assert.ok(page.json.next_cursor);
    for (const m of page.json.items) {
      assert.ok(['uploaded', 'processing', 'ready'].includes(m.state), m.state);
      assert.equal(m.posted, false, 'a draft: no post shows it');
    }
    const rest = await c.get(`/api/v1/media?limit=2&cursor=${page.json.next_cursor}`, { token: ta });
    assert.deepEqual(rest.json.items.map((m) => m.id), [made[1].id, made[0].id]);
    assert.equal(rest.json.next_cursor, null);
    // once posted, it says so
    await waitFor(a, made[0].id, ['ready']);
    const photo = await c.post('/api/v1/posts', { token: ta, json: { type: 'image', media_id: made[0].id } });
    assert.equal(photo.status, 201, photo.text);
    // an image post carries its shape too, and no duration
    assert.deepEqual([photo.json.media.width, photo.json.media.height, photo.json.media.aspect], [64, 48, 1.3333]);
    assert.equal(photo.json.media.duration_s, undefined);
    const all = (await c.get('/api/v1/media', { token: ta })).json;
    assert.equal(all.items.length, 4);
    assert.equal(all.items.find((m) => m.id === made[0].id).posted, true);
    // someone else's media is never listed
    const theirs = (await c.get('/api/v1/media', { token: b.tokens.access_token })).json;
    assert.equal(theirs.items.length, 1);
    assert.ok(!theirs.items.some((m) => made.some((x) => x.id === m.id)));
    // bad input
    for (const q of ['limit=0', 'limit=101', 'limit=x', 'limit=-1'])
      expectError(await c.get(`/api/v1/media?${q}`, { token: ta }), 422);
    for (const q of ['cursor=abc', 'cursor=-5', 'cursor=1.5'])
      expectError(await c.get(`/api/v1/media?${q}`, { token: ta }), 422);
    expectError(await c.get('/api/v1/media'), 401, 'unauthenticated');
    expectError(await c.get('/api/v1/media', { token: 'not.a.token' }), 401);
  });

  test('a DM attachment that becomes ready is announced to the conversation as message.updated', async () => {
    const a = await register(server.url);
    const b = await register(server.url);
    const c = client(server.url);
    const conv = (await c.post('/api/v1/conversations', { token: a.tokens.access_token, json: { kind: 'direct', member_ids: [b.user.id] } })).json;
    const ws = new WebSocket(server.url.replace(/^http/, 'ws') + '/api/v1/ws', { headers: { authorization: `Bearer ${b.tokens.access_token}` } });
    const events = [];
    ws.on('message', (raw) => events.push(JSON.parse(raw.toString())));
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    for (let i = 0; i < 100 && !events.some((e) => e.type === 'ready'); i++) await sleep(20);
    try {
      const video = imported(a, 'flat.mp4');
      const sent = await c.post(`/api/v1/conversations/${conv.id}/messages`, { token: a.tokens.access_token, json: { attachments: [video.id] } });
      assert.equal(sent.status, 201, sent.text);
      const mid = sent.json.id;
      const final = (e) => e.type === 'message.updated' && e.data.id === mid && ['ready', 'failed'].includes(e.data.media[0].state);
      for (let i = 0; i < 900 && !events.some(final); i++) await sleep(100);
      const first = events.find((e) => e.type === 'message.new' && e.data.id === mid);
      assert.ok(first, 'the message itself arrived');
      const upd = events.find(final);
      assert.ok(upd, `announced once processed: ${JSON.stringify(events.map((e) => e.type))}`);
      assert.equal(upd.data.conversation_id, conv.id);
      assert.equal(upd.data.media[0].state, 'ready');
      assert.ok(upd.data.media[0].urls.master.includes('sig='));
    } finally {
      ws.close();
    }
  });
});
