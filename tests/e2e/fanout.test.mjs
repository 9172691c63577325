// SPDX-License-Identifier: MIT
// Room fan-out through the hub's direct path (one shared frame per message, batched writes),
// with a real client (npm `ws`): a pipelined burst reaches every member socket of several users
// in send order, exactly once, byte-identical across sockets, with frames of both short and
// 16-bit lengths; a member that goes away mid-burst does not disturb the others; the sender's
// acks come back in order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startServer, stopAll } from './lib/harness.mjs';
import { register } from './lib/accounts.mjs';

let url;
before(async () => {
  url = (await startServer({ args: ['--trust-proxy', '--rate-limit', '0', '--auth-rate-limit', '0',
    '--room-members-interval', '1'] })).url;
});
after(stopAll);

/** A socket that records every text message it receives, raw. */
async function member(token, room) {
  const ws = new WebSocket(url.replace(/^http/, 'ws') + '/api/v1/ws', { headers: { authorization: `Bearer ${token}` } });
  const raw = [];
  let onMsg = () => {};
  ws.on('message', (m) => { raw.push(m.toString()); onMsg(); });
  await new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject); });
  const until = (pred) => new Promise((resolve) => {
    const check = () => { if (pred()) { onMsg = () => {}; resolve(); } };
    onMsg = check;
    check();
  });
  ws.send(JSON.stringify({ type: 'room.join', id: 'join', data: { room } }));
  await until(() => raw.some((s) => JSON.parse(s).id === 'join'));
  const join = JSON.parse(raw.find((s) => JSON.parse(s).id === 'join'));
  assert.equal(join.type, 'ack', JSON.stringify(join));
  return { ws, raw, until, roomMessages: () => raw.filter((s) => s.includes('"type":"room.message"')) };
}

test('a pipelined burst reaches every member socket in order, once, byte-identical', async () => {
  const users = [await register(url), await register(url), await register(url)];
  const room = `burst-${Date.now()}`;
  const members = [];
  for (let i = 0; i < 24; i++) members.push(await member(users[i % 3].tokens.access_token, room));
  const sender = members[0];
  const leaver = members[23];
  const N = 80;
  const texts = Array.from({ length: N }, (_, i) => `m${i}:` + 'é'.repeat(i % 2 ? 3 : 300)); // short and 16-bit frames
  for (let i = 0; i < N; i++) {
    sender.ws.send(JSON.stringify({ type: 'room.send', id: `s${i}`, data: { room, text: texts[i] } }));
    if (i === N / 2) leaver.ws.terminate(); // gone mid-burst
  }
  const others = members.slice(0, 23);
  await Promise.all(others.map((m) => m.until(() => m.roomMessages().length >= N)));
  // the acks, in the order the requests were sent
  const acks = sender.raw.map((s) => JSON.parse(s)).filter((m) => m.type === 'ack' && m.id?.startsWith('s'));
  assert.deepEqual(acks.map((m) => m.id), texts.map((_, i) => `s${i}`));
  const reference = sender.roomMessages();
  assert.equal(reference.length, N);
  reference.forEach((s, i) => {
    const m = JSON.parse(s);
    assert.equal(m.data.text, texts[i], `message ${i} in order`);
    assert.equal(m.data.id, acks[i].data.id);
  });
  for (const m of others) {
    await new Promise((r) => setTimeout(r, 0));
    assert.deepEqual(m.roomMessages(), reference, 'same messages, same order, same bytes, no duplicates');
  }
  // a message after the burst still reaches everyone else
  const last = await new Promise((resolve) => {
    sender.ws.send(JSON.stringify({ type: 'room.send', id: 'after', data: { room, text: 'after' } }));
    sender.until(() => sender.raw.some((s) => JSON.parse(s).id === 'after')).then(() => resolve(JSON.parse(sender.raw.find((s) => JSON.parse(s).id === 'after'))));
  });
  assert.equal(last.type, 'ack');
  await Promise.all(others.map((m) => m.until(() => m.roomMessages().length === N + 1)));
  assert.equal(leaver.roomMessages().length <= N, true);
  for (const m of others) m.ws.close();
});
