// The code-interpreter-style `Sandbox` subclass (tests/sdk/server-sandbox.mjs) in real workerd
// (wrangler 4.86's local runtime) on e2b-wasm's workerd entry, against a real sandboxd.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';

import { Sandbox } from 'e2b';
import { unstable_startWorker as startWorker } from 'wrangler';

import { startSandboxd } from '../helpers/sandboxd.mjs';

process.env.WRANGLER_SEND_METRICS = 'false';
process.env.CLOUDFLARE_CF_FETCH_ENABLED = 'false';

const plain = (value) => ({ type: 'plain_text', value });
let sd;
let worker;
before(async () => {
  sd = await startSandboxd();
  worker = await startWorker({
    entrypoint: fileURLToPath(new URL('./subclass-worker.mjs', import.meta.url)),
    compatibilityDate: '2025-09-01',
    bindings: { E2B_API_KEY: plain(sd.apiKey), E2B_API_URL: plain(sd.apiUrl), E2B_SANDBOX_URL: plain(sd.sandboxUrl) },
    dev: { server: { hostname: '127.0.0.1', port: 0 }, inspector: false, watch: false, persist: false, logLevel: 'warn', remote: false },
  });
  await worker.ready;
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
  // The Worker killed its sandbox (checked from Node, with the official SDK).
  const running = await Sandbox.list({ apiKey: sd.apiKey, apiUrl: sd.apiUrl, query: { state: ['running'] } }).nextItems();
  assert.ok(!running.some((s) => s.sandboxId === result.sandboxId));
});
