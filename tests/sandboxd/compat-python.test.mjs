// Issue 13's differences seen with the official PyPI SDK (tests/python/compat.py), checked with
// both pinned versions: 2.45 in .venv and 2.63 in .venv-e2b-2.63 (scripts/setup.sh makes both).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { startSandboxd } from '../helpers/sandboxd.mjs';

const script = fileURLToPath(new URL('../python/compat.py', import.meta.url));

let sd;
before(async () => {
  sd = await startSandboxd();
});
after(async () => {
  await sd?.stop();
});

for (const [sdkVersion, venv] of [['2.45.1', '.venv'], ['2.63.0', '.venv-e2b-2.63']]) {
  test(`PyPI e2b ${sdkVersion}: killed mid-command is reported as killed, unsupported features say so, base exists`, () => {
    const python = fileURLToPath(new URL(`../../${venv}/bin/python`, import.meta.url));
    assert.ok(existsSync(python), `${python} is missing: run scripts/setup.sh`);
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('E2B_')));
    const run = spawnSync(python, [script], { env: { ...env, ...sd.env }, encoding: 'utf8', timeout: 300_000 });
    assert.equal(run.status, 0, `compat.py failed (${run.status ?? run.signal}):\n${run.stdout}\n${run.stderr}`);
    assert.equal(run.stdout.trim(), `python compat (${sdkVersion}): ok`);
  });
}
