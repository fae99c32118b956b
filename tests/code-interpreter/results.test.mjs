// `e2b-wasm/code-interpreter` against `@e2b/code-interpreter` 2.8 on the same cells: the
// Execution, its Results (every field, formats(), toJSON()), logs, error and the callbacks'
// arguments equal field by field. Then what ours promises beyond: a multi-megabyte line does not
// hold back the stdout around it, UTF-8 split across chunks decodes whole, and an abort (a
// signal, a throwing callback) releases the connection, so the server interrupts the cell.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';

import { comparedCells, describedRun } from './described-run.mjs';
import { implementations } from './implementations.mjs';
import { startCodeInterpreterSandboxd } from './util.mjs';

const [[, official], [, ours]] = implementations;

let sd;
/** One sandbox per implementation, each running the same cells in the same order. */
const sandboxes = new Map();

before(async () => {
  sd = await startCodeInterpreterSandboxd();
  for (const sdk of [official, ours]) sandboxes.set(sdk, await sdk.Sandbox.create());
});

after(async () => {
  for (const sbx of sandboxes.values()) await sbx.kill();
  await sd?.stop();
});

describe('the same cells give the same Execution, field by field', () => {
  for (const [name, code] of Object.entries(comparedCells)) {
    test(name, async () => {
      const expected = await describedRun(sandboxes.get(official), code);
      const actual = await describedRun(sandboxes.get(ours), code);
      assert.deepEqual(actual, expected);
      assert.ok(expected.stampsInRange);
      assert.ok(expected.calls.length > 0 || name === 'no value');
    });
  }
});

describe('e2b-wasm/code-interpreter', () => {
  test('a multi-megabyte line comes whole and does not hold back the stdout before it', async () => {
    const sbx = sandboxes.get(ours);
    const seen = [];
    const started = Date.now();
    const execution = await sbx.runCode(
      'import time\nprint("before", flush=True)\ntime.sleep(1.5)\n' +
        'display({"image/png": "A" * 8_000_000, "text/plain": "big"}, raw=True)\nprint("é✓🙂" * 300_000)',
      {
        onStdout: (out) => seen.push(['stdout', Date.now() - started, out.line.length]),
        onResult: (result) => seen.push(['result', Date.now() - started, result.png.length]),
      },
    );
    const done = Date.now() - started;
    // "before" reached its callback while the cell was still sleeping, not at the end.
    assert.equal(seen[0][0], 'stdout');
    assert.ok(done - seen[0][1] >= 1000, `first stdout at ${seen[0][1]} ms, end at ${done} ms`);
    assert.equal(execution.results[0].png, 'A'.repeat(8_000_000));
    // Multi-byte characters that chunks split are decoded whole.
    assert.equal(execution.logs.stdout.join(''), `before\n${'é✓🙂'.repeat(300_000)}\n`);
  });

  test('an aborted signal rejects with its reason and releases the connection: the cell is interrupted', async () => {
    const sbx = sandboxes.get(ours);
    const marker = `/tmp/finished-${randomBytes(4).toString('hex')}`;
    const controller = new AbortController();
    const reason = new Error('the user left');
    setTimeout(() => controller.abort(reason), 1000);
    const started = Date.now();
    await assert.rejects(
      sbx.runCode(`import time\ntime.sleep(20)\nopen("${marker}", "w").write("x")`, { signal: controller.signal }),
      (err) => err === reason,
    );
    assert.ok(Date.now() - started < 5000);
    // The server saw the client leave and interrupted the sleep: the next cell runs at once,
    // and the sleeping cell never reached its write (checked inside the sandbox).
    const next = Date.now();
    assert.equal((await sbx.runCode('"next"')).text, 'next');
    assert.ok(Date.now() - next < 5000, `the next cell took ${Date.now() - next} ms`);
    assert.equal(await sbx.files.exists(marker), false);
    // A signal aborted before the call: rejected with its reason, nothing run.
    await assert.rejects(sbx.runCode(`open("${marker}", "w")`, { signal: AbortSignal.abort(reason) }), (err) => err === reason);
    assert.equal(await sbx.files.exists(marker), false);
  });

  test('a callback that throws rejects runCode with its error and releases the connection', async () => {
    const sbx = sandboxes.get(ours);
    const marker = `/tmp/finished-${randomBytes(4).toString('hex')}`;
    const failure = new Error('callback failed');
    await assert.rejects(
      sbx.runCode(`import time\nprint("go", flush=True)\ntime.sleep(20)\nopen("${marker}", "w").write("x")`, {
        onStdout: () => { throw failure; },
      }),
      (err) => err === failure,
    );
    const next = Date.now();
    assert.equal((await sbx.runCode('"next"')).text, 'next');
    assert.ok(Date.now() - next < 5000, `the next cell took ${Date.now() - next} ms`);
    assert.equal(await sbx.files.exists(marker), false);
  });
});
