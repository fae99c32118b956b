// Runs the official PyPI SDK's smoke test (smoke.py) against a fresh sandboxd, with the SDK
// from the venv that scripts/setup.sh creates from requirements.txt.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { startSandboxd } from '../helpers/sandboxd.mjs';

const python = fileURLToPath(new URL('../../.venv/bin/python', import.meta.url));
const script = fileURLToPath(new URL('./smoke.py', import.meta.url));

let sd;
before(async () => {
  sd = await startSandboxd();
});
after(async () => {
  await sd?.stop();
});

test('the official Python SDK creates, runs, writes, reads and kills', () => {
  assert.ok(existsSync(python), `${python} is missing: run scripts/setup.sh`);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('E2B_')));
  const run = spawnSync(python, [script], { env: { ...env, ...sd.env }, encoding: 'utf8', timeout: 300_000 });
  assert.equal(run.status, 0, `smoke.py failed (${run.status ?? run.signal}):\n${run.stdout}\n${run.stderr}`);
  assert.match(run.stdout, /python smoke: ok/);
});
