// SPDX-License-Identifier: MIT
// The hub's RFC 6455 conformance, over raw TCP (tests/e2e/lib/wsraw.mjs): handshake refusals,
// the accept key, unmasked client frames, fragmentation with pings between the fragments,
// oversized frames and messages, reserved bits and opcodes, bad close codes, invalid UTF-8 and
// binary messages, each answered with the close code the RFC (or docs/realtime.md) gives.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopAll } from './lib/harness.mjs';
import { register } from './lib/accounts.mjs';
import { handshake, frame, text, closeFrame, OP } from './lib/wsraw.mjs';

const MAX = 4096;
let url, token;
before(async () => {
  url = (await startServer({ args: ['--trust-proxy', '--rate-limit', '0', '--auth-rate-limit', '0',
    '--ws-max-message', String(MAX), '--ws-auth-timeout', '2'] })).url;
  token = (await register(url)).tokens.access_token;
});
after(stopAll);

/** An authenticated raw socket, past its "ready" message. */
async function open() {
  const h = await handshake(url, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(h.status, 101);
  const ready = await h.ws.nextData();
  assert.equal(ready.json.type, 'ready');
  return h.ws;
}

async function expectClose(ws, code) {
  const f = await ws.untilClose();
  assert.equal(f.code, code, `close ${f.code} ${f.reason}`);
  await ws.closed; // and the server ends the TCP connection
  return f;
}

describe('handshake', () => {
  test('a valid upgrade gets 101 with the RFC accept key', async () => {
    const h = await handshake(url, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(h.status, 101);
    assert.equal(h.headers['sec-websocket-accept'], h.accept);
    assert.equal(h.headers.upgrade.toLowerCase(), 'websocket');
    assert.match(h.headers.connection, /upgrade/i);
    h.ws.send(closeFrame(1000));
    assert.equal((await expectClose(h.ws, 1000)).code, 1000);
  });

  test('no Upgrade header: 426 upgrade_required', async () => {
    const h = await handshake(url, { headers: { Upgrade: null, Connection: 'keep-alive' } });
    assert.equal(h.status, 426);
    assert.equal(h.json.error.code, 'upgrade_required');
    assert.equal(h.headers['sec-websocket-version'], '13');
  });

  test('a version other than 13: 426 naming the supported one', async () => {
    const h = await handshake(url, { headers: { 'Sec-WebSocket-Version': '8' } });
    assert.equal(h.status, 426);
    assert.equal(h.json.error.code, 'unsupported_websocket_version');
    assert.equal(h.headers['sec-websocket-version'], '13');
    const none = await handshake(url, { headers: { 'Sec-WebSocket-Version': null } });
    assert.equal(none.status, 426);
  });

  test('a missing or malformed Sec-WebSocket-Key: 400', async () => {
    for (const key of [null, 'abc', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'AAAAAAAAAAAAAAAAAAAAA===']) {
      const h = await handshake(url, { headers: { 'Sec-WebSocket-Key': key } });
      assert.equal(h.status, 400, `key ${key}`);
      assert.equal(h.json.error.code, 'invalid_handshake');
    }
  });

  test('a bad token in the header: 401 before any upgrade', async () => {
    const h = await handshake(url, { headers: { Authorization: 'Bearer nope' } });
    assert.equal(h.status, 401);
    assert.equal(h.json.error.code, 'invalid_token');
  });

  test('no token at all: the socket opens, and closes 4003 when no auth message comes', async () => {
    const h = await handshake(url);
    assert.equal(h.status, 101);
    const f = await h.ws.untilClose();
    assert.equal(f.code, 4003);
    assert.match(f.reason, /authentication timed out/);
  });

  test('bytes sent right behind the handshake are not lost', async () => {
    const h = await handshake(url, { headers: { Authorization: `Bearer ${token}` } });
    // same TCP segment as nothing else in flight: write the request and a frame together
    h.ws.send(text({ type: 'ping', id: 'early', data: { n: 1 } }));
    assert.equal((await h.ws.nextData()).json.type, 'ready');
    const ack = await h.ws.nextData();
    assert.deepEqual(ack.json, { type: 'ack', id: 'early', data: { n: 1 } });
    h.ws.sock.destroy();
  });
});

describe('frames', () => {
  test('an unmasked client frame closes 1002', async () => {
    const ws = await open();
    ws.send(text({ type: 'ping', id: '1' }, { mask: false }));
    await expectClose(ws, 1002);
  });

  test('fragments with pings between them make one message; each ping is ponged', async () => {
    const ws = await open();
    const msg = JSON.stringify({ type: 'ping', id: 'frag', data: { text: 'héllo wörld' } });
    const bytes = Buffer.from(msg);
    const cut1 = 7, cut2 = bytes.indexOf('ö') + 1; // the second cut splits a UTF-8 sequence
    ws.send(frame(OP.TEXT, bytes.subarray(0, cut1), { fin: false }));
    ws.send(frame(OP.PING, 'one'));
    ws.send(frame(OP.CONT, bytes.subarray(cut1, cut2), { fin: false }));
    ws.send(frame(OP.PING, 'two'));
    ws.send(frame(OP.CONT, bytes.subarray(cut2), { fin: true }));
    const got = [await ws.next(), await ws.next(), await ws.next()];
    assert.deepEqual(got.slice(0, 2).map((f) => [f.opcode, f.payload.toString()]), [[OP.PONG, 'one'], [OP.PONG, 'two']]);
    assert.deepEqual(got[2].json, { type: 'ack', id: 'frag', data: { text: 'héllo wörld' } });
    ws.send(closeFrame(1000));
    await expectClose(ws, 1000);
  });

  test('a socket quiet mid-header, mid-frame or mid-message loses nothing (and works after)', async () => {
    // the hub frees an idle socket's wslay context after a second's quiet: only at a boundary
    const quiet = () => new Promise((r) => setTimeout(r, 1600));
    const ws = await open();
    const msg = Buffer.from(JSON.stringify({ type: 'ping', id: 'slow', data: { text: 'x'.repeat(300) } }));
    const first = frame(OP.TEXT, msg.subarray(0, 100), { fin: false });
    const rest = frame(OP.CONT, msg.subarray(100), { fin: true }); // a 2-byte extended length
    ws.send(first.subarray(0, 1));
    await quiet();
    ws.send(first.subarray(1));
    await quiet();
    ws.send(rest.subarray(0, 3));
    await quiet();
    ws.send(rest.subarray(3, 50));
    await quiet();
    ws.send(rest.subarray(50));
    assert.equal((await ws.nextData()).json.id, 'slow');
    await quiet();
    ws.send(text({ type: 'ping', id: 'after' }));
    assert.equal((await ws.nextData()).json.id, 'after');
    ws.send(closeFrame(1000));
    await expectClose(ws, 1000);
  });

  test('a frame over --ws-max-message closes 1009', async () => {
    const ws = await open();
    ws.send(frame(OP.TEXT, Buffer.alloc(MAX + 1, 0x20)));
    await expectClose(ws, 1009);
  });

  test('a message over the limit in small fragments closes 1009 too', async () => {
    const ws = await open();
    const part = Buffer.alloc(1024, 0x20);
    ws.send(frame(OP.TEXT, part, { fin: false }));
    for (let i = 0; i < 4; i++) ws.send(frame(OP.CONT, part, { fin: false }));
    ws.send(frame(OP.CONT, part, { fin: true }));
    await expectClose(ws, 1009);
  });

  test('a message exactly at the limit is accepted', async () => {
    const ws = await open();
    const base = JSON.stringify({ type: 'ping', id: 'max', data: { s: '' } });
    const msg = JSON.stringify({ type: 'ping', id: 'max', data: { s: 'x'.repeat(MAX - base.length) } });
    assert.equal(Buffer.byteLength(msg), MAX);
    ws.send(text(msg));
    const ack = await ws.nextData();
    assert.equal(ack.json.id, 'max');
    ws.sock.destroy();
  });

  test('reserved bits, reserved opcodes and broken control frames close 1002', async () => {
    const cases = [
      frame(OP.TEXT, '{}', { rsv: 4 }),                  // RSV1 without an extension
      frame(3, 'x'),                                     // reserved data opcode
      frame(0xB, 'x'),                                   // reserved control opcode
      frame(OP.PING, 'x', { fin: false }),               // fragmented control frame
      frame(OP.PING, Buffer.alloc(126, 1)),              // control payload over 125 bytes
      frame(OP.CONT, 'x'),                               // continuation with nothing to continue
      Buffer.concat([frame(OP.TEXT, 'a', { fin: false }), frame(OP.TEXT, 'b')]), // new message mid-fragment
    ];
    for (const [i, bytes] of cases.entries()) {
      const ws = await open();
      ws.send(bytes);
      const f = await ws.untilClose().catch((e) => ({ code: `none (${e.message})` }));
      assert.equal(f.code, 1002, `case ${i}: close ${f.code}`);
      await ws.closed;
    }
  });

  test('bad close codes close 1002; a valid one is echoed', async () => {
    for (const code of [0, 999, 1004, 1005, 1006, 1015, 2999, 5000]) {
      const ws = await open();
      ws.send(closeFrame(code));
      await expectClose(ws, 1002);
    }
    const ws = await open();
    ws.send(closeFrame(4321, 'bye'));
    await expectClose(ws, 4321);
  });

  test('a close frame with a one-byte body closes 1002, not with an empty close', async () => {
    // The body is empty or a two-byte code (RFC 6455 5.5.1); one byte is neither.
    const ws = await open();
    ws.send(frame(OP.CLOSE, Buffer.from([3])));
    const f = await expectClose(ws, 1002);
    assert.ok(f.payload.length >= 2, 'the close carries a code');
  });

  test('invalid UTF-8 in a text message closes 1007', async () => {
    for (const bad of [Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80]), Buffer.from([0xc0, 0xaf])]) {
      const ws = await open();
      ws.send(frame(OP.TEXT, bad));
      await expectClose(ws, 1007);
    }
  });

  test('invalid UTF-8 split across fragments closes 1007', async () => {
    const ws = await open();
    ws.send(frame(OP.TEXT, Buffer.from('{"a":"'), { fin: false }));
    ws.send(frame(OP.CONT, Buffer.from([0xe2, 0x82]), { fin: false }));
    ws.send(frame(OP.CONT, Buffer.from('"}'), { fin: true }));
    await expectClose(ws, 1007);
  });

  test('a binary message closes 1003', async () => {
    const ws = await open();
    ws.send(frame(OP.BINARY, Buffer.from([1, 2, 3])));
    await expectClose(ws, 1003);
  });

  test('malformed JSON is an error reply, not a close', async () => {
    const ws = await open();
    ws.send(text('{not json'));
    const e = await ws.nextData();
    assert.equal(e.json.type, 'error');
    assert.equal(e.json.data.code, 'malformed_json');
    ws.send(text({ type: 'ping', id: 'after' }));
    assert.equal((await ws.nextData()).json.id, 'after');
    ws.sock.destroy();
  });
});
