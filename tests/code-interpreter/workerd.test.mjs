// `e2b-wasm/code-interpreter` in real workerd (wrangler's local runtime) on its workerd entry,
// against a real sandboxd: the compared cells give, field by field, what the official
// `@e2b/code-interpreter` gives in Node on a sandbox of its own, and code contexts work there.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';

import { startTestWorker } from '../helpers/workerd.mjs';
import { comparedCells, describedRun } from './described-run.mjs';
import { implementations } from './implementations.mjs';
import { startCodeInterpreterSandboxd } from './util.mjs';

const [[, official]] = implementations;
let sd;
let worker;
before(async () => {
  sd = await startCodeInterpreterSandboxd();
  worker = await startTestWorker(
    { entrypoint: fileURLToPath(new URL('./workerd-worker.mjs', import.meta.url)), compatibilityDate: '2025-09-01' },
    { E2B_API_KEY: sd.apiKey, E2B_API_URL: sd.apiUrl, E2B_SANDBOX_URL: sd.sandboxUrl },
  );
});
after(async () => {
  await worker?.dispose();
  await sd?.stop();
});

test('runCode in workerd gives what the official SDK gives in Node, field by field; contexts work', async () => {
  const res = await fetch(await worker.url);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  const inWorkerd = JSON.parse(text);
  assert.equal(inWorkerd.template, 'code-interpreter-v1');

  const reference = await official.Sandbox.create();
  try {
    for (const [name, code] of Object.entries(comparedCells)) {
      const expected = JSON.parse(JSON.stringify(await describedRun(reference, code)));
      assert.deepEqual(inWorkerd.cells[name], expected, name);
      assert.ok(inWorkerd.cells[name].stampsInRange, name);
    }
  } finally {
    await reference.kill();
  }
  assert.deepEqual(inWorkerd.context, { listed: true, cwd: '/tmp', afterRemoval: 'NotFoundError' });
  // The Worker killed its sandbox (checked from Node).
  assert.equal(await official.Sandbox.connect(inWorkerd.sandboxId).then(() => 'connected', (err) => err.constructor.name), 'SandboxNotFoundError');
});
