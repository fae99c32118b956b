// Answers a server should never give, from a loopback stand-in for envd and the control plane:
// 2xx bodies that are not JSON (HTML, truncated JSON, 5 MiB of junk) or not the shape asked for.
// A malformed answer fails the call with `JSON.parse`'s `SyntaxError` in both SDKs (the official
// one's `response.json()`), never passes for an empty answer; a well-formed answer of the wrong
// shape fails `files.write` with the official "Expected to receive information about written
// file" (where the official SDK, for some shapes, throws a `TypeError` from its own code).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';

import { implementations } from './implementations.mjs';

let server, url;
let answer = '';
before(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(answer);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${server.address().port}`;
});
after(() => server?.close());

const opts = () => ({ apiUrl: url, sandboxUrl: url, apiKey: 'e2b_hostile' });
const outcome = (promise) => promise.then(
  (value) => ({ value }),
  (err) => ({ error: err.constructor.name, message: err.message }),
);
const calls = (sdk) => ({
  write: outcome(new sdk.Sandbox({ sandboxId: 'sbxhostile', envdVersion: '0.6.13', ...opts() }).files.write('/tmp/a', 'data')),
  getInfo: outcome(sdk.Sandbox.getInfo('sbxhostile', opts())),
});

for (const [label, body] of [['HTML', '<html>oops</html>'], ['truncated JSON', '[{"path":'], ['5 MiB of junk', 'x'.repeat(5 << 20)]]) {
  test(`a 2xx answer of ${label} fails with the same SyntaxError in both SDKs`, async () => {
    answer = body;
    const results = {};
    for (const [name, sdk] of implementations) {
      const { write, getInfo } = calls(sdk);
      results[name] = { write: await write, getInfo: await getInfo };
    }
    assert.equal(results['e2b-wasm'].write.error, 'SyntaxError');
    assert.equal(results['e2b-wasm'].getInfo.error, 'SyntaxError');
    assert.deepEqual(results['e2b-wasm'], results.e2b);
  });
}

for (const body of ['[]', '{}', '"str"', 'null']) {
  test(`files.write answered ${body} fails with "Expected to receive information about written file"`, async () => {
    answer = body;
    const [, ours] = implementations.find(([name]) => name === 'e2b-wasm');
    assert.deepEqual(await calls(ours).write, { error: 'Error', message: 'Expected to receive information about written file' });
  });
}

// The control plane's answers of the wrong shape, compared call by call with the official SDK: a
// JSON `null` is no sandbox, and a body that is empty without saying so (no `Content-Length: 0`)
// is not JSON.
for (const [body, expected] of [['null', { error: 'Error', message: 'Sandbox not found' }], ['', { error: 'SyntaxError' }]]) {
  test(`getInfo answered ${JSON.stringify(body)} fails as the official SDK's does`, async () => {
    answer = body;
    const results = {};
    for (const [name, sdk] of implementations) results[name] = await calls(sdk).getInfo;
    for (const [key, value] of Object.entries(expected)) assert.equal(results['e2b-wasm'][key], value);
    assert.deepEqual(results['e2b-wasm'], results.e2b);
  });
}
