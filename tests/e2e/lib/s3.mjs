// SPDX-License-Identifier: MIT
// A real S3-compatible server for the tests: s3rver (npm) on a loopback port, behind a small
// proxy that checks every request's AWS Signature Version 4. s3rver 3.7 accepts any V4 signature
// (its code says the calculation is unimplemented), so without the proxy a wrongly signed request
// would pass. The proxy recomputes each signature with the official AWS signer
// (@smithy/signature-v4 with @aws-crypto/sha256-js) from the request's own signed headers, checks
// the declared payload hash against the body, and answers 403 SignatureDoesNotMatch (as S3 does)
// on any mismatch; only verified requests reach s3rver.
//
// The proxy can also play a failing store: mode 'hang' accepts requests and never answers (a
// store that stopped responding), 'error' answers 503 SlowDown, 'ok' forwards.
import http from 'node:http';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';
import { S3Client } from '@aws-sdk/client-s3';

// s3rver's built-in account (lib/s3rver-main.mjs runs it in a process of its own)
export const ACCESS_KEY = 'S3RVER';
export const SECRET_KEY = 'S3RVER';
export const REGION = 'us-east-1';

const AUTH = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

function s3Error(res, status, code, message) {
  res.writeHead(status, { 'content-type': 'application/xml' });
  res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`);
}

/** The query of a raw request target as the signer wants it: decoded names and values. */
function parseQuery(search) {
  const query = {};
  for (const part of search.replace(/^\?/, '').split('&').filter(Boolean)) {
    const eq = part.indexOf('=');
    const name = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
    const value = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1).replace(/\+/g, ' '));
    query[name] = name in query ? [].concat(query[name], value) : value;
  }
  return query;
}

/** Why the request's signature is wrong, or null when it is right. */
async function verify(req, body, secret) {
  const m = AUTH.exec(req.headers.authorization || '');
  if (!m) return ['AccessDenied', 'no AWS4-HMAC-SHA256 Authorization header'];
  const [, accessKey, day, region, service, signedList, signature] = m;
  if (accessKey !== ACCESS_KEY) return ['InvalidAccessKeyId', 'unknown access key'];
  const amzDate = req.headers['x-amz-date'] || '';
  if (!amzDate.startsWith(day)) return ['SignatureDoesNotMatch', 'x-amz-date is not the credential day'];
  const declared = req.headers['x-amz-content-sha256'];
  if (!declared) return ['InvalidRequest', 'missing x-amz-content-sha256'];
  if (declared !== 'UNSIGNED-PAYLOAD' && declared !== createHash('sha256').update(body).digest('hex')) {
    return ['XAmzContentSHA256Mismatch', 'the body does not match x-amz-content-sha256'];
  }
  const signed = signedList.split(';');
  if (!signed.includes('host') || !signed.includes('x-amz-date')) return ['SignatureDoesNotMatch', 'host and x-amz-date must be signed'];
  const headers = {};
  for (const h of signed) {
    if (req.headers[h] === undefined) return ['SignatureDoesNotMatch', `signed header ${h} is missing`];
    headers[h] = req.headers[h];
  }
  const target = new URL(req.url, 'http://verifier.invalid');
  const request = {
    method: req.method, protocol: 'http:', hostname: 'verifier.invalid',
    path: target.pathname, query: parseQuery(target.search), headers, body,
  };
  const signer = new SignatureV4({
    credentials: { accessKeyId: accessKey, secretAccessKey: secret },
    region, service, sha256: Sha256, uriEscapePath: false, applyChecksum: false,
  });
  const when = new Date(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
  if (Number.isNaN(when.getTime())) return ['SignatureDoesNotMatch', 'bad x-amz-date'];
  const out = await signer.sign(request, { signingDate: when, signableHeaders: new Set(signed), signingRegion: region, signingService: service });
  const expected = /Signature=([0-9a-f]{64})/.exec(out.headers.authorization)[1];
  return expected === signature ? null : ['SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.'];
}

/**
 * Starts s3rver with the given buckets and the verifying proxy in front. Returns the endpoint
 * (the proxy), counters, mode switches, an AWS SDK client against the proxy and stop().
 */
export async function startS3({ buckets = ['streamhub-media'], secret = SECRET_KEY } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'sh-s3-'));
  const child = spawn(process.execPath, ['--openssl-legacy-provider', fileURLToPath(new URL('./s3rver-main.mjs', import.meta.url)), dir, ...buckets],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  const backend = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => { out += d; if (out.includes('\n')) resolve(JSON.parse(out)); });
    child.on('exit', (code) => reject(new Error(`s3rver exited (${code}) before listening`)));
  });
  const exited = new Promise((r) => child.on('exit', r));
  const stats = { verified: 0, rejected: 0, rejections: [], requests: [] };
  let mode = 'ok';
  const agent = new http.Agent({ keepAlive: true });
  const held = new Set();
  const proxy = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      if (mode === 'hang') { held.add(res); res.on('close', () => held.delete(res)); return; }
      if (mode === 'error') { s3Error(res, 503, 'SlowDown', 'Please reduce your request rate.'); return; }
      let why;
      try { why = await verify(req, body, secret); } catch (e) { why = ['SignatureDoesNotMatch', String(e)]; }
      if (why) {
        stats.rejected++;
        stats.rejections.push(`${req.method} ${req.url}: ${why[0]} ${why[1]}`);
        s3Error(res, why[0] === 'XAmzContentSHA256Mismatch' || why[0] === 'InvalidRequest' ? 400 : 403, why[0], why[1]);
        return;
      }
      stats.verified++;
      stats.requests.push(`${req.method} ${req.url}`);
      const headers = { ...req.headers, host: `127.0.0.1:${backend.port}` };
      const up = http.request({ host: '127.0.0.1', port: backend.port, method: req.method, path: req.url, headers, agent }, (r) => {
        res.writeHead(r.statusCode, r.headers);
        r.pipe(res);
      });
      res.on('close', () => { if (!res.writableFinished) up.destroy(); }); // the client left mid-body
      up.on('error', () => s3Error(res, 502, 'InternalError', 'backend unreachable'));
      up.end(body);
    });
  });
  await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${proxy.address().port}`;
  return {
    endpoint,
    backendPort: backend.port,
    stats,
    bucket: buckets[0],
    /** The --object-store value for bucket with extra parameters. */
    spec(params = {}, bucket = buckets[0]) {
      const q = new URLSearchParams({ endpoint, region: REGION, ...params });
      return `s3://${bucket}?${q}`;
    },
    env: { AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET_KEY },
    setMode(m) {
      mode = m;
      if (m !== 'hang') for (const res of held) res.destroy();
    },
    /** The official SDK, through the verifying proxy. */
    client(secretAccessKey = SECRET_KEY) {
      return new S3Client({ endpoint, region: REGION, forcePathStyle: true, credentials: { accessKeyId: ACCESS_KEY, secretAccessKey } });
    },
    async stop() {
      for (const res of held) res.destroy();
      proxy.closeAllConnections?.();
      await new Promise((r) => proxy.close(r));
      agent.destroy();
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
