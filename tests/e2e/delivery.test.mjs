// SPDX-License-Identifier: MIT
// Message delivery through the outbox: retries when the gateway fails, and `streamhub worker`
// processes delivering what a server queued (several processes sharing one database).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
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
  // Kill it once its failed attempt is recorded (a kill mid-attempt would leave the message
  // leased for 60 s before another process may retry it).
  for (let i = 0; i < 200 && !/"msg":"delivery failed"/.test(server.stderrText()); i++)
    await new Promise((r) => setTimeout(r, 50));
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

/** A minimal SMTP server (RFC 5321 happy path) that records each message's envelope and data. */
function startSmtpReceiver() {
  const mails = [];
  const server = net.createServer((sock) => {
    let buf = '', inData = false, mail = { rcpt: [], data: '' };
    sock.write('220 test ESMTP\r\n');
    sock.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (inData) {
          if (line === '.') { inData = false; mails.push(mail); mail = { rcpt: [], data: '' }; sock.write('250 queued\r\n'); }
          else mail.data += line + '\n';
          continue;
        }
        const cmd = line.slice(0, 4).toUpperCase();
        if (cmd === 'EHLO' || cmd === 'HELO') sock.write('250 test\r\n');
        else if (cmd === 'MAIL') { mail.from = line; sock.write('250 ok\r\n'); }
        else if (cmd === 'RCPT') { mail.rcpt.push(line); sock.write('250 ok\r\n'); }
        else if (cmd === 'DATA') { inData = true; sock.write('354 go ahead\r\n'); }
        else if (cmd === 'QUIT') { sock.end('221 bye\r\n'); }
        else sock.write('250 ok\r\n');
      }
    });
    sock.on('error', () => {});
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    url: `smtp://127.0.0.1:${server.address().port}`, mails, close: () => new Promise((r) => server.close(r)),
  })));
}

test('the smtp adapter sends email through a real SMTP conversation', async () => {
  const smtp = await startSmtpReceiver();
  hooks.push(smtp);
  const server = await startServer({ args: ['--trust-proxy', '--delivery', 'smtp', '--smtp-url', smtp.url, '--smtp-from', 'noreply@streamhub.test'] });
  const a = await register(server.url);
  const deadline = Date.now() + 10000;
  while (!smtp.mails.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(smtp.mails.length, 1);
  const m = smtp.mails[0];
  assert.match(m.from, /<noreply@streamhub\.test>/);
  assert.match(m.rcpt[0], new RegExp(`<${a.creds.email}>`));
  assert.match(m.data, /^Subject: Confirm your email address$/m);
  assert.match(m.data, /confirm your email address for StreamHub with this code: [A-Za-z0-9_-]{43}/);
});
