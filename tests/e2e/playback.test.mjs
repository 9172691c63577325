// SPDX-License-Identifier: MIT
// A video really plays in a browser while its ladder is still being made (issue 12): hls.js in
// headless Chromium (playwright-core, Debian's /usr/bin/chromium) on a page of another origin,
// with the signed URLs a follower's feed hands out. The ladder is held (lib/media.mjs: its
// ffmpeg stopped) while the page plays, so "still processing" is a fact, not a race; then the
// whole ladder is in the master and plays too. A second case kills the server (SIGKILL) between
// playable and ready and brings it back on the same port and data: the open page plays on past
// what it had buffered, the ladder finishes, and a fresh load of the master plays it all.
// Skipped with a message only when Chromium is missing outside CI (lib/browser.mjs).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, stopAll, freePort } from './lib/harness.mjs';
import { client, register } from './lib/accounts.mjs';
import { browserMissing, launchChromium, startPlayerServer, playUntil, failure } from './lib/browser.mjs';
import { remuxableClip, importMedia, getMedia, waitForMedia, isPlayable, isReady, variants, holdLadder }
  from './lib/media.mjs';

const skip = browserMissing();
const work = mkdtempSync(path.join(tmpdir(), 'sh-playback-'));
const clip720 = path.join(work, 'clip720.mp4');
const clip480 = path.join(work, 'clip480.mp4');
let pages;
let browser;
const holds = [];

before(async () => {
  if (skip) return;
  [pages, browser] = await Promise.all([startPlayerServer(), launchChromium(),
    // served as it is (a 720p copy), then 240p and 480p are encoded: several rungs to add
    remuxableClip(clip720, { size: '1280x720', seconds: 8 }),
    // long enough that a page with a short buffer must fetch segments after a restart (4 s
    // segments, a keyframe every second); only 240p to encode besides the 480p copy
    remuxableClip(clip480, { size: '854x480', seconds: 16, keyframeEvery: 30 })]);
});

after(async () => {
  for (const h of holds) h.release();
  await browser?.close();
  await pages?.close();
  rmSync(work, { recursive: true, force: true });
  await stopAll();
});

/** A video post by a fresh author that a fresh follower follows; waits until it is playable. */
async function followedVideoPost(server, clip) {
  const author = await register(server.url);
  const follower = await register(server.url);
  const c = client(server.url);
  const f = await c.post(`/api/v1/users/${author.creds.handle}/follow`, { token: follower.tokens.access_token });
  assert.equal(f.status, 200, f.text);
  const id = importMedia(server, author, clip);
  const post = await c.post('/api/v1/posts', {
    token: author.tokens.access_token, json: { type: 'video', media_id: id, caption: 'watch me' } });
  assert.equal(post.status, 201, post.text);
  await waitForMedia(server, author, id, isPlayable, 'playable');
  return { author, follower, id, postId: post.json.id, c };
}

/** The post as the follower's home feed shows it (its media carries the signed URLs). */
async function inFeed(server, follower, postId) {
  const feed = await client(server.url).get('/api/v1/feed/home', { token: follower.tokens.access_token });
  assert.equal(feed.status, 200, feed.text);
  const item = feed.json.items.find((p) => p.id === postId);
  assert.ok(item, `the follower's feed lacks post ${postId}: ${JSON.stringify(feed.json)}`);
  return item;
}

const noFatal = (report) => assert.equal(report.fatal, null, `hls.js failed: ${JSON.stringify(report.errors)}`);

describe('playback in a browser (hls.js in Chromium)', { skip: skip || false }, () => {
  test('a follower plays the video while its ladder is still encoding; once ready the whole ladder plays', async () => {
    const s = await startServer({ args: ['--rate-limit', '0', '--auth-rate-limit', '0', '--job-workers', '1',
      '--cors-origins', pages.origin] });
    const { author, follower, id, postId, c } = await followedVideoPost(s, clip720);
    const hold = await holdLadder(s, author, id);
    holds.push(hold);

    // the follower sees the post once it is playable, with what a player needs
    const item = await inFeed(s, follower, postId);
    assert.equal(item.media.ready, true, JSON.stringify(item.media));
    const master = `${s.url}${item.media.master}`;
    const growing = await c.get(item.media.master);
    const listed = variants(growing.text);
    // it will gain variants: a browser must not answer a new session from its cache
    assert.equal(growing.headers.get('cache-control'), 'private, no-cache');

    const page = await browser.newPage();
    await page.goto(pages.url);
    // without its signature the master is refused, and hls.js says so
    await page.evaluate((u) => window.player(u), master.split('?')[0]);
    const refused = await failure(page);
    assert.equal(refused.fatal.details, 'manifestLoadError', JSON.stringify(refused.errors));
    assert.equal(refused.fatal.code, 401);

    await page.evaluate((u) => window.player(u), master);
    const early = await playUntil(page, 1.5);
    noFatal(early);
    assert.ok(early.currentTime > 1.5, JSON.stringify(early));
    const during = await getMedia(s, author, id);
    assert.equal(during.state, 'processing', 'the video played while its ladder was still encoding');
    assert.equal(during.playable, true);
    assert.equal(early.levels.length, listed.length, 'hls.js sees the variants the master lists');
    assert.ok(early.levels.length < 3, JSON.stringify(early.levels));
    assert.ok(early.levels.some((l) => l.height === 720), 'the source copy is among them');

    hold.release();
    const done = await waitForMedia(s, author, id, isReady, 'ready');
    assert.deepEqual(done.renditions.map((r) => r.name), ['240p', '480p', '720p']);
    const complete = await c.get(item.media.master);
    const full = variants(complete.text);
    assert.equal(full.length, 3, 'the master now lists the whole ladder');
    assert.equal(complete.headers.get('cache-control'), 'private, max-age=60', 'final now');
    assert.ok(full.length > early.levels.length);

    // The open page parsed the master once (VOD: hls.js never reloads it): it plays on with the
    // variants it had, and picks up the new ones only when the master is loaded again.
    const later = await playUntil(page, early.currentTime + 1);
    noFatal(later);
    assert.equal(later.levelsNow, early.levels.length, 'hls.js does not reload a VOD master');

    // a new session (the same signed URL): the whole ladder, played on the smallest rung, which
    // was encoded after the video became playable
    await page.evaluate((u) => window.player(u, {}, 0), master);
    const again = await playUntil(page, 1.5);
    noFatal(again);
    assert.deepEqual(again.levels.map((l) => l.height), [240, 480, 720]);
    assert.equal(again.videoHeight, 240, JSON.stringify(again));
    assert.ok(again.fragLevels.length > 0 && again.fragLevels.every((l) => l === 0), JSON.stringify(again.fragLevels));
    await page.close();
  });

  test('a server killed between playable and ready comes back: the open page plays on, the ladder finishes', async () => {
    // the same port after the restart, so the page's URLs still lead to the server
    const port = await freePort();
    const t = await startServer({ args: ['--rate-limit', '0', '--auth-rate-limit', '0', '--job-workers', '1',
      '--job-lease', '5', '--cors-origins', pages.origin, '--port', String(port)] });
    const { author, follower, id, postId } = await followedVideoPost(t, clip480);
    const hold = await holdLadder(t, author, id);
    holds.push(hold);
    const item = await inFeed(t, follower, postId);
    const master = `${t.url}${item.media.master}`;

    const page = await browser.newPage();
    await page.goto(pages.url);
    // a short buffer, so segments are still to be fetched after the restart, and retries that
    // outlast one (hls.js's defaults give up after 6 tries)
    const retry = { maxNumRetry: 30, retryDelayMs: 250, maxRetryDelayMs: 1000 };
    const policy = { default: { maxTimeToFirstByteMs: 10000, maxLoadTimeMs: 20000, timeoutRetry: retry, errorRetry: retry } };
    await page.evaluate(([u, config]) => window.player(u, config), [master,
      { maxBufferLength: 1, maxMaxBufferLength: 1, fragLoadPolicy: policy, playlistLoadPolicy: policy }]);
    const early = await playUntil(page, 1);
    noFatal(early);
    assert.equal((await getMedia(t, author, id)).state, 'processing');

    // a crash: the server and the ffmpeg it ran go down together, as on a machine that dies
    await t.kill('SIGKILL');
    hold.kill();
    const atCrash = await page.evaluate(() => window.report());
    assert.ok(atCrash.bufferedEnd < 16, `the page must still need segments: ${JSON.stringify(atCrash)}`);
    await t.restart();
    assert.equal(t.url, `http://127.0.0.1:${port}`);

    // the open page plays past what it had buffered: segments came from the restarted server
    const resumed = await playUntil(page, atCrash.bufferedEnd + 0.5);
    noFatal(resumed);
    assert.ok(resumed.currentTime > atCrash.bufferedEnd, JSON.stringify(resumed));

    const done = await waitForMedia(t, author, id, isReady, 'ready');
    assert.deepEqual(done.renditions.map((r) => r.name), ['240p', '480p']);
    const full = variants((await client(t.url).get(item.media.master)).text);
    assert.equal(full.length, 2, full.join('\n'));
    // loading the master again plays the ladder finished after the restart
    await page.evaluate((u) => window.player(u, {}, 0), master);
    const again = await playUntil(page, 1.5);
    noFatal(again);
    assert.deepEqual(again.levels.map((l) => l.height), [240, 480]);
    assert.equal(again.videoHeight, 240);
    await page.close();
  });
});
