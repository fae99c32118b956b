// examples/worker/'s `POST /run` in real workerd against a real sandboxd: the body runs as Python
// in a code-interpreter sandbox through `e2b-wasm/code-interpreter`, the answer is the
// Execution as JSON (results with their formats and chart data, logs, error, count), and the
// sandbox is killed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { linkPackage } from '../helpers/examples.mjs';
import { startTestWorker } from '../helpers/workerd.mjs';
import { implementations } from './implementations.mjs';
import { startCodeInterpreterSandboxd } from './util.mjs';

const [[, official]] = implementations;
let sd;
let worker;
let base;
before(async () => {
  sd = await startCodeInterpreterSandboxd();
  worker = await startTestWorker(
    { config: `${linkPackage('worker')}/wrangler.toml` },
    { E2B_API_KEY: sd.apiKey, E2B_API_URL: sd.apiUrl, E2B_SANDBOX_URL: sd.sandboxUrl },
  );
  base = String(await worker.url).replace(/\/$/, '');
});
after(async () => {
  await worker?.dispose();
  await sd?.stop();
});

/** The code-interpreter sandboxes sandboxd has running (none should outlive a /run). */
const running = async () => (await official.Sandbox.list({ query: { state: ['running'] } }).nextItems()).filter((s) => s.templateId !== 'base');

test('POST /run answers the Execution: results with their formats, logs and count', async () => {
  const code = 'from IPython.display import display, HTML\nprint("hello")\ndisplay(HTML("<b>b</b>"))\n6 * 7';
  const res = await fetch(`${base}/run`, { method: 'POST', body: code });
  const execution = await res.json();
  assert.equal(res.status, 200, JSON.stringify(execution));
  assert.equal(execution.text, '42');
  assert.deepEqual(execution.logs, { stdout: ['hello\n'], stderr: [] });
  assert.equal(execution.error, undefined);
  assert.ok(execution.executionCount >= 1);
  assert.deepEqual(execution.results.map((r) => [r.isMainResult, r.html, r.text]), [[false, '<b>b</b>', '<IPython.core.display.HTML object>'], [true, undefined, '42']]);
  assert.deepEqual(await running(), []);
});

test('POST /run of failing code answers its error with the traceback', async () => {
  const res = await fetch(`${base}/run`, { method: 'POST', body: '1/0' });
  const execution = await res.json();
  assert.equal(res.status, 200);
  assert.equal(execution.error.name, 'ZeroDivisionError');
  assert.match(execution.error.traceback, /ZeroDivisionError/);
  assert.deepEqual(execution.results, []);
  assert.deepEqual(await running(), []);
});

test('POST /run of a matplotlib line plot answers its chart as data, with the PNG', async () => {
  const code = [
    'import matplotlib.pyplot as plt',
    'plt.plot([1, 2, 3], [10, 20, 15], label="sales")',
    'plt.title("weekly")',
    'plt.xlabel("week")',
    'plt.ylabel("units")',
    'plt.show()',
  ].join('\n');
  const res = await fetch(`${base}/run`, { method: 'POST', body: code });
  const execution = await res.json();
  assert.equal(res.status, 200, JSON.stringify(execution));
  assert.equal(execution.error, undefined);
  const [result] = execution.results;
  assert.equal(execution.results.length, 1);
  assert.ok(result.png.length > 1000, 'the figure as a PNG');
  const { chart } = result;
  assert.equal(chart.type, 'line');
  assert.equal(chart.title, 'weekly');
  assert.equal(chart.x_label, 'week');
  assert.equal(chart.y_label, 'units');
  assert.equal(chart.elements.length, 1);
  assert.equal(chart.elements[0].label, 'sales');
  assert.deepEqual(chart.elements[0].points, [[1, 10], [2, 20], [3, 15]]);
  assert.deepEqual(await running(), []);
});
