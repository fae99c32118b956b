// The code-interpreter-style `Sandbox` subclass (tests/sdk/server-sandbox.mjs) in real workerd
// (wrangler 4.86's local runtime) on e2b-wasm's workerd entry, against a real sandboxd.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';

import { Sandbox } from 'e2b';

import { startSandboxd } from '../helpers/sandboxd.mjs';
import { startTestWorker } from '../helpers/workerd.mjs';

let sd;
let worker;
before(async () => {
  sd = await startSandboxd();
  worker = await startTestWorker(
    { entrypoint: fileURLToPath(new URL('./subclass-worker.mjs', import.meta.url)), compatibilityDate: '2025-09-01' },
    { E2B_API_KEY: sd.apiKey, E2B_API_URL: sd.apiUrl, E2B_SANDBOX_URL: sd.sandboxUrl },
  );
});
after(async () => {
  await worker?.dispose();
  await sd?.stop();
});

test('a subclass written against e2b runs in workerd on e2b-wasm', async () => {
  const res = await fetch(await worker.url);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  const result = JSON.parse(text);
  assert.equal(result.subclass, true);
  for (const key of ['sandboxId', 'envdVersion', 'envdAccessToken', 'apiKey', 'apiUrl', 'sandboxUrl']) {
    assert.ok(result.constructedWith.includes(key), `constructor options lack ${key}`);
  }
  assert.equal(result.serverUrl, sd.sandboxUrl);
  assert.equal(result.seen.path, '/execute');
  assert.deepEqual(JSON.parse(result.seen.body), { code: 'x = 1' });
  assert.equal(result.seen.headers['x-access-token'], result.envdAccessToken);
  assert.equal(result.gitStatus.currentBranch, 'main');
  assert.equal(result.gitStatus.isClean, true);
  // The network update reached sandboxd, and getInfo reports it.
  assert.deepEqual(result.network.denyOut, ['0.0.0.0/0']);
  // sandbox.files' JavaScript calls work in workerd, a caller's signal included.
  const { info, ...files } = result.filesSeen;
  assert.deepEqual(files, {
    text: 'from workerd', exists: true, missing: false, made: true, again: false, renamed: '/tmp/w/b.txt',
    listed: ['b.txt:file', 'd:dir'], removed: true, notFound: 'FileNotFoundError',
  });
  assert.equal(info.size, 'from workerd'.length);
  assert.equal(info.type, 'file');
  assert.ok(Date.parse(info.modifiedTime) > Date.parse('2026-01-01'), info.modifiedTime);
  // The Worker killed its sandbox (checked from Node, with the official SDK).
  const running = await Sandbox.list({ apiKey: sd.apiKey, apiUrl: sd.apiUrl, query: { state: ['running'] } }).nextItems();
  assert.ok(!running.some((s) => s.sandboxId === result.sandboxId));
});
