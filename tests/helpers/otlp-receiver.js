#!/usr/bin/env node
// A test OTLP/HTTP metrics receiver. It decodes every request with the
// official OTLP definitions: the protobuf code that OpenTelemetry JS
// generates from opentelemetry-proto (the @opentelemetry/otlp-transformer
// package, installed at test time by otlp-receiver-setup; nothing of it is
// in this repository), and it is strict about the encoding:
//
//   protobuf  the body must be the canonical encoding of what it decodes to
//             (re-encoding gives the same bytes: no unknown fields, fields in
//             order, no defaults, exact lengths);
//   JSON      the body must be exactly the OTLP JSON of what it decodes to
//             (lowerCamelCase keys only, 64-bit integers as strings, enums
//             as numbers, NaN and infinities as strings).
//
// usage:
//   otlp-receiver.js --log FILE [--port N] [--script ACTIONS]
//                    [--tls-cert F --tls-key F [--tls-client-ca F]]
//       Serves POST /v1/metrics on 127.0.0.1 (port 0: any free port; the port
//       is printed as "listening on 127.0.0.1:PORT" on stderr). Appends one
//       JSON line per request to FILE: {seq, action, path, headers, bytes,
//       error?, request?} where request is the decoded
//       ExportMetricsServiceRequest in OTLP JSON. ACTIONS, comma-separated,
//       answer the requests in turn (then "ok" for the rest):
//         ok            200 with an empty ExportMetricsServiceResponse
//         503[:S]       503, with Retry-After: S when given (also 429, 502, 504)
//         hang:S        answer 200 only after S seconds
//         400:MESSAGE   400 with a google.rpc.Status carrying MESSAGE
//         partial:N:MSG 200 with a partial success of N rejected points
//         close         close the connection without an answer
//   otlp-receiver.js --decode FILE
//       Checks each line of FILE (OTLP JSON requests, as kv-promfmt
//       --format otlp-json writes them) the same way; prints each decoded
//       request, or the first error and exits 1.
'use strict';

const fs = require('fs');
const http = require('http');
const https = require('https');
const path = require('path');
const zlib = require('zlib');
const assert = require('assert');

const modules = process.env.KV_OTLP_NODE_MODULES;
if (!modules) {
  console.error('otlp-receiver: KV_OTLP_NODE_MODULES is not set (run otlp-receiver-setup)');
  process.exit(2);
}
const root = require(path.resolve(modules, '@opentelemetry/otlp-transformer/build/src/generated/root.js'));
const v1 = root.opentelemetry.proto;
const Request = v1.collector.metrics.v1.ExportMetricsServiceRequest;
const Response = v1.collector.metrics.v1.ExportMetricsServiceResponse;

const toObjectOptions = { longs: String, enums: Number, bytes: String, defaults: false, json: true };

function fromProtobuf(body) {
  const message = Request.decode(body);
  const again = Buffer.from(Request.encode(message).finish());
  if (!again.equals(body)) {
    throw new Error(`not the canonical encoding: ${body.length} bytes re-encode to ${again.length}` +
                    ` (first difference at byte ${firstDifference(body, again)})`);
  }
  return Request.toObject(message, toObjectOptions);
}

function fromJson(text) {
  const parsed = JSON.parse(text);
  const problem = Request.verify(Request.fromObject(parsed));
  if (problem) throw new Error(`invalid request: ${problem}`);
  const canonical = Request.toObject(Request.fromObject(parsed), toObjectOptions);
  try {
    assert.deepStrictEqual(parsed, canonical);
  } catch (e) {
    throw new Error('not exactly the OTLP JSON of what it decodes to:\n' + e.message);
  }
  return canonical;
}

function firstDifference(a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); ++i) if (a[i] !== b[i]) return i;
  return Math.min(a.length, b.length);
}

// google.rpc.Status{code = 1, message = 2}, by hand: it is not an OTLP message.
function statusProtobuf(code, message) {
  const text = Buffer.from(message, 'utf8');
  const parts = [Buffer.from([0x08, code, 0x12]), varint(text.length), text];
  return Buffer.concat(parts);
}
function varint(n) {
  const bytes = [];
  while (n >= 0x80) { bytes.push((n & 0x7f) | 0x80); n = Math.floor(n / 128); }
  bytes.push(n);
  return Buffer.from(bytes);
}

function parseArgs(argv) {
  const args = { port: 0, script: [] };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    const value = () => argv[++i];
    if (a === '--log') args.log = value();
    else if (a === '--port') args.port = Number(value());
    else if (a === '--script') args.script = value().split(',').filter((s) => s.length > 0);
    else if (a === '--tls-cert') args.cert = value();
    else if (a === '--tls-key') args.key = value();
    else if (a === '--tls-client-ca') args.clientCa = value();
    else if (a === '--decode') args.decode = value();
    else { console.error(`otlp-receiver: unknown argument ${a}`); process.exit(2); }
  }
  return args;
}

function decodeFile(file) {
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0);
  lines.forEach((line, i) => {
    try {
      process.stdout.write(JSON.stringify(fromJson(line)) + '\n');
    } catch (e) {
      console.error(`${file}:${i + 1}: ${e.message}`);
      process.exit(1);
    }
  });
}

function serve(args) {
  let seq = 0;
  const script = args.script.slice();
  const record = (entry) => fs.appendFileSync(args.log, JSON.stringify(entry) + '\n');

  const handler = (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const action = script.length > 0 ? script.shift() : 'ok';
      const raw = Buffer.concat(chunks);
      const entry = { seq: ++seq, action, method: req.method, path: req.url, headers: req.headers,
                      bytes: raw.length };
      const contentType = req.headers['content-type'] || '';
      const json = contentType.startsWith('application/json');
      try {
        if (req.method !== 'POST' || req.url !== '/v1/metrics') throw new Error(`${req.method} ${req.url}`);
        const body = req.headers['content-encoding'] === 'gzip' ? zlib.gunzipSync(raw) : raw;
        entry.decodedBytes = body.length;
        if (json) entry.request = fromJson(body.toString('utf8'));
        else if (contentType === 'application/x-protobuf') entry.request = fromProtobuf(body);
        else throw new Error(`Content-Type ${contentType}`);
      } catch (e) {
        entry.error = e.message;
      }
      record(entry);
      if (entry.error) return answer(res, json, 400, { code: 3, message: entry.error });
      const [verb, a1, ...rest] = action.split(':');
      switch (verb) {
        case 'ok': return answer(res, json, 200, null);
        case '429': case '502': case '503': case '504': {
          if (a1 !== undefined) res.setHeader('Retry-After', a1);
          return answer(res, json, Number(verb), { code: 14, message: `unavailable (test script: ${action})` });
        }
        case 'hang':
          return setTimeout(() => { if (!res.destroyed) answer(res, json, 200, null); }, Number(a1) * 1000);
        case '400':
          return answer(res, json, 400, { code: 3, message: [a1, ...rest].join(':') });
        case 'partial':
          return answer(res, json, 200, null, { rejectedDataPoints: Number(a1), errorMessage: rest.join(':') });
        case 'close':
          return req.socket.destroy();
        default:
          console.error(`otlp-receiver: unknown action ${action}`);
          process.exit(2);
      }
    });
  };

  const answer = (res, json, status, error, partial) => {
    res.statusCode = status;
    res.setHeader('Content-Type', json ? 'application/json' : 'application/x-protobuf');
    let body;
    if (error) {
      body = json ? JSON.stringify(error) : statusProtobuf(error.code, error.message);
    } else {
      const response = Response.fromObject(partial ? { partialSuccess: partial } : {});
      body = json ? JSON.stringify(Response.toObject(response, toObjectOptions))
                  : Buffer.from(Response.encode(response).finish());
    }
    res.end(body);
  };

  const server = args.cert
    ? https.createServer({ cert: fs.readFileSync(args.cert), key: fs.readFileSync(args.key),
                           ca: args.clientCa ? fs.readFileSync(args.clientCa) : undefined,
                           requestCert: !!args.clientCa, rejectUnauthorized: !!args.clientCa }, handler)
    : http.createServer(handler);
  server.listen(args.port, '127.0.0.1', () => {
    console.error(`listening on 127.0.0.1:${server.address().port}`);
  });
  for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
}

const args = parseArgs(process.argv.slice(2));
if (args.decode) decodeFile(args.decode);
else if (args.log) serve(args);
else { console.error('otlp-receiver: --log FILE or --decode FILE'); process.exit(2); }
