// examples/browser/code-interpreter.html, the page example of `e2b-wasm/code-interpreter`, in
// Debian's Chromium against a real sandboxd on another port, served as it is (plain ESM, an
// import map) and bundled by Vite: a cell's stdout reaches the page while it runs, its
// matplotlib figure shows as a PNG and as a chart drawn from its data, a failing cell's
// traceback is shown, the sandbox is gone afterwards, and output made to attack the page (HTML
// and SVG with scripts, a chart title with markup) runs no script in it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { NotFoundError, Sandbox } from 'e2b';

import { launchChromium } from '../helpers/chromium.mjs';
import { VITE_BUILD, assertSdkSource, exampleWays, linkPackage, openExample } from '../helpers/examples.mjs';
import { startCodeInterpreterSandboxd } from './util.mjs';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const exampleDir = linkPackage('browser');
const SCREENSHOT = 'example-code-interpreter.png';

// Runs in the page before its scripts: records each new text of #stdout while the page says the
// printing cell runs, so the test sees what a reader saw before the cell ended.
function watchStdout() {
  window.stdoutWhileRunning = [];
  new MutationObserver(() => {
    const stdout = document.getElementById('stdout')?.textContent;
    const running = document.getElementById('status')?.textContent === 'running a cell that prints and plots';
    if (running && stdout && stdout !== window.stdoutWhileRunning.at(-1)) window.stdoutWhileRunning.push(stdout);
  }).observe(document, { childList: true, subtree: true, characterData: true });
}

describe('the code-interpreter page example in Chromium', () => {
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

  for (const [way, prepare] of Object.entries(exampleWays(exampleDir))) {
    test(way, async (t) => {
      const { root, cleanup } = await prepare();
      if (cleanup) t.after(cleanup);
      const { page, requested, pageErrors } = await openExample(t, browser, {
        root,
        path: 'code-interpreter.html',
        config: { apiKey: sd.apiKey, apiUrl: sd.apiUrl, sandboxUrl: sd.sandboxUrl },
        initScript: watchStdout,
      });
      const example = await page.evaluate(() => window.example);
      const text = (selector) => page.locator(selector).textContent();

      assert.equal(example.error, undefined, 'the page reports no error');
      assert.equal(await text('#status'), 'done');
      assert.match(example.sandboxId, /^\w+$/);
      assert.equal(await text('#sandbox-id'), example.sandboxId);

      // Three prints 0.3 s apart: each reached the page before the cell ended.
      assert.equal(await text('#stdout'), 'step 1 of 3\nstep 2 of 3\nstep 3 of 3\n');
      const seen = await page.evaluate(() => window.stdoutWhileRunning);
      assert.ok(seen.length >= 3, `stdout seen in ${seen.length} pieces before the cell ended: ${JSON.stringify(seen)}`);
      assert.ok(example.stdoutChunks >= 3, `${example.stdoutChunks} onStdout calls`);

      // The figure's PNG decodes to an image of a plot's size.
      await page.waitForFunction(() => document.querySelector('#plot img')?.naturalWidth > 100, null, { timeout: 10_000 });
      // The chart drawn from result.chart: its title and its one series of 10 points.
      const chart = page.locator('#plot svg.chart');
      assert.equal(await chart.locator('text').first().textContent(), 'squares');
      const series = await chart.locator('polyline.series').evaluateAll((lines) => lines.map((l) => l.getAttribute('points')));
      assert.equal(series.length, 1);
      assert.equal(series[0].split(' ').length, 10);

      const error = await text('#error');
      assert.match(error, /^ZeroDivisionError: division by zero\n/);
      assert.match(error, /divide\(1, 0\)/, 'the traceback shows the failing line');
      assert.match(error, /in divide/, 'the traceback names the frame');
      assert.doesNotMatch(error, /\x1b/, 'no ANSI escapes');

      // Untrusted output is shown, inert: HTML in a script-less iframe, SVG as an image, the
      // chart's title as text.
      const frame = page.locator('#untrusted iframe');
      assert.equal(await frame.getAttribute('sandbox'), '');
      assert.match(await frame.getAttribute('srcdoc'), /<script>/, 'the payload did reach the page');
      assert.equal(await page.frameLocator('#untrusted iframe').locator('b').textContent(), 'bold');
      const svgImage = page.locator('#untrusted img[src^="data:image/svg+xml"]');
      assert.equal(await svgImage.count(), 1, 'the SVG, as an image');
      assert.equal(await svgImage.evaluate((img) => img.decode().then(() => img.naturalWidth)), 40, 'the SVG decodes as drawn');
      assert.equal(await page.locator('#untrusted svg.chart text').first().textContent(), `<img src="x" onerror="top.pwned = 'chart title'">`);
      assert.equal(await page.locator('#untrusted script, #untrusted img[src="x"]').count(), 0);
      // Long enough for an image's error or a load event to have fired.
      await page.waitForTimeout(1000);
      assert.equal(await page.evaluate(() => window.pwned), undefined);

      assert.equal(example.killed, true);
      await assert.rejects(Sandbox.getInfo(example.sandboxId, { apiKey: sd.apiKey, apiUrl: sd.apiUrl }), NotFoundError);
      assertSdkSource(way, root, requested);
      assert.deepEqual(pageErrors, []);

      if (way !== VITE_BUILD) {
        const artifacts = join(repoRoot, 'tests/artifacts');
        mkdirSync(artifacts, { recursive: true });
        await page.screenshot({ path: join(artifacts, SCREENSHOT), fullPage: true });
        copyFileSync(join(artifacts, SCREENSHOT), join(repoRoot, 'docs', SCREENSHOT));
      }
    });
  }
});
