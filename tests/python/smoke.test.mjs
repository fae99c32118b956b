// Runs the official PyPI SDK's smoke test (smoke.py) and its network options check
// (network.py) against a fresh sandboxd, with the SDK from the venv that scripts/setup.sh
// creates from requirements.txt.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { startSandboxd } from '../helpers/sandboxd.mjs';

const python = fileURLToPath(new URL('../../.venv/bin/python', import.meta.url));

let sd;
before(async () => {
  sd = await startSandboxd();
});
after(async () => {
  await sd?.stop();
});

/** Runs `script` (next to this file) with the venv's Python against sandboxd; returns stdout. */
function runPython(script) {
  assert.ok(existsSync(python), `${python} is missing: run scripts/setup.sh`);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('E2B_')));
  const path = fileURLToPath(new URL(script, import.meta.url));
  const run = spawnSync(python, [path], { env: { ...env, ...sd.env }, encoding: 'utf8', timeout: 300_000 });
  assert.equal(run.status, 0, `${script} failed (${run.status ?? run.signal}):\n${run.stdout}\n${run.stderr}`);
  return run.stdout;
}

test('the official Python SDK creates, runs, writes, reads and kills', () => {
  assert.match(runPython('./smoke.py'), /python smoke: ok/);
});

test("the official Python SDK's network options reach sandboxd as sent, or are refused", () => {
  assert.match(runPython('./network.py'), /python network: ok/);
});
