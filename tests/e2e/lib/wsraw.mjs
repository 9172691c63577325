// SPDX-License-Identifier: MIT
// A raw WebSocket client over node:net for the protocol tests: it writes exactly the bytes a
// test asks for (unmasked frames, reserved bits, bad close codes, fragments with pings between)
// and parses what the server sends back, so the hub's RFC 6455 handling is checked without a
// library smoothing anything over.
import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';

export const OP = { CONT: 0, TEXT: 1, BINARY: 2, CLOSE: 8, PING: 9, PONG: 10 };

/** Encodes one client frame. mask: false sends it unmasked (a protocol error from a client). */
export function frame(opcode, payload = Buffer.alloc(0), { fin = true, mask = true, rsv = 0 } = {}) {
  const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const len = data.length;
  const head = [((fin ? 0x80 : 0) | (rsv << 4) | opcode)];
  const m = mask ? 0x80 : 0;
  if (len < 126) head.push(m | len);
  else if (len < 65536) head.push(m | 126, len >> 8, len & 255);
  else {
    head.push(m | 127, 0, 0, 0, 0);
    head.push((len >>> 24) & 255, (len >>> 16) & 255, (len >>> 8) & 255, len & 255);
  }
  if (!mask) return Buffer.concat([Buffer.from(head), data]);
  const key = randomBytes(4);
  const body = Buffer.alloc(len);
  for (let i = 0; i < len; i++) body[i] = data[i] ^ key[i & 3];
  return Buffer.concat([Buffer.from(head), key, body]);
}

export const text = (obj, opts) => frame(OP.TEXT, typeof obj === 'string' ? obj : JSON.stringify(obj), opts);
export const closeFrame = (code, reason = '') => {
  const b = Buffer.alloc(2 + Buffer.byteLength(reason));
  b.writeUInt16BE(code, 0);
  b.write(reason, 2);
  return frame(OP.CLOSE, b);
};

/** Parses complete server frames off the front of buf; returns [frames, rest]. */
function parse(buf) {
  const out = [];
  for (;;) {
    if (buf.length < 2) break;
    let len = buf[1] & 127, off = 2;
    if (len === 126) { if (buf.length < 4) break; len = buf.readUInt16BE(2); off = 4; }
    else if (len === 127) { if (buf.length < 10) break; len = Number(buf.readBigUInt64BE(2)); off = 10; }
    if (buf[1] & 0x80) throw new Error('the server masked a frame');
    if (buf.length < off + len) break;
    const payload = buf.subarray(off, off + len);
    const f = { fin: !!(buf[0] & 0x80), opcode: buf[0] & 15, payload: Buffer.from(payload) };
    if (f.opcode === OP.CLOSE) {
      f.code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      f.reason = payload.subarray(2).toString();
    }
    if (f.opcode === OP.TEXT) { try { f.json = JSON.parse(payload.toString()); } catch { f.json = null; } }
    out.push(f);
    buf = buf.subarray(off + len);
  }
  return [out, buf];
}

/**
 * Sends an upgrade request to base (http://host:port) + path with the given headers (null
 * drops a default one) and resolves { status, headers, accept, key, ws } where ws is a frame
 * reader/writer on the socket when the answer was 101.
 */
export function handshake(base, { path = '/api/v1/ws', headers = {}, paused = false } = {}) {
  const u = new URL(base);
  const key = randomBytes(16).toString('base64');
  const h = { Host: u.host, Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': key, ...headers };
  let req = `GET ${path} HTTP/1.1\r\n`;
  for (const [k, v] of Object.entries(h)) if (v !== null && v !== undefined) req += `${k}: ${v}\r\n`;
  req += '\r\n';
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(u.port), u.hostname);
    let buf = Buffer.alloc(0), done = false;
    sock.on('error', (e) => { if (!done) reject(e); });
    const onData = (d) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      done = true;
      sock.off('data', onData);
      const lines = buf.subarray(0, end).toString().split('\r\n');
      const status = Number(lines[0].split(' ')[1]);
      const headersOut = {};
      for (const l of lines.slice(1)) { const i = l.indexOf(':'); headersOut[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim(); }
      const rest = buf.subarray(end + 4);
      const accept = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
      if (status !== 101) {
        sock.destroy();
        let body = rest.toString();
        let json = null;
        try { json = JSON.parse(body); } catch { json = null; }
        resolve({ status, headers: headersOut, key, accept, json, body });
        return;
      }
      if (paused) sock.pause();
      resolve({ status, headers: headersOut, key, accept, ws: reader(sock, rest) });
    };
    sock.on('data', onData);
    sock.write(req);
  });
}

/** Frame reader: next() resolves the next server frame; closed resolves when the TCP ends. */
function reader(sock, initial) {
  let buf = initial, queue = [], waiters = [], ended = false;
  const push = () => {
    const [frames, rest] = parse(buf);
    buf = rest;
    queue.push(...frames);
    while (waiters.length && queue.length) waiters.shift().resolve(queue.shift());
    if (ended) while (waiters.length) waiters.shift().reject(new Error('connection ended'));
  };
  sock.on('data', (d) => { buf = Buffer.concat([buf, d]); push(); });
  const closed = new Promise((r) => sock.on('close', r));
  sock.on('close', () => { ended = true; push(); });
  sock.on('error', () => {});
  push();
  const api = {
    sock,
    closed,
    send: (b) => sock.write(b),
    next(timeoutMs = 10000) {
      if (queue.length) return Promise.resolve(queue.shift());
      if (ended) return Promise.reject(new Error('connection ended'));
      return new Promise((resolve, reject) => {
        const w = { resolve: (f) => { clearTimeout(t); resolve(f); }, reject: (e) => { clearTimeout(t); reject(e); } };
        const t = setTimeout(() => { waiters.splice(waiters.indexOf(w), 1); reject(new Error('no frame in time')); }, timeoutMs);
        waiters.push(w);
      });
    },
    /** The next frame that is not a ping (pings are answered only when pong is true). */
    async nextData({ pong = false, timeoutMs } = {}) {
      for (;;) {
        const f = await api.next(timeoutMs);
        if (f.opcode === OP.PING) { if (pong) sock.write(frame(OP.PONG, f.payload)); continue; }
        return f;
      }
    },
    /** Reads until a close frame; resolves it (and the frames before it). */
    async untilClose(timeoutMs = 15000) {
      const before = [];
      for (;;) {
        const f = await api.next(timeoutMs);
        if (f.opcode === OP.CLOSE) { f.before = before; return f; }
        before.push(f);
      }
    },
  };
  return api;
}
