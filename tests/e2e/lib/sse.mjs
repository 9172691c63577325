// SPDX-License-Identifier: MIT
// A client of GET /api/v1/events (Server-Sent Events) for the e2e suites: records the events
// ({event, data} with data parsed) and whether the stream ended, and resolves once the stream's
// "ready" event is in. until(pred) waits until pred(stream) holds, next(type, pred) for the
// first event of a type (seen or future) whose data matches; the test's timeout bounds both.
import assert from 'node:assert/strict';
import http from 'node:http';

export function openEvents(base, token) {
  return new Promise((resolve, reject) => {
    const req = http.get(new URL('/api/v1/events', base), { headers: { accept: 'text/event-stream', authorization: `Bearer ${token}` } }, (res) => {
      assert.equal(res.statusCode, 200);
      const s = { events: [], ended: false, waiters: [] };
      const check = () => { s.waiters = s.waiters.filter((w) => !w()); };
      let pending = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        pending += chunk;
        let i;
        while ((i = pending.indexOf('\n\n')) >= 0) {
          const ev = {};
          for (const line of pending.slice(0, i).split('\n')) {
            if (line.startsWith(':')) continue;
            ev[line.slice(0, line.indexOf(':'))] = line.slice(line.indexOf(':') + 1).replace(/^ /, '');
          }
          pending = pending.slice(i + 2);
          if (ev.event) { ev.data = JSON.parse(ev.data); s.events.push(ev); }
        }
        check();
      });
      const end = () => { s.ended = true; check(); };
      res.on('end', end);
      res.on('error', end);
      res.on('close', end);
      s.until = (pred) => new Promise((ok) => { const w = () => (pred(s) ? (ok(), true) : false); if (!w()) s.waiters.push(w); });
      s.next = (type, pred = () => true) => s.until((x) => x.events.some((e) => e.event === type && pred(e.data)))
        .then(() => s.events.find((e) => e.event === type && pred(e.data)));
      s.close = () => req.destroy();
      s.next('ready').then(() => resolve(s));
    });
    req.on('error', reject);
  });
}
