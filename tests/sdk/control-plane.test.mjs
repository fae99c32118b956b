// The control plane's transport, through both SDKs against a loopback stand-in for the API that
// answers as each test scripts it: the retry after a 429 (`Retry-After` in whole seconds, within
// the request timeout, `retries` times at most), the request timeout and the caller's signal
// (which must close the connection, seen from the server), failed answers' errors, an API that
// is not there, what the `logger` is told, and hostile input: sandbox IDs that try to leave their
// path segment, header values that try to add a header. Each case runs the same body through
// `e2b` and `e2b-wasm`; their outcomes, what the server saw and what was logged must be the same.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';

import { implementations } from './implementations.mjs';

let server, url;
/** `(request, response, n)` for the n-th request of the current case (0-based). */
let script;
let seen = [];
let closedEarly = 0;
before(async () => {
  server = createServer((req, res) => {
    const n = seen.length;
    seen.push(`${req.method} ${req.url}`);
    res.on('close', () => {
      if (!res.writableFinished) closedEarly++;
    });
    req.resume();
    req.on('end', () => script(req, res, n));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${server.address().port}`;
});
after(() => server?.close());

const INFO = JSON.stringify({ sandboxID: 'sbxcp', templateID: 'base', startedAt: '2026-01-01T00:00:00Z', endAt: '2026-01-01T01:00:00Z', metadata: {} });
const json = (res, status, body, headers = {}) => {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(body);
};
const opts = (more) => ({ apiUrl: url, apiKey: 'e2b_cp', ...more });
const outcome = (promise) => promise.then(
  (value) => ({ value: value?.sandboxId ?? value }),
  (err) => ({ error: err?.name, class: err?.constructor?.name, message: err?.message, statusCode: err?.statusCode }),
);

/**
 * Runs `call(sdk)` for both SDKs under `scripted`; returns ours: its outcome and the requests the
 * server saw, which must equal the official SDK's (bar the `ignored` keys).
 */
async function both(scripted, call, ignored = []) {
  const results = {};
  for (const [name, sdk] of implementations) {
    script = scripted;
    seen = [];
    closedEarly = 0;
    const result = await outcome(call(sdk));
    // Give a closed connection's `close` event its turn.
    await new Promise((resolve) => setTimeout(resolve, 50));
    results[name] = { ...result, requests: seen, closedEarly };
    for (const key of ignored) delete results[name][key];
  }
  assert.deepEqual(results['e2b-wasm'], results.e2b);
  return results['e2b-wasm'];
}

test('a 429 with Retry-After is retried after that many seconds', async () => {
  const r = await both(
    (req, res, n) => (n === 0 ? json(res, 429, '{"code":429,"message":"slow down"}', { 'Retry-After': '1' }) : json(res, 200, INFO)),
    (sdk) => sdk.Sandbox.getInfo('sbxcp', opts()),
  );
  assert.equal(r.value, 'sbxcp');
  assert.deepEqual(r.requests, ['GET /sandboxes/sbxcp', 'GET /sandboxes/sbxcp']);
});

for (const [label, more, retryAfter] of [
  ['with retries: 0', { retries: 0 }, '1'],
  ['when Retry-After outlasts the request timeout', { requestTimeoutMs: 1500 }, '2'],
  ['when Retry-After is an HTTP date', {}, 'Wed, 21 Oct 2015 07:28:00 GMT'],
  ['when Retry-After is not whole seconds', {}, '0.5'],
]) {
  test(`a 429 is not retried ${label}: RateLimitError`, async () => {
    const r = await both(
      (req, res) => json(res, 429, '{"code":429,"message":"slow down"}', { 'Retry-After': retryAfter }),
      (sdk) => sdk.Sandbox.kill('sbxcp', opts(more)),
    );
    assert.equal(r.class, 'RateLimitError');
    assert.equal(r.message, 'Rate limit exceeded, please try again later - slow down');
    assert.equal(r.statusCode, 429);
    assert.equal(r.requests.length, 1);
  });
}

test('retries stop after `retries` attempts', async () => {
  const r = await both(
    (req, res) => json(res, 429, '', { 'Retry-After': '0' }),
    (sdk) => sdk.Sandbox.setTimeout('sbxcp', 30_000, opts({ retries: 2 })),
  );
  assert.equal(r.class, 'RateLimitError');
  assert.equal(r.requests.length, 3);
});

test('an answer that never comes ends at the request timeout, and the connection is closed', async () => {
  const r = await both(() => {}, (sdk) => sdk.Sandbox.getInfo('sbxcp', opts({ requestTimeoutMs: 300 })));
  assert.equal(r.error, 'TimeoutError');
  assert.equal(r.requests.length, 1);
  assert.equal(r.closedEarly, 1);
});

test("the caller's signal aborts a call, also while it waits to retry", async () => {
  for (const [scripted, delay] of [
    [() => {}, 100],
    [(req, res) => json(res, 429, '', { 'Retry-After': '5' }), 300],
  ]) {
    const r = await both(scripted, (sdk) => sdk.Sandbox.pause('sbxcp', opts({ signal: AbortSignal.timeout(delay) })));
    assert.equal(r.error, 'TimeoutError');
    assert.equal(r.requests.length, 1);
  }
});

test('failed answers give the official errors', async () => {
  for (const [status, body, expected] of [
    [500, '{"code":500,"message":"boom"}', { class: 'SandboxError', message: '500: boom', statusCode: 500 }],
    [400, 'plain text', { class: 'SandboxError', message: '400: plain text', statusCode: 400 }],
    [401, '{"code":401,"message":"Invalid API key"}', { class: 'AuthenticationError', message: 'Unauthorized, please check your credentials. - Invalid API key' }],
    [503, '{"code":503,"message":"busy"}', { class: 'ServiceBusyError', message: 'Service temporarily unavailable, please retry - busy', statusCode: 503 }],
    [404, '{"code":404,"message":"no"}', { class: 'SandboxNotFoundError', message: 'Sandbox sbxcp not found' }],
  ]) {
    const r = await both((req, res) => json(res, status, body), (sdk) => sdk.Sandbox.getInfo('sbxcp', opts()));
    for (const [key, value] of Object.entries(expected)) assert.equal(r[key], value, `${status} ${key}`);
  }
});

test('an API that is not there fails with the runtime\'s fetch error', async () => {
  const closed = createServer();
  await new Promise((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const { port } = closed.address();
  await new Promise((resolve) => closed.close(resolve));
  const r = await both(() => {}, (sdk) => sdk.Sandbox.kill('sbxcp', opts({ apiUrl: `http://127.0.0.1:${port}` })));
  assert.equal(r.class, 'TypeError');
  assert.equal(r.requests.length, 0);
});

test('the logger is told each request and its final answer', async () => {
  const logs = {};
  for (const [name, sdk] of implementations) {
    const lines = [];
    const logger = Object.fromEntries(['debug', 'info', 'warn', 'error'].map((level) => [level, (...args) => lines.push([level, ...args])]));
    script = (req, res, n) => (n % 2 === 0 ? json(res, 429, '', { 'Retry-After': '0' }) : json(res, 404, '{"code":404}'));
    seen = [];
    await outcome(sdk.Sandbox.kill('sbx cp', opts({ logger })));
    logs[name] = lines;
  }
  assert.deepEqual(logs['e2b-wasm'], [
    ['info', `Request DELETE ${url}/sandboxes/sbx%20cp`],
    ['error', 'Response:', 404, 'Not Found'],
  ]);
  assert.deepEqual(logs['e2b-wasm'], logs.e2b);
});

test('a logger that throws fails nothing', async () => {
  const logger = { info() { throw new Error('logger broke'); }, error() { throw new Error('logger broke'); } };
  const [, ours] = implementations.find(([name]) => name === 'e2b-wasm');
  script = (req, res) => json(res, 200, INFO);
  assert.equal((await ours.Sandbox.getInfo('sbxcp', opts({ logger }))).sandboxId, 'sbxcp');
});

test('a sandbox ID cannot leave its path segment', async () => {
  for (const id of ['../../v2/sandboxes', 'a/b?c=d#e', 'x%2F..']) {
    const r = await both((req, res) => json(res, 404, '{"code":404}'), (sdk) => sdk.Sandbox.kill(id, opts()));
    assert.equal(r.value, false);
    assert.deepEqual(r.requests, [`DELETE /sandboxes/${encodeURIComponent(id)}`]);
  }
});

test('a header value with a line break is refused before anything is sent', async () => {
  // The runtime's `fetch` refuses it; its message names the `Headers` method each SDK fills them with.
  for (const more of [{ apiKey: 'e2b_x\r\nX-Injected: 1' }, { headers: { 'X-Extra': 'a\nb' } }]) {
    const r = await both((req, res) => json(res, 200, INFO), (sdk) => sdk.Sandbox.getInfo('sbxcp', opts(more)), ['message']);
    assert.equal(r.class, 'TypeError');
    assert.equal(r.requests.length, 0);
  }
});
