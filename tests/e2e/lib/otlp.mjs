// SPDX-License-Identifier: MIT
// A small OTLP/HTTP receiver for the tracing tests: a node http server that accepts
// POST /v1/traces with a JSON ExportTraceServiceRequest, checks its shape against the OTLP JSON
// mapping (hex ids, unix nanos as decimal strings, integer enums, resource/scope/spans nesting)
// and keeps the spans, flattened with their resource attributes. Anything else it counts as a
// protocol error, so a test can assert there were none. `hang: true` makes a collector that
// takes requests and never answers (the slow/down case).
import http from 'node:http';

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const NANOS = /^[0-9]{16,20}$/;

/** A span's attributes as a plain object: { key: string | number }. */
export function attrs(list = []) {
  const out = {};
  for (const a of list) {
    const v = a.value || {};
    out[a.key] = 'intValue' in v ? Number(v.intValue) : v.stringValue;
  }
  return out;
}

function check(body, problems) {
  if (!Array.isArray(body.resourceSpans)) return problems.push('no resourceSpans array'), [];
  const spans = [];
  for (const rs of body.resourceSpans) {
    const resource = attrs(rs.resource?.attributes);
    if (typeof resource['service.name'] !== 'string') problems.push('resource without service.name');
    for (const ss of rs.scopeSpans || []) {
      if (typeof ss.scope?.name !== 'string') problems.push('scope without name');
      for (const s of ss.spans || []) {
        if (!HEX32.test(s.traceId)) problems.push(`traceId ${s.traceId}`);
        if (!HEX16.test(s.spanId)) problems.push(`spanId ${s.spanId}`);
        if (s.parentSpanId !== undefined && !HEX16.test(s.parentSpanId)) problems.push(`parentSpanId ${s.parentSpanId}`);
        if (!NANOS.test(s.startTimeUnixNano) || !NANOS.test(s.endTimeUnixNano)) problems.push(`times ${s.startTimeUnixNano} ${s.endTimeUnixNano}`);
        else if (BigInt(s.endTimeUnixNano) < BigInt(s.startTimeUnixNano)) problems.push('ends before it starts');
        if (!Number.isInteger(s.kind) || s.kind < 1 || s.kind > 5) problems.push(`kind ${s.kind}`);
        if (s.status !== undefined && !Number.isInteger(s.status.code)) problems.push(`status ${JSON.stringify(s.status)}`);
        for (const a of s.attributes || []) {
          const v = a.value || {};
          if ('intValue' in v && !/^-?[0-9]+$/.test(v.intValue)) problems.push(`intValue ${v.intValue}`);
          if (!('intValue' in v) && typeof v.stringValue !== 'string') problems.push(`attribute ${a.key}`);
        }
        spans.push({ ...s, attrs: attrs(s.attributes), resource });
      }
    }
  }
  return spans;
}

/** Starts the receiver: { url, spans, requests, problems, waitFor(pred), close() }. */
export function startOtlpReceiver({ hang = false } = {}) {
  const spans = [];
  const problems = [];
  const waiters = [];
  const held = [];
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    if (hang) { held.push(res); req.resume(); return; }
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        problems.push(`${req.method} ${req.url}`);
        res.writeHead(404).end();
        return;
      }
      if (!/^application\/json/.test(req.headers['content-type'] || '')) problems.push(`content-type ${req.headers['content-type']}`);
      let parsed;
      try { parsed = JSON.parse(body); } catch { problems.push('body is not JSON'); res.writeHead(400).end(); return; }
      spans.push(...check(parsed, problems));
      for (const w of [...waiters]) if (w.pred(spans)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(); }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    resolve({
      url: `http://127.0.0.1:${port}`,
      spans,
      problems,
      get requests() { return requests; },
      /** Waits until pred(spans) holds (the exporter flushes about every second). */
      waitFor(pred, timeoutMs = 15000) {
        if (pred(spans)) return Promise.resolve();
        return new Promise((res, rej) => {
          const w = { pred, resolve: () => { clearTimeout(w.t); res(); } };
          w.t = setTimeout(() => { waiters.splice(waiters.indexOf(w), 1); rej(new Error(`spans never matched; have ${spans.map((s) => s.name).join(', ')}`)); }, timeoutMs);
          waiters.push(w);
        });
      },
      close: () => new Promise((r) => {
        for (const res of held) res.destroy();
        server.closeAllConnections?.();
        server.close(() => r());
      }),
    });
  }));
}
