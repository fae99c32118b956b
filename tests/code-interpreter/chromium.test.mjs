// `e2b-wasm/code-interpreter` in Chromium, on its browser entry (an import map, plain ESM),
// against a real sandboxd on another port: the compared cells give, field by field, what the
// official `@e2b/code-interpreter` gives in Node on a sandbox of its own, and stdout reaches
// `onStdout` as it is printed, not at the end.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { launchChromium, runResultPage } from '../helpers/chromium.mjs';
import { comparedCells, describedRun } from './described-run.mjs';
import { implementations } from './implementations.mjs';
import { startCodeInterpreterSandboxd } from './util.mjs';

const [[, official]] = implementations;
const root = fileURLToPath(new URL('../..', import.meta.url));
/** `value` as JSON makes it: the page's values come back with their undefined fields. */
const asJson = (value) => JSON.parse(JSON.stringify(value));
const PAGE = `<!doctype html>
<script type="importmap">{ "imports": { "e2b-wasm/code-interpreter": "/pkg/code-interpreter-browser.js" } }</script>
<script type="module">
  import { Sandbox } from 'e2b-wasm/code-interpreter';
  import { comparedCells, describedRun } from '/tests/described-run.mjs';
  const config = await (await fetch('/config.json')).json();
  try {
    const sbx = await Sandbox.create(config);
    const cells = {};
    for (const [name, code] of Object.entries(comparedCells)) cells[name] = await describedRun(sbx, code);
    const started = performance.now();
    const arrivals = [];
    await sbx.runCode('import time\\nfor i in range(4):\\n    print(i, flush=True)\\n    time.sleep(0.3)', {
      onStdout: (out) => arrivals.push([out.line, performance.now() - started]),
    });
    window.result = { sandboxId: sbx.sandboxId, cells, arrivals, ended: performance.now() - started };
    await sbx.kill();
  } catch (err) {
    window.result = { error: \`\${err.name}: \${err.message}\` };
  }
</script>`;

let sd;
let browser;
before(async () => {
  sd = await startCodeInterpreterSandboxd();
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await sd?.stop();
});

test('runCode in Chromium gives what the official SDK gives in Node, field by field, and streams stdout', async () => {
  const { result: inChromium, pageErrors } = await runResultPage(browser, {
    html: PAGE,
    mounts: [['/pkg/', join(root, 'pkg')], ['/tests/', join(root, 'tests/code-interpreter')]],
    config: { apiKey: sd.apiKey, apiUrl: sd.apiUrl, sandboxUrl: sd.sandboxUrl },
  });
  assert.deepEqual(pageErrors, []);
  assert.equal(inChromium.error, undefined);

  const reference = await official.Sandbox.create();
  try {
    for (const [name, code] of Object.entries(comparedCells)) {
      assert.deepEqual(asJson(inChromium.cells[name]), asJson(await describedRun(reference, code)), name);
      assert.ok(inChromium.cells[name].stampsInRange, name);
    }
  } finally {
    await reference.kill();
  }
  // Four prints 0.3 s apart: at least 3 chunks reached the page before the end, the first one
  // long before it.
  const { arrivals, ended } = inChromium;
  assert.equal(arrivals.map(([line]) => line).join(''), '0\n1\n2\n3\n');
  assert.ok(arrivals.length >= 3, JSON.stringify(arrivals));
  assert.ok(ended - arrivals[0][1] >= 600, `first chunk at ${arrivals[0][1]} ms, end at ${ended} ms`);
  // The page killed its sandbox (checked from Node).
  assert.equal(await official.Sandbox.connect(inChromium.sandboxId).then(() => 'connected', (err) => err.constructor.name), 'SandboxNotFoundError');
});
