// `e2b-wasm/code-interpreter` against `@e2b/code-interpreter` 2.8 on the same cells: the
// Execution, its Results (every field, formats(), toJSON()), logs, error and the callbacks'
// arguments equal field by field. Then what ours promises beyond: a multi-megabyte line does not
// hold back the stdout around it, UTF-8 split across chunks decodes whole, and an abort (a
// signal, a throwing callback) releases the connection, so the server interrupts the cell.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';

import { comparedCells, describedRun } from './described-run.mjs';
import { implementations, sandboxPerImplementation } from './implementations.mjs';

const [[official], [ours]] = implementations;

/** One sandbox per implementation, each running the same cells in the same order. */
const sandboxes = sandboxPerImplementation();

/** The gist of a described run: each result's formats (and chart type), the value, the logs, the
 * error's name. */
const gist = (run) => ({
  results: run.results.map(({ formats, fields }) => [...formats, ...(fields.chart ? [`chart ${fields.chart.type}`] : [])]),
  text: run.text,
  stdout: run.logs.stdout.join(''),
  stderr: run.logs.stderr.join(''),
  error: run.error?.name,
});

/** What the rich and other-language cells show (in the official SDK), so that each compares what
 * its name says, not two failures. */
const GISTS = {
  'a matplotlib line plot: its PNG and line chart': { results: [['png', 'chart line']], text: undefined, stdout: '', stderr: '', error: undefined },
  'a bar chart': { results: [['png', 'chart bar']], text: undefined, stdout: '', stderr: '', error: undefined },
  'a superchart: a figure of subplots': { results: [['png', 'chart superchart']], text: undefined, stdout: '', stderr: '', error: undefined },
  'a pandas DataFrame: its data and HTML table': { results: [['html', 'data']], text: '  name  age  score     joined\n0  ada   36    0.5 2020-01-02\n1  bob   41    NaN 2021-03-04', stdout: '', stderr: '', error: undefined },
  'a PIL image, the value and shown': { results: [['png', 'jpeg'], ['png', 'jpeg']], text: '<PIL.Image.Image image mode=RGB size=32x16>', stdout: '', stderr: '', error: undefined },
  'a sympy expression as LaTeX': { results: [['png', 'latex']], text: '⌠      \n⎮  2   \n⎮ x  dx\n⌡      ', stdout: '', stderr: '', error: undefined },
  'JavaScript: stdout and a value': { results: [[]], text: '{ a: [ 1, 2 ] }', stdout: 'out 1\n', stderr: 'err\n', error: undefined },
  'JavaScript: an error': { results: [], text: undefined, stdout: 'before\n', stderr: '', error: 'TypeError' },
  'TypeScript: stdout and a value': { results: [[]], text: '42', stdout: 'x is 40\n', stderr: '', error: undefined },
  'TypeScript: an error': { results: [], text: undefined, stdout: '', stderr: '', error: 'Error' },
  // bash_kernel sends stderr as stdout, and a failed command's status as an unnamed error.
  'Bash: stdout and stderr': { results: [], text: undefined, stdout: 'out 2\nerr\nno newline\n', stderr: '', error: undefined },
  'Bash: a failed command': { results: [], text: undefined, stdout: "before\nls: cannot access '/nonexistent': No such file or directory\n", stderr: '', error: '' },
  // IRkernel shows values as display data (no main result).
  'R: stdout and a value': { results: [['html', 'markdown', 'latex']], text: undefined, stdout: 'out\n', stderr: 'err\n\n', error: undefined },
  'R: an error': { results: [], text: undefined, stdout: 'before\n', stderr: '', error: 'ERROR' },
};

describe('the same cells give the same Execution, field by field', () => {
  for (const [name, cell] of Object.entries(comparedCells)) {
    test(name, async () => {
      const expected = await describedRun(sandboxes.get(official), cell);
      const actual = await describedRun(sandboxes.get(ours), cell);
      assert.deepEqual(actual, expected);
      assert.ok(expected.stampsInRange);
      assert.ok(expected.calls.length > 0 || name === 'no value');
      if (GISTS[name]) assert.deepEqual(gist(expected), GISTS[name]);
    });
  }

  test('every rich and other-language cell has its gist', () => {
    assert.deepEqual(Object.keys(comparedCells).filter((name) => !GISTS[name]), Object.keys(comparedCells).slice(0, 6));
  });
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
