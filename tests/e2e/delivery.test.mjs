// SPDX-License-Identifier: MIT
// Message delivery through the outbox: retries when the gateway fails, and `streamhub worker`
// processes delivering what a server queued (several processes sharing one database).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startServer, stopAll, startWebhookReceiver } from './lib/harness.mjs';
import { BIN, client, register } from './lib/accounts.mjs';

const hooks = [];
after(async () => { await stopAll(); for (const h of hooks) await h.close(); });

test('a failing gateway is retried until the message gets through', async () => {
  const hook = await startWebhookReceiver();
  hooks.push(hook);
  hook.failNext(2);
  const server = await startServer({ args: ['--trust-proxy', '--delivery', 'webhook', '--webhook-url', hook.url] });
  const a = await register(server.url);
  const msg = await hook.waitFor((m) => m.to === a.creds.email, 15000);
  assert.equal(msg.template, 'verify_email');
  assert.equal(msg._headers['idempotency-key'].startsWith('outbox-'), true);
  assert.match(server.stderrText(), /"msg":"delivery failed".*"attempt":2/);
});

test('a streamhub worker delivers what a crashed server had queued', async () => {
  const hook = await startWebhookReceiver();
  hooks.push(hook);
  // The server's gateway is unreachable, so its attempt fails; then the server dies.
  const server = await startServer({ args: ['--trust-proxy', '--delivery', 'webhook', '--webhook-url', 'http://127.0.0.1:9/unreachable'] });
  const c = client(server.url);
  const email = `worker_${Date.now()}@example.test`;
  assert.equal((await c.post('/api/v1/auth/otp/request', { json: { email } })).status, 202);
  await server.kill('SIGKILL');
  const args = ['worker', '--data-dir', server.dataDir, '--delivery', 'webhook', '--webhook-url', hook.url];
  if (server.database) args.push('--database', server.database);
  const worker = spawn(BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  worker.stderr.on('data', (d) => { stderr += d; });
  try {
    const msg = await hook.waitFor((m) => m.to === email, 20000);
    assert.match(msg.data.code, /^[0-9]{6}$/);
  } finally {
    worker.kill('SIGTERM');
    const code = await new Promise((r) => worker.on('exit', r));
    assert.equal(code, 0, stderr);
  }
});

test('bad delivery settings stop the server at start with a message', async () => {
  await assert.rejects(startServer({ args: ['--delivery', 'pigeon'] }), /--delivery must be log, webhook or smtp/);
  await assert.rejects(startServer({ args: ['--delivery', 'webhook'] }), /needs --webhook-url/);
});
