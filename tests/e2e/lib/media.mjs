// SPDX-License-Identifier: MIT
// Video helpers shared by the suites that watch the media job (playable, playback): clips made
// from ffmpeg's test sources, `streamhub admin import-media`, polling a media record, the
// variants a master playlist lists, and holding the server's ffmpeg.
//
// Holding: a test that must look at a video between "playable" and "ready" stops (SIGSTOP) the
// ffmpeg the server runs for a later step of the ladder, so "still processing" is a fact while
// the test looks, not a race against the encoder. The job's progress heartbeat keeps renewing
// its lease meanwhile (src/jobs/ffmpeg.c), so nothing takes the job for dead; release() lets
// ffmpeg go on where it was.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { client, BIN } from './accounts.mjs';
import { serverPids } from './harness.mjs';

const execFileAsync = promisify(execFile);

/** Runs ffmpeg quietly, overwriting its output; resolves when it is done. */
export const ffmpeg = (...args) => execFileAsync('ffmpeg', ['-loglevel', 'error', '-y', ...args]);

/**
 * An H.264 High yuv420p + AAC clip the server serves as it is (its first rendition is a copy),
 * a keyframe every keyframeEvery frames at 30 fps.
 */
export function remuxableClip(file, { size = '1280x720', seconds = 8, keyframeEvery = 60 } = {}) {
  return ffmpeg('-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=30`, '-f', 'lavfi', '-i', 'sine=frequency=440',
    '-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-g', String(keyframeEvery),
    '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', file);
}

/** Imports a file for owner with `streamhub admin import-media`; returns the media id. */
export function importMedia(server, owner, file) {
  const args = ['admin', 'import-media', '--owner', owner.creds.handle, '--file', file, '--data-dir', server.dataDir];
  if (server.database) args.push('--database', server.database);
  const r = spawnSync(BIN, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.match(/imported media (\d+)/)[1];
}

/** GET /api/v1/media/:id as its owner. */
export async function getMedia(server, owner, id) {
  const r = await client(server.url).get(`/api/v1/media/${id}`, { token: owner.tokens.access_token });
  assert.equal(r.status, 200, r.text);
  return r.json;
}

/** Polls the media record until pred(media) holds and returns it; throws once it failed. */
export async function waitForMedia(server, owner, id, pred, what, seconds = 120) {
  let m;
  for (let i = 0; i < seconds * 10; i++) {
    m = await getMedia(server, owner, id);
    if (pred(m)) return m;
    if (m.state === 'failed') break;
    await sleep(100);
  }
  throw new Error(`media ${id} never ${what}: ${JSON.stringify(m)}`);
}

export const isPlayable = (m) => m.playable || m.state === 'ready';
export const isReady = (m) => m.state === 'ready';

/** The variant playlist lines of a master playlist. */
export const variants = (text) => text.split('\n').filter((l) => l.includes('/index.m3u8?exp='));

/** The ffmpeg processes a process (any of its threads) started, as { pid, cmdline }. */
export function ffmpegChildren(pid) {
  const found = [];
  let tasks = [];
  try { tasks = readdirSync(`/proc/${pid}/task`); } catch { return found; }
  for (const task of tasks) {
    let children = '';
    try { children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8'); } catch { continue; }
    for (const child of children.split(' ').filter(Boolean)) {
      try {
        const argv = readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0');
        if (path.basename(argv[0]) === 'ffmpeg') found.push({ pid: Number(child), cmdline: argv.join(' ') });
      } catch { /* it exited meanwhile */ }
    }
  }
  return found;
}

/**
 * Stops the next ffmpeg the server runs to encode a rung of media `id`'s ladder (it writes into
 * hls/<rung>.part/, which a crash leaves harmless), or that rung's when `name` is given ('240p'),
 * and returns { pid, cmdline, release, kill }. Throws if the media gets ready first: the ladder
 * was too quick to be caught.
 */
export async function holdLadder(server, owner, id, name = '\\w+') {
  const rung = new RegExp(`/media/${id}/hls/${name}\\.part/`);
  for (let i = 0; ; i++) {
    const ffmpegs = () => serverPids(server, { jobs: true }).flatMap(ffmpegChildren);
    const job = ffmpegs().find((c) => rung.test(c.cmdline));
    if (job) {
      try { process.kill(job.pid, 'SIGSTOP'); } catch { continue; /* gone before it could be held */ }
      // still ours (not a pid reused by a quicker process since it was read)?
      const again = ffmpegs().find((c) => c.pid === job.pid);
      if (!again || again.cmdline !== job.cmdline) { try { process.kill(job.pid, 'SIGCONT'); } catch { } continue; }
      let held = true;
      const signal = (s) => { if (held) { held = false; try { process.kill(job.pid, s); } catch { } } };
      return { ...job, release: () => signal('SIGCONT'), kill: () => signal('SIGKILL') };
    }
    if (i % 25 === 0 && isReady(await getMedia(server, owner, id))) {
      throw new Error(`media ${id} became ready before its ladder could be held: use a longer source`);
    }
    await sleep(10);
  }
}
