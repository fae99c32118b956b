// examples/browser/ in Debian's Chromium against a real sandboxd (cross-origin: the page and
// sandboxd are on different ports, so CORS is exercised), twice: served as it is, plain ESM
// with an import map, and bundled by Vite. The page creates a sandbox, streams a command's
// output into itself, writes and reads a file, pipes a 'stream' read into the page, drives a
// PTY and kills the sandbox.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { NotFoundError, Sandbox } from 'e2b';

import { launchChromium } from '../helpers/chromium.mjs';
import { assertSdkSource, exampleWays, linkPackage, openExample } from '../helpers/examples.mjs';
import { startSandboxd } from '../helpers/sandboxd.mjs';

const exampleDir = linkPackage('browser');
// What `seq -f 'row-%06g' 1 100000` prints, which the page reads back as a stream.
const rows = Array.from({ length: 100_000 }, (_, i) => `row-${String(i + 1).padStart(6, '0')}\n`).join('');

describe('the browser example in Chromium', () => {
  let sd;
  let browser;

  before(async () => {
    sd = await startSandboxd();
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await sd?.stop();
  });

  const config = (apiKey) => ({ apiKey, apiUrl: sd.apiUrl, sandboxUrl: sd.sandboxUrl });

  test('a wrong API key shows an AuthenticationError in the page', async (t) => {
    const { page } = await openExample(t, browser, { root: exampleDir, config: config('e2b_wrong') });
    assert.match(await page.locator('#errors').textContent(), /^AuthenticationError: /);
    assert.equal(await page.locator('#status').textContent(), 'failed');
  });

  for (const [way, prepare] of Object.entries(exampleWays(exampleDir))) {
    test(way, async (t) => {
      const { root, cleanup } = await prepare();
      if (cleanup) t.after(cleanup);
      const { page, requested, pageErrors } = await openExample(t, browser, { root, config: config(sd.apiKey) });
      const example = await page.evaluate(() => window.example);
      const text = async (id) => page.locator(`#${id}`).textContent();

      assert.equal(example.error, undefined, 'the page reports no error');
      assert.deepEqual(pageErrors, []);
      assert.equal(await text('status'), 'done');
      assert.match(example.sandboxId, /^\w+$/);
      assert.equal(await text('sandbox-id'), example.sandboxId);

      assert.equal(await text('stdout'), 'line 1\nline 2\nline 3\n');
      assert.equal(example.exitCode, 0);
      assert.ok(example.stdoutChunks >= 3, `output arrived as it was printed (${example.stdoutChunks} chunks)`);

      assert.equal(await text('file-text'), 'Hello from the page, ünïcödé included\n');

      assert.equal(example.streamBytes, rows.length);
      assert.equal(await text('stream-bytes'), String(rows.length));
      assert.ok((await text('file-stream')) === rows, 'the streamed file arrived in the page byte for byte');

      assert.match(example.ptyOutput, /pty-42/);

      assert.equal(example.killed, true);
      await assert.rejects(Sandbox.getInfo(example.sandboxId, { apiKey: sd.apiKey, apiUrl: sd.apiUrl }), NotFoundError);
      assertSdkSource(way, root, requested);
    });
  }
});
