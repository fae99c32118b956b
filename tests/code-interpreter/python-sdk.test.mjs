// The official PyPI `e2b-code-interpreter` SDK (pinned in tests/python/requirements.txt, in the
// .venv scripts/setup.sh makes) against sandboxd's execution server: python_sdk_smoke.py runs
// cells with results, a DataFrame, a chart and an error through the sync and async clients, on
// code-interpreter-v1 as sandboxd builds it on its first use.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { startCodeInterpreterSandboxd } from './util.mjs';

const python = fileURLToPath(new URL('../../.venv/bin/python', import.meta.url));

let sd;
before(async () => {
  sd = await startCodeInterpreterSandboxd();
});
after(async () => {
  await sd?.stop();
});

test('the official Python code-interpreter SDK runs cells, reads a chart and an error', () => {
  assert.ok(existsSync(python), `${python} is missing: run scripts/setup.sh`);
  // Only this sandboxd's E2B_* reach the SDK.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('E2B_')));
  const script = fileURLToPath(new URL('./python_sdk_smoke.py', import.meta.url));
  const run = spawnSync(python, [script], { env: { ...env, ...sd.env }, encoding: 'utf8', timeout: 300_000 });
  assert.equal(run.status, 0, `python_sdk_smoke.py failed (${run.status ?? run.signal}):\n${run.stdout}\n${run.stderr}`);
  assert.match(run.stdout, /python code-interpreter smoke: ok/);
});
