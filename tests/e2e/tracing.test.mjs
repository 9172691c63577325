// SPDX-License-Identifier: MIT
// OpenTelemetry tracing (issue 13, docs/operations.md "Tracing") against a real OTLP/HTTP
// receiver (lib/otlp.mjs): a request's SERVER span continues the caller's traceparent, its SQL
// statements are CLIENT spans under it, the job it queues runs as a CONSUMER span in the same
// trace and the webhook that job's message goes out on is a CLIENT span there too, carrying the
// traceparent on to the receiver. Tracing off exports nothing; a collector that is down or never
// answers costs requests nothing (spans are dropped and counted instead); a malformed
// traceparent starts a new trace and is never an error; sampling follows the caller's flag.
import { test, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { startServer, stopAll, startWebhookReceiver, nodeUrls, CLUSTER_NODES } from './lib/harness.mjs';
import { BIN, client, register } from './lib/accounts.mjs';
import { startOtlpReceiver } from './lib/otlp.mjs';

const SERVER = 2, CLIENT = 3, CONSUMER = 5;
const closers = [];
after(async () => {
  await stopAll();
  for (const close of closers) await close();
});

const hex = (bytes) => randomBytes(bytes).toString('hex');
const requestId = () => `trace-test-${hex(6)}`;

/** The exporter's figures: in cluster mode the nodes' summed, and the longest queue of any. */
async function metrics(server) {
  const total = { exported: 0, dropped: 0, failures: 0, queued: 0 };
  for (const url of nodeUrls(server)) {
    const text = await (await fetch(url + '/metrics')).text();
    const value = (name) => {
      const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
      assert.ok(m, `${name} missing from /metrics`);
      return Number(m[1]);
    };
    total.exported += value('streamhub_trace_spans_exported_total');
    total.dropped += value('streamhub_trace_spans_dropped_total');
    total.failures += value('streamhub_trace_export_failures_total');
    total.queued = Math.max(total.queued, value('streamhub_trace_spans_queued'));
  }
  return total;
}

async function tracedServer(collector, extra = []) {
  return startServer({ args: ['--trust-proxy', '--rate-limit', '0', '--otlp-endpoint', collector.url,
    '--otlp-service-name', 'streamhub-e2e', ...extra] });
}

describe('a traced request', () => {
  test('continues the caller\'s trace through its SQL, the job it queues and the webhook that job sends', async () => {
    const collector = await startOtlpReceiver();
    closers.push(collector.close);
    const hook = await startWebhookReceiver();
    closers.push(hook.close);
    const server = await tracedServer(collector, ['--delivery', 'webhook', '--webhook-url', hook.url]);
    const a = await register(server.url);
    const traceId = hex(16), callerSpan = hex(8), rid = requestId();
    const r = await client(server.url).post('/api/v1/auth/password/forgot', {
      json: { email: a.creds.email },
      headers: { traceparent: `00-${traceId}-${callerSpan}-01`, 'x-request-id': rid },
    });
    assert.equal(r.status, 202);

    const inTrace = (spans) => spans.filter((s) => s.traceId === traceId);
    // in cluster mode the request's spans and the job's leave from different processes, in
    // either order: wait for both ends
    await collector.waitFor((spans) => inTrace(spans).some((s) => s.kind === CLIENT && s.name === 'POST')
      && inTrace(spans).some((s) => s.kind === SERVER));
    const spans = inTrace(collector.spans);
    assert.deepEqual(collector.problems, []);

    const req = spans.find((s) => s.kind === SERVER);
    assert.ok(req, 'a SERVER span for the request');
    assert.equal(req.parentSpanId, callerSpan, 'its parent is the caller\'s span');
    assert.equal(req.name, 'POST /api/v1/auth/password/forgot');
    assert.equal(req.attrs['http.request.method'], 'POST');
    assert.equal(req.attrs['http.route'], '/api/v1/auth/password/forgot');
    assert.equal(req.attrs['url.path'], '/api/v1/auth/password/forgot');
    assert.equal(req.attrs['http.response.status_code'], 202);
    assert.equal(req.attrs['http.request.header.x-request-id'], rid);
    assert.equal(req.resource['service.name'], 'streamhub-e2e');

    const sql = spans.filter((s) => s.kind === CLIENT && s.attrs['db.system']);
    const underRequest = sql.filter((s) => s.parentSpanId === req.spanId);
    assert.ok(underRequest.length >= 1, 'SQL spans under the request span');
    const db = process.env.STREAMHUB_TEST_PG ? 'postgresql' : 'sqlite';
    for (const s of sql) {
      assert.equal(s.attrs['db.system'], db);
      assert.ok(s.attrs['db.query.text'].length > 0);
      assert.ok(!s.attrs['db.query.text'].includes(a.creds.email), 'statements carry no values');
      assert.ok(BigInt(s.startTimeUnixNano) >= BigInt(req.startTimeUnixNano) || s.parentSpanId !== req.spanId);
    }
    assert.ok(underRequest.some((s) => /INSERT INTO jobs/.test(s.attrs['db.query.text'])), 'the job is queued in the request');

    const job = spans.find((s) => s.kind === CONSUMER);
    assert.ok(job, 'a CONSUMER span for the job');
    assert.equal(job.name, 'process auth.password_reset');
    assert.equal(job.parentSpanId, req.spanId, 'the job continues the request that queued it');
    assert.equal(job.attrs['messaging.destination.name'], 'auth.password_reset');
    assert.ok(sql.some((s) => s.parentSpanId === job.spanId), 'the job\'s SQL nests under it');

    const delivery = spans.find((s) => s.kind === CLIENT && s.name === 'POST');
    assert.equal(delivery.parentSpanId, job.spanId, 'the message was queued by the job');
    assert.equal(delivery.attrs['http.response.status_code'], 200);
    assert.equal(delivery.attrs['url.full'], hook.url);
    const msg = await hook.waitFor((m) => m.to === a.creds.email && m.template === 'reset_password');
    assert.equal(msg._headers.traceparent, `00-${traceId}-${delivery.spanId}-01`, 'the webhook call carries the trace on');

    const m = await metrics(server);
    // in cluster mode a worker ran the job and exported its spans (the job's and those under
    // it); workers have no /metrics, the nodes exported the rest
    const byWorker = new Set([job.spanId]);
    for (let grew = true; grew;) {
      grew = false;
      for (const s of spans) if (byWorker.has(s.parentSpanId) && !byWorker.has(s.spanId)) { byWorker.add(s.spanId); grew = true; }
    }
    const byNodes = CLUSTER_NODES ? spans.filter((s) => !byWorker.has(s.spanId)) : spans;
    assert.ok(m.exported >= byNodes.length, JSON.stringify(m));
    assert.equal(m.failures, 0);
  });

  test('a malformed traceparent starts a new trace and is never an error', async () => {
    const collector = await startOtlpReceiver();
    closers.push(collector.close);
    const server = await tracedServer(collector);
    const t = hex(16), s = hex(8);
    const bad = [
      'garbage',
      `00-${t.toUpperCase()}-${s}-01`,
      `00-${'0'.repeat(32)}-${s}-01`,
      `00-${t}-${'0'.repeat(16)}-01`,
      `ff-${t}-${s}-01`,
      `00-${t}-${s}-01-extra`,
      `00-${t}-${s}`,
      `00_${t}_${s}_01`,
      `00-${t}-${s}-0g`,
      `0-${t}-${s}-01`,
      'x'.repeat(300),
    ];
    const ids = [];
    for (const header of bad) {
      const rid = requestId();
      ids.push(rid);
      const r = await client(server.url).get('/api/v1/auth/me', { headers: { traceparent: header, 'x-request-id': rid } });
      assert.equal(r.status, 401, `traceparent ${header} answered ${r.status}`);
    }
    const forRequest = (spans, rid) => spans.find((x) => x.kind === SERVER && x.attrs['http.request.header.x-request-id'] === rid);
    await collector.waitFor((spans) => ids.every((rid) => forRequest(spans, rid)));
    for (const rid of ids) {
      const span = forRequest(collector.spans, rid);
      assert.equal(span.parentSpanId, undefined, 'a root');
      assert.notEqual(span.traceId, t, 'a trace of its own');
    }
    assert.deepEqual(collector.problems, []);
  });

  test('sampling follows the caller\'s flag; --trace-sample 0 records no new traces', async () => {
    const collector = await startOtlpReceiver();
    closers.push(collector.close);
    const server = await tracedServer(collector, ['--trace-sample', '0']);
    const sampled = hex(16), unsampled = hex(16);
    const c = client(server.url);
    assert.equal((await c.get('/api/v1/auth/me', { headers: { traceparent: `00-${unsampled}-${hex(8)}-00` } })).status, 401);
    assert.equal((await c.get('/api/v1/auth/me', { headers: { 'x-request-id': requestId() } })).status, 401);
    assert.equal((await c.get('/api/v1/auth/me', { headers: { traceparent: `00-${sampled}-${hex(8)}-01` } })).status, 401);
    // spans are exported in the order they end: once the sampled request's span is in, the
    // earlier requests' would be too
    await collector.waitFor((spans) => spans.some((x) => x.traceId === sampled));
    assert.deepEqual(collector.spans.filter((x) => x.kind === SERVER).map((x) => x.traceId), [sampled]);
  });
});

describe('WebSocket commands', () => {
  test('each command is a SERVER span of its own, with its SQL under it', async () => {
    const collector = await startOtlpReceiver();
    closers.push(collector.close);
    const server = await tracedServer(collector);
    const a = await register(server.url);
    // signed in by the auth command (a session lookup in the database), not by a header
    const ws = new WebSocket(server.url.replace(/^http/, 'ws') + '/api/v1/ws');
    const inbox = [];
    ws.on('message', (m) => inbox.push(JSON.parse(m.toString())));
    await new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject); });
    const until = async (pred) => {
      for (let i = 0; !inbox.some(pred); i++) {
        if (i === 500) throw new Error(`no such message; got ${JSON.stringify(inbox)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    ws.send(JSON.stringify({ type: 'auth', id: 'auth-1', data: { token: a.tokens.access_token } }));
    await until((m) => m.id === 'auth-1' && m.type === 'ack');
    ws.close();
    const isCmd = (x) => x.name === 'ws auth';
    await collector.waitFor((spans) => spans.some(isCmd));
    const cmd = collector.spans.find(isCmd);
    assert.equal(cmd.kind, SERVER);
    assert.equal(cmd.parentSpanId, undefined, 'a trace of its own');
    assert.equal(cmd.attrs['streamhub.ws.command'], 'auth');
    assert.equal(cmd.status, undefined, 'not an error');
    await collector.waitFor((spans) => spans.some((x) => x.parentSpanId === cmd.spanId && x.attrs['db.system']));
    assert.deepEqual(collector.problems, []);
  });
});

describe('tracing off or a collector in trouble', () => {
  test('off by default: no span is recorded, none is sent', async () => {
    const collector = await startOtlpReceiver();
    closers.push(collector.close);
    // the standard OpenTelemetry variable is not read: --otlp-endpoint is the one switch
    const server = await startServer({ args: ['--rate-limit', '0'], env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url } });
    const a = await register(server.url);
    for (let i = 0; i < 5; i++)
      assert.equal((await client(server.url).get('/api/v1/auth/me', {
        token: a.tokens.access_token, headers: { traceparent: `00-${hex(16)}-${hex(8)}-01` } })).status, 200);
    const m = await metrics(server);
    assert.deepEqual(m, { exported: 0, dropped: 0, failures: 0, queued: 0 });
    await server.stop();
    assert.equal(collector.requests, 0);
  });

  for (const [what, start] of [
    ['never answers', () => startOtlpReceiver({ hang: true })],
    ['is down', async () => {
      const s = http.createServer();
      await new Promise((r) => s.listen(0, '127.0.0.1', r));
      const url = `http://127.0.0.1:${s.address().port}`;
      await new Promise((r) => s.close(r));
      return { url, close: async () => {} };
    }],
  ]) {
    test(`a collector that ${what} never holds up a request: spans are dropped and counted`, async () => {
      const collector = await start();
      closers.push(collector.close);
      const server = await tracedServer(collector, ['--otlp-queue', '16', '--otlp-timeout', '1']);
      const a = await register(server.url);
      const c = client(server.url);
      for (let i = 0; i < 60; i++) {
        const r = await c.get('/api/v1/auth/me', { token: a.tokens.access_token });
        assert.equal(r.status, 200);
      }
      const m = await metrics(server);
      assert.ok(m.dropped > 0, `spans dropped: ${JSON.stringify(m)}`);
      assert.ok(m.queued <= 16, 'the queue stays bounded');
      assert.equal(m.exported, 0);
    });
  }
});

test('bad tracing options are refused at start', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'sh-trace-opts-'));
  for (const [args, status] of [
    [['--trace-sample', '1.5'], 2], [['--trace-sample', '-0.1'], 2], [['--trace-sample', 'half'], 2],
    [['--otlp-queue', '1'], 2], [['--otlp-timeout', '0'], 2], [['--otlp-endpoint', 'ftp://collector'], 1],
  ]) {
    let code = 0, stderr = '';
    try { execFileSync(BIN, ['serve', '--port', '0', '--data-dir', dataDir, ...args], { encoding: 'utf8', stdio: 'pipe', timeout: 20000 }); } catch (e) { code = e.status; stderr = e.stderr; }
    assert.equal(code, status, `${args.join(' ')}: ${stderr}`);
    assert.match(stderr, /trace-sample|otlp/);
  }
});
