// Answers a server should never give, from a loopback stand-in for envd and the control plane:
// 2xx bodies that are not JSON (HTML, truncated JSON, 5 MiB of junk) or not the shape asked for.
// A malformed answer fails the call with `JSON.parse`'s `SyntaxError` in both SDKs (the official
// one's `response.json()`), never passes for an empty answer; a well-formed answer of the wrong
// shape fails `files.write` with the official "Expected to receive information about written
// file" (where the official SDK, for some shapes, throws a `TypeError` from its own code). The
// filesystem RPCs (Connect's JSON codec in both SDKs) fail as the official client's decoder fails
// them: the same class and code, the same message but for which words name a bad field.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';

import { implementations } from './implementations.mjs';

let server, url;
let answer = '';
let answerStatus = 200;
let answerType = 'application/json';
before(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(answerStatus, { 'Content-Type': answerType });
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

/** The filesystem RPCs' outcomes for the current answer. */
const rpcCalls = async (sdk) => {
  const { files } = new sdk.Sandbox({ sandboxId: 'sbxhostile', envdVersion: '0.6.13', ...opts() });
  return {
    getInfo: await outcome(files.getInfo('/x')), exists: await outcome(files.exists('/x')), list: await outcome(files.list('/x')),
    makeDir: await outcome(files.makeDir('/x')), rename: await outcome(files.rename('/x', '/y')), remove: await outcome(files.remove('/x')),
  };
};
const rpcOutcomes = async (body, status = 200, type = 'application/json') => {
  [answer, answerStatus, answerType] = [body, status, type];
  try {
    const results = {};
    for (const [name, sdk] of implementations) results[name] = await rpcCalls(sdk);
    return results;
  } finally {
    [answerStatus, answerType] = [200, 'application/json'];
  }
};

for (const [label, body, status, type] of [
  ['HTML', '<html>oops</html>'], ['truncated JSON', '{"entry":'], ['null', 'null'], ['an array', '[]'],
  ['an entry that is a number', '{"entry":5,"entries":7}'],
  ['entries of types nobody knows', '{"entry":{"type":"constructor"},"entries":[{"type":"toString"},{"type":"__proto__"},{"type":"FILE_TYPE_FILE","size":"12"}]}'],
  ['a content type that is not JSON', '{"entry":{}}', 200, 'text/html'],
  ['an error whose code is no code', '{"code":"bogus"}', 409],
  ['an error whose message is no string', '{"code":"not_found","message":7}', 404],
  ['a plain-text error', 'plain', 500],
  ['not_found', '{"code":"not_found","message":"gone"}', 404],
]) {
  test(`filesystem RPCs answered ${label} settle as the official SDK's do`, async () => {
    const results = await rpcOutcomes(body, status, type);
    assert.deepEqual(results['e2b-wasm'], results.e2b);
  });
}

for (const [label, body, field] of [
  ['a size that is no integer', '{"entry":{"size":"x"}}', 'size'],
  ['a modified time that is no RFC 3339 time', '{"entry":{"modifiedTime":"garbage"}}', 'modifiedTime'],
  ['a name that is a number', '{"entry":{"name":7}}', 'name'],
  ['metadata that is not strings', '{"entry":{"metadata":{"k":5}}}', 'metadata'],
]) {
  test(`filesystem RPCs answered ${label} fail to decode, as in the official SDK`, async () => {
    const results = await rpcOutcomes(body);
    for (const call of ['getInfo', 'exists', 'makeDir', 'rename']) {
      for (const [name, { error, message }] of Object.entries(results).map(([n, r]) => [n, r[call]])) {
        assert.equal(error, 'SandboxError', `${name} ${call}`);
        assert.match(message, /^2: \[unknown\] cannot decode /, `${name} ${call}`);
      }
      assert.match(results['e2b-wasm'][call].message, new RegExp(`filesystem\\.EntryInfo\\.${field} from JSON`));
    }
  });
}
