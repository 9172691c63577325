// SPDX-License-Identifier: MIT
// Time to playable (issue 12): a video is playable from its first rendition on — the source cut
// into segments as it is when it is H.264 with safe parameters, else a fast 480p encode — while
// the rest of the ladder is encoded; the master playlist grows as renditions complete; followers
// see the post once it plays; a server killed between playable and ready finishes the ladder
// after a restart without redoing what exists. Clips are small; no timing is asserted: where a
// test looks between playable and ready, it holds the ladder first (lib/media.mjs).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, stopAll } from './lib/harness.mjs';
import { client, register } from './lib/accounts.mjs';
import { ffmpeg, remuxableClip, importMedia, getMedia, waitForMedia, isPlayable, isReady, variants, holdLadder }
  from './lib/media.mjs';

const work = mkdtempSync(path.join(tmpdir(), 'sh-playable-'));
let server;
const holds = [];
before(async () => {
  await Promise.all([
    // H.264 High, yuv420p, a keyframe every 2 s, AAC: served as it is first
    remuxableClip(path.join(work, 'remux.mp4'), { size: '1280x720', seconds: 8, keyframeEvery: 60 }),
    // 4:4:4 is not for every player: a fast 480p encode comes first
    ffmpeg('-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-t', '3', '-c:v', 'libx264', '-preset', 'ultrafast',
      '-pix_fmt', 'yuv444p', path.join(work, 'yuv444.mp4'))]);
  server = await startServer({ args: ['--rate-limit', '0', '--auth-rate-limit', '0', '--job-lease', '5', '--job-workers', '1'] });
});
after(async () => {
  for (const h of holds) h.release();
  await stopAll();
});

const imported = (owner, file, s = server) => importMedia(s, owner, path.join(work, file));

describe('time to playable', () => {
  test('a remuxable video plays from its source copy before the ladder is done; followers see the post then', async () => {
    const a = await register(server.url);
    const b = await register(server.url);
    const c = client(server.url);
    assert.equal((await c.post(`/api/v1/users/${a.creds.handle}/follow`, { token: b.tokens.access_token })).status, 200);
    const id = imported(a, 'remux.mp4');
    const post = await c.post('/api/v1/posts', { token: a.tokens.access_token, json: { type: 'video', media_id: id, caption: 'early' } });
    assert.equal(post.status, 201, post.text);
    await waitForMedia(server, a, id, isPlayable, 'playable');
    // the ladder's first rung held while we look: "before ready" is then a fact, not a race
    const hold = await holdLadder(server, a, id, '240p');
    holds.push(hold);
    const m = await getMedia(server, a, id);
    assert.equal(m.state, 'processing', 'playable comes before ready (the ladder is still encoding)');
    assert.equal(m.playable, true);
    assert.deepEqual(m.renditions.map((r) => r.name), ['720p'], 'the first rendition is the source as it is');
    const master = await c.get(m.playback.master);
    assert.equal(master.status, 200, master.text);
    const first = variants(master.text);
    assert.equal(first.length, 1, master.text);
    assert.match(first[0], /\/hls\/720p\/index\.m3u8/);
    assert.match(master.text, /RESOLUTION=1280x720/);
    const playlist = await c.get(first[0]);
    assert.equal(playlist.status, 200);
    assert.match(playlist.text, /#EXT-X-ENDLIST/, 'a rendition is published only when complete');
    // what a player reads: the copy's streams are the source's
    const probed = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,height', '-of', 'csv=p=0',
      `${server.url}${m.playback.master}`], { encoding: 'utf8' });
    assert.match(probed, /h264,720/);
    assert.match(probed, /aac/);
    // the follower sees the post now, not only once the ladder is done
    const seen = await c.get(`/api/v1/posts/${post.json.id}`, { token: b.tokens.access_token });
    assert.equal(seen.status, 200, seen.text);
    assert.equal(seen.json.media.ready, true, 'a post\'s media.ready means it plays');
    assert.equal(seen.json.media.width, 1280);
    const feed = await c.get('/api/v1/feed/home', { token: b.tokens.access_token });
    assert.ok(feed.json.items.some((p) => p.id === post.json.id), JSON.stringify(feed.json));

    hold.release();
    const done = await waitForMedia(server, a, id, isReady, 'ready');
    assert.equal(done.playable, true);
    assert.deepEqual(done.renditions.map((r) => r.name), ['240p', '480p', '720p']);
    const full = await c.get(done.playback.master);
    assert.equal(variants(full.text).length, 3, full.text);
    assert.ok(variants(full.text)[0].includes('/240p/'), 'smallest first');
    for (const f of [done.playback.poster, done.playback.storyboard_vtt]) assert.equal((await c.get(f)).status, 200);
  });

  test('a video that cannot be served as it is gets a fast 480p first rendition', async () => {
    const a = await register(server.url);
    const id = imported(a, 'yuv444.mp4');
    const m = await waitForMedia(server, a, id, isPlayable, 'playable');
    assert.equal(m.renditions[0].name, '480p', JSON.stringify(m.renditions));
    const done = await waitForMedia(server, a, id, isReady, 'ready');
    assert.deepEqual(done.renditions.map((r) => r.name), ['240p', '480p', '720p']);
    const probed = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v', '-show_entries', 'stream=pix_fmt',
      '-of', 'csv=p=0', `${server.url}${done.playback.master}`], { encoding: 'utf8' });
    assert.doesNotMatch(probed, /yuv444p/, 'every rendition is 4:2:0');
  });

  test('a server killed between playable and ready finishes the ladder after a restart', async () => {
    const t = await startServer({ args: ['--job-lease', '5', '--job-workers', '1'] });
    const a = await register(t.url);
    const id = imported(a, 'remux.mp4', t);
    await waitForMedia(t, a, id, isPlayable, 'playable');
    const hold = await holdLadder(t, a, id, '240p');
    holds.push(hold);
    const m = await getMedia(t, a, id);
    assert.equal(m.state, 'processing', JSON.stringify(m));
    const copy = path.join(t.dataDir, 'media', id, 'hls', '720p', 'index.m3u8');
    const before = statSync(copy).mtimeMs;
    // a crash: the server and the ffmpeg it ran go down together
    await t.kill('SIGKILL');
    hold.kill();
    await t.restart();
    // still playable while the job waits for its lease to run out and resumes
    const again = await getMedia(t, a, id);
    assert.equal(again.playable, true, JSON.stringify(again));
    assert.equal((await client(t.url).get(again.playback.master)).status, 200);
    const done = await waitForMedia(t, a, id, isReady, 'ready');
    assert.deepEqual(done.renditions.map((r) => r.name), ['240p', '480p', '720p']);
    assert.equal(statSync(copy).mtimeMs, before, 'the first rendition is not made again');
    const full = await client(t.url).get(done.playback.master);
    assert.equal(variants(full.text).length, 3, full.text);
  });
});
