// SPDX-License-Identifier: MIT
// A real browser for the e2e suites: Debian's Chromium (scripts/deps.sh installs it) driven by
// npm playwright-core, which never downloads a browser of its own, and a page server that stands
// in for the web app: another origin than the API (so CORS is exercised as in production) that
// serves a player page and hls.js from node_modules.
//
// The player page exposes window.player(url, config, level): it plays url through hls.js in a muted
// <video> and records what a test asserts on: hls.js errors (fatal or not), the variants of the
// master as hls.js parsed them, the levels of the fragments it loaded, and the video's clock.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const CHROMIUM = '/usr/bin/chromium';

/**
 * Why browser tests cannot run here, or null when they can. Outside CI a machine without
 * Chromium skips them; in CI (CI=true) that is a failure, since scripts/deps.sh installs it.
 */
export function browserMissing() {
  if (existsSync(CHROMIUM)) return null;
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing in CI: scripts/deps.sh installs chromium`);
  return `${CHROMIUM} is missing (apt-get install chromium, or scripts/deps.sh): browser playback not tested`;
}

/** Launches headless Chromium with a fresh profile; close() also removes the profile. */
export async function launchChromium() {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(path.join(tmpdir(), 'sh-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--autoplay-policy=no-user-gesture-required'],
  });
  return {
    context,
    newPage: () => context.newPage(),
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

const PLAYER_HTML = `<!doctype html>
<meta charset="utf-8">
<title>player</title>
<video id="video" muted playsinline width="640" height="360"></video>
<script src="/hls.js"></script>
<script>
  // One player at a time: a new call tears the previous one down. level, when given, fixes the
  // variant played (its index in the master) instead of letting hls.js choose.
  let hls = null;
  window.player = (url, config = {}, level = undefined) => {
    if (hls) hls.destroy();
    const video = document.getElementById('video');
    const state = window.state = { errors: [], fatal: null, levels: null, fragLevels: [], ended: false };
    hls = new Hls({ ...config });
    hls.on(Hls.Events.ERROR, (_, d) => {
      const e = { type: d.type, details: d.details, fatal: d.fatal, code: d.response ? d.response.code : null };
      state.errors.push(e);
      if (d.fatal) state.fatal = e;
    });
    hls.on(Hls.Events.MANIFEST_PARSED, (_, d) => {
      state.levels = d.levels.map((l) => ({ height: l.height, uri: l.uri }));
      if (level !== undefined) hls.currentLevel = level;
      video.play().catch((e) => state.errors.push({ type: 'play', details: String(e), fatal: false }));
    });
    hls.on(Hls.Events.FRAG_LOADED, (_, d) => { if (d.frag.sn !== 'initSegment') state.fragLevels.push(d.frag.level); });
    video.onended = () => { state.ended = true; };
    hls.loadSource(url);
    hls.attachMedia(video);
  };
  // What the test reads: the player's record and the video's clock.
  window.report = () => {
    const video = document.getElementById('video');
    const b = video.buffered;
    return { ...window.state, currentTime: video.currentTime, paused: video.paused,
      videoHeight: video.videoHeight, bufferedEnd: b.length ? b.end(b.length - 1) : 0,
      levelsNow: hls ? hls.levels.length : 0 };
  };
</script>
`;

/** Serves the player page at /player.html and hls.js at /hls.js; returns { origin, url, close }. */
export function startPlayerServer() {
  const hlsjs = readFileSync(createRequire(import.meta.url).resolve('hls.js/dist/hls.min.js'));
  const server = http.createServer((req, res) => {
    if (req.url === '/player.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(PLAYER_HTML);
    } else if (req.url === '/hls.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(hlsjs);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const origin = `http://127.0.0.1:${server.address().port}`;
    resolve({
      origin,
      url: `${origin}/player.html`,
      close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
    });
  }));
}

/**
 * Waits in the page until the video's clock passes `seconds` or hls.js fails fatally, and
 * returns the page's report. The wait is bounded only to turn a hang into a readable failure.
 */
export async function playUntil(page, seconds, timeoutMs = 90000) {
  try {
    await page.waitForFunction((s) => window.state && (window.state.fatal ||
      document.getElementById('video').currentTime > s), seconds, { timeout: timeoutMs, polling: 100 });
  } catch (e) {
    const report = await page.evaluate(() => window.report()).catch(() => null);
    throw new Error(`the video never reached ${seconds} s: ${e.message}\n${JSON.stringify(report)}`);
  }
  return page.evaluate(() => window.report());
}

/** Waits until hls.js fails fatally (for URLs it must not play) and returns the page's report. */
export async function failure(page, timeoutMs = 30000) {
  await page.waitForFunction(() => window.state && window.state.fatal, null, { timeout: timeoutMs, polling: 100 });
  return page.evaluate(() => window.report());
}
