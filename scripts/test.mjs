// `npm test`: every test of the project, in dependency order. Extra arguments filter the
// node:test files by substring (e.g. `npm test -- envd`); Rust tests always run.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { run } from './run.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const filters = process.argv.slice(2);

function testFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'artifacts') return [];
    if (statSync(path).isDirectory()) return testFiles(path);
    return name.endsWith('.test.mjs') ? [path] : [];
  });
}

// Lint gates first: they are the cheapest to fail. The wasm crate is linted again for its own
// target with the features `npm run build` ships (`bundle`: no std), and with the JSON codec the
// benchmark builds, since both compile code the host-target run never sees.
run('cargo', ['fmt', '--all', '--check']);
run('cargo', ['clippy', '--workspace', '--all-targets', '--quiet', '--', '-D', 'warnings']);
for (const features of ['bundle', 'bundle,json-codec']) {
  run('cargo', ['clippy', '-p', 'e2b-wasm', '--lib', '--target', 'wasm32-unknown-unknown', '--features', features, '--quiet', '--', '-D', 'warnings']);
}
// Deadlines (well above a normal run's time) turn a hung test into a failure that shows what
// it waited for, instead of a CI run that ends at CI's limit with nothing to go on.
run('cargo', ['test', '--workspace', '--no-run', '--quiet']);
run('cargo', ['test', '--workspace', '--quiet'], { deadlineMin: 20 });
// The SDK's transport in a real JS runtime (Node), through wasm-bindgen-test. No `--quiet`:
// cargo would pass it on to wasm-bindgen-test-runner, which refuses it.
// Node exits with status 0 when a test leaves nothing pending, so the runner's summary line is
// the proof that every test ran.
const wasmTests = run(
  'cargo',
  ['test', '-p', 'e2b-wasm', '--target', 'wasm32-unknown-unknown', '--test', 'transport'],
  {
    env: { ...process.env, CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER: 'wasm-bindgen-test-runner' },
    stdio: ['inherit', 'pipe', 'inherit'],
    deadlineMin: 20,
  },
);
process.stdout.write(wasmTests.stdout);
if (!/^test result: ok\. \d+ passed; 0 failed/m.test(wasmTests.stdout)) {
  console.error('\n✗ the wasm-bindgen tests ended without reporting a result (a test left nothing pending)');
  process.exit(1);
}
run('cargo', ['build', '--release', '-p', 'sandboxd', '--quiet']);
run('npm', ['run', 'build', '--silent']);

const files = testFiles(join(root, 'tests'))
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
// A single test gets 10 minutes; the whole run 50.
const nodeTest = (paths, env = process.env) =>
  run(process.execPath, ['--test', '--test-concurrency=1', '--test-timeout=600000', ...paths], {
    deadlineMin: 50,
    env,
  });
// The code-interpreter suites share one data dir, so sandboxd builds code-interpreter-v1 once.
const codeInterpreterDataDir = mkdtempSync(join(tmpdir(), 'sandboxd-code-interpreter-'));
if (files.length) nodeTest(files, { ...process.env, SANDBOXD_CODE_INTERPRETER_DATA_DIR: codeInterpreterDataDir });
rmSync(codeInterpreterDataDir, { recursive: true, force: true });
rmSync(`${codeInterpreterDataDir}.log`, { force: true });
// The attacks of the security and isolation suites again, on sandboxes of a template built
// through the official builder (its read-only layers under each sandbox) instead of `base`.
const onBuilt = files.filter((f) => f.startsWith('tests/security/') || f === 'tests/sandboxd/isolation.test.mjs');
if (onBuilt.length) {
  console.log('\nagain on a built template:');
  nodeTest(onBuilt, { ...process.env, SANDBOXD_TEST_TEMPLATE: 'built' });
}
console.log('\n✓ all tests passed');
