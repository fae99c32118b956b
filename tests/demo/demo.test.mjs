// The demo (www-demo/) in Debian's Chromium against a real sandboxd: typing into the terminal
// runs in the sandbox's shell, a dropped file lands in the sandbox and in the tree, the notebook
// runs code in the same sandbox and renders what it streams (and nothing of it runs script in
// the page), and a reload reconnects to the same sandbox and shell. Also: `npm run demo`'s
// script starts, serves the page, and its Ctrl-C leaves nothing behind.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Sandbox } from 'e2b';

import { startCodeInterpreterSandboxd } from '../code-interpreter/util.mjs';
import { launchChromium } from '../helpers/chromium.mjs';
import { findLeaks, sandboxdBinary, startSandboxd } from '../helpers/sandboxd.mjs';
import { startDemo } from '../../www-demo/server.mjs';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const artifacts = join(repoRoot, 'tests/artifacts');
const WAIT_MS = 120_000;
// sandboxd's first build of code-interpreter-v1 (pip installs of the data stack).
const TEMPLATE_BUILD_WAIT_MS = 540_000;

// Everything the terminal shows, scrollback included.
const terminalText = (page) => page.evaluate(() => {
  const buffer = window.demo.term.buffer.active;
  const lines = [];
  for (let i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i).translateToString(true));
  return lines.join('\n');
});

async function waitForTerminal(page, text) {
  await page.waitForFunction((wanted) => {
    const buffer = window.demo.term.buffer.active;
    for (let i = 0; i < buffer.length; i++) if (buffer.getLine(i).translateToString(true).includes(wanted)) return true;
    return false;
  }, text, { timeout: WAIT_MS }).catch(async (err) => {
    throw new Error(`${err.message}\n--- terminal ---\n${await terminalText(page)}`);
  });
}

async function openDemo(page, url) {
  await page.goto(url);
  await page.waitForFunction(() => window.demo?.ready || !document.getElementById('errors').hidden, null, { timeout: WAIT_MS });
  assert.equal(await page.locator('#errors').textContent(), '', 'the page shows no error');
}

// Runs the notebook's cell (with `code` typed in place of what is there, if given) and waits
// until it ended.
async function runCell(page, code, language = 'python') {
  if (code !== undefined) await page.locator('#cell-code').fill(code);
  await page.locator('#cell-language').selectOption(language);
  await page.locator('#cell-code').press('Shift+Enter');
  await page.waitForFunction(() => document.getElementById('cell').dataset.state === 'done', null, { timeout: WAIT_MS });
}

async function typeLine(page, line) {
  await page.locator('#terminal').click();
  await page.keyboard.type(line);
  await page.keyboard.press('Enter');
}

describe('demo in Chromium', () => {
  let sd;
  let demo;
  let browser;
  let page;
  const pageErrors = [];

  before(async () => {
    // The page's sandbox is a code-interpreter-v1 one: built here, before the page's create.
    sd = await startCodeInterpreterSandboxd();
    demo = await startDemo({ port: 0, sandboxd: sd });
    browser = await launchChromium();
    page = await browser.context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err));
    await openDemo(page, demo.url);
  });

  after(async () => {
    const sandboxId = await page?.evaluate(() => window.demo?.sandbox?.sandboxId).catch(() => undefined);
    await browser?.close();
    await demo?.close();
    if (sandboxId) await Sandbox.kill(sandboxId, { ...sdkOpts() });
    await sd?.stop();
  });

  const sdkOpts = () => ({ apiKey: sd.apiKey, apiUrl: sd.apiUrl, sandboxUrl: sd.sandboxUrl });

  test('typing a command runs it in the sandbox shell', async () => {
    await typeLine(page, 'echo hello-$((6*7))');
    await waitForTerminal(page, 'hello-42');
  });

  test('the status bar shows the sandbox and its time left, and extends it', async () => {
    const sandboxId = await page.evaluate(() => window.demo.sandbox.sandboxId);
    assert.equal(await page.locator('#sandbox-id').textContent(), sandboxId);
    assert.match(await page.locator('#time-left').textContent(), /^\d+:\d\d$/);
    // Shortened behind the page's back to one minute, the button gives it five minutes again.
    await Sandbox.setTimeout(sandboxId, 60_000, sdkOpts());
    const shortened = (await Sandbox.getInfo(sandboxId, sdkOpts())).endAt.getTime();
    await page.locator('#extend').click();
    await page.waitForFunction(() => /^[45]:\d\d$/.test(document.getElementById('time-left').textContent), null, { timeout: WAIT_MS });
    const extended = (await Sandbox.getInfo(sandboxId, sdkOpts())).endAt.getTime();
    assert.ok(extended - shortened > 3 * 60_000, `endAt moved by ${extended - shortened} ms`);
  });

  test('resizing the window resizes the terminal and its PTY', async () => {
    const before = await page.evaluate(() => ({ cols: window.demo.term.cols, rows: window.demo.term.rows }));
    await page.setViewportSize({ width: 900, height: 480 });
    await page.waitForFunction((b) => window.demo.term.cols < b.cols && window.demo.term.rows < b.rows, before, { timeout: WAIT_MS });
    const { cols, rows } = await page.evaluate(() => ({ cols: window.demo.term.cols, rows: window.demo.term.rows }));
    await typeLine(page, 'echo size-$(stty size | tr " " x)');
    await waitForTerminal(page, `size-${rows}x${cols}`);
    await page.setViewportSize({ width: 1200, height: 640 });
    await page.waitForFunction((b) => window.demo.term.cols === b.cols, before, { timeout: WAIT_MS });
  });

  test('a dropped file is uploaded and appears in the tree', async () => {
    const content = `dropped at ${new Date().toISOString()}\n`;
    await page.evaluate((text) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([text], 'dropped.txt', { type: 'text/plain' }));
      const panel = document.getElementById('files');
      for (const type of ['dragenter', 'dragover', 'drop']) {
        panel.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }));
      }
    }, content);
    await page.locator('#tree li[data-path$="/dropped.txt"]').waitFor({ timeout: WAIT_MS });
    const { sandboxId, home } = await page.evaluate(() => ({ sandboxId: window.demo.sandbox.sandboxId, home: window.demo.home }));
    const sandbox = await Sandbox.connect(sandboxId, sdkOpts());
    assert.equal(await sandbox.files.read(`${home}/dropped.txt`), content);

    // A file made in the shell shows up too: the tree follows watchDir.
    await typeLine(page, 'mkdir -p notes && echo hi > notes/from-shell.txt');
    await page.locator('#tree li[data-path$="/notes/from-shell.txt"]').waitFor({ timeout: WAIT_MS });
  });

  test('the notebook runs its matplotlib example: streamed stdout, the PNG, a chart from its data, a file in the tree', async () => {
    // What the output shows at each change while the cell runs: stdout must arrive in pieces.
    await page.evaluate(() => {
      window.seenWhileRunning = [];
      new MutationObserver(() => {
        const cell = document.getElementById('cell');
        const stdout = cell.querySelector('.out-stdout')?.textContent ?? '';
        if (cell.dataset.state === 'running' && stdout && stdout !== window.seenWhileRunning.at(-1)) window.seenWhileRunning.push(stdout);
      }).observe(document.getElementById('cell-outputs'), { childList: true, subtree: true, characterData: true });
    });
    await runCell(page);
    const seen = await page.evaluate(() => window.seenWhileRunning);
    assert.ok(seen.length >= 3, `stdout seen in ${seen.length} pieces before the cell ended: ${JSON.stringify(seen)}`);
    assert.equal(await page.locator('#cell .out-stdout').textContent(), 'step 0\nstep 1\nstep 2\n');

    // The figure's PNG decodes to an image of a plot's size.
    await page.waitForFunction(() => document.querySelector('#cell img.out-png')?.naturalWidth > 100, null, { timeout: WAIT_MS });
    const chart = page.locator('#cell svg.out-chart');
    assert.equal(await chart.getAttribute('data-chart-type'), 'line');
    assert.match(await chart.textContent(), /squares/);
    // One polyline of 10 points: the series of the example, drawn from chart.elements.
    const points = await chart.locator('polyline.series').getAttribute('points');
    assert.equal(points.trim().split(' ').length, 10);

    await page.locator('#tree li[data-path$="/squares.csv"]').waitFor({ timeout: WAIT_MS });
    const { sandboxId, home } = await page.evaluate(() => ({ sandboxId: window.demo.sandbox.sandboxId, home: window.demo.home }));
    const sandbox = await Sandbox.connect(sandboxId, sdkOpts());
    assert.match(await sandbox.files.read(`${home}/squares.csv`), /^0,0\n1,1\n2,4\n/);

    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, 'demo.png') });
    copyFileSync(join(artifacts, 'demo.png'), join(repoRoot, 'docs/demo.png'));
  });

  test('the notebook draws bar and pie charts from their data', async () => {
    await runCell(page, String.raw`import matplotlib.pyplot as plt
plt.figure(); plt.bar(["a", "b", "c"], [3, 5, 2]); plt.title("bars"); plt.show()
plt.figure(); plt.pie([1, 2, 3], labels=["x", "y", "z"]); plt.title("pie"); plt.show()
`);
    const charts = page.locator('#cell svg.out-chart');
    assert.deepEqual(await charts.evaluateAll((all) => all.map((c) => [c.dataset.chartType, c.querySelectorAll('.series').length])),
      [['bar', 3], ['pie', 3]]);
    assert.equal(await page.locator('#cell img.out-png').count(), 2, 'each figure also as its PNG');
  });

  test('the notebook shows an error with its traceback, and runs the other languages of its picker', async () => {
    await runCell(page, 'def broken():\n    return 1 / 0\n\nbroken()\n');
    const error = await page.locator('#cell .out-error').textContent();
    assert.match(error, /^ZeroDivisionError: division by zero/);
    assert.match(error, /broken\(\)/, 'the traceback names the frames');
    assert.doesNotMatch(error, /\x1b\[/, 'no ANSI escapes');

    // R through the picker: its output, then its error.
    await runCell(page, 'print(6 * 7)', 'r');
    assert.match(await page.locator('#cell .out-stdout').textContent(), /\[1\] 42/);
    await runCell(page, 'stop("boom from R")', 'r');
    assert.match(await page.locator('#cell .out-error').textContent(), /boom from R/);
    await page.locator('#cell-language').selectOption('python');
  });

  test('attacker: HTML, SVG and Markdown output with script payloads run no script in the page', async () => {
    // Each payload would set `pwned` on the demo's window to its own number if it ran there.
    const code = String.raw`from IPython.display import HTML, SVG, Markdown, display
display(HTML("""<b id="bold">rich</b><script>top.pwned = 1</script><img src="x" onerror="top.pwned = 2">"""))
display(SVG("""<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20"><script>top.pwned = 3</script><rect width="20" height="20" fill="red" onload="top.pwned = 4"/></svg>"""))
display(Markdown("""**md** <img src="x" onerror="top.pwned = 5"><script>top.pwned = 6</script>"""))
`;
    await runCell(page, code);
    const frame = page.locator('#cell iframe.out-html');
    assert.equal(await frame.getAttribute('sandbox'), '', 'HTML goes into a fully sandboxed iframe');
    assert.match(await frame.getAttribute('srcdoc'), /<script>/, 'the payload did reach the page');
    // The HTML is rendered (in its opaque origin), just without script.
    assert.equal(await page.frameLocator('#cell iframe.out-html').locator('#bold').textContent(), 'rich');
    assert.match(await page.locator('#cell img.out-svg').getAttribute('src'), /^data:image\/svg\+xml;base64,/);
    assert.match(await page.locator('#cell .out-markdown').textContent(), /onerror/);
    assert.equal(await page.locator('#cell script').count(), 0);
    // Long enough for an image error or a load event to have fired.
    await page.waitForTimeout(1000);
    assert.equal(await page.evaluate(() => window.pwned), undefined);
  });

  test('clicking a file in the tree downloads it', async () => {
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: WAIT_MS }),
      page.locator('#tree li[data-path$="/notes/from-shell.txt"]').click(),
    ]);
    assert.equal(download.suggestedFilename(), 'from-shell.txt');
    assert.equal(readFileSync(await download.path(), 'utf8'), 'hi\n');
  });

  test('a reload reconnects to the same sandbox and shell', async () => {
    await typeLine(page, 'export DEMO_MARK=mark-$((1000+234))');
    await typeLine(page, 'echo marked-$((1+1))');
    await waitForTerminal(page, 'marked-2');
    const sandboxId = await page.evaluate(() => window.demo.sandbox.sandboxId);
    const pid = await page.evaluate(() => window.demo.pid);

    await page.reload();
    await page.waitForFunction(() => window.demo?.ready || !document.getElementById('errors').hidden, null, { timeout: WAIT_MS });
    assert.equal(await page.locator('#errors').textContent(), '', 'the page shows no error');
    assert.equal(await page.evaluate(() => window.demo.sandbox.sandboxId), sandboxId);
    assert.equal(await page.evaluate(() => window.demo.pid), pid);
    await typeLine(page, 'echo seen-$DEMO_MARK');
    await waitForTerminal(page, 'seen-mark-1234');
    assert.deepEqual(pageErrors, []);
  });

  test('exiting the shell makes the next load start a new sandbox', async () => {
    const sandboxId = await page.evaluate(() => window.demo.sandbox.sandboxId);
    await typeLine(page, 'exit');
    await waitForTerminal(page, 'the shell exited');
    await page.reload();
    await page.waitForFunction(() => window.demo?.ready || !document.getElementById('errors').hidden, null, { timeout: WAIT_MS });
    assert.equal(await page.locator('#errors').textContent(), '', 'the page shows no error');
    assert.notEqual(await page.evaluate(() => window.demo.sandbox.sandboxId), sandboxId);
    await Sandbox.kill(sandboxId, sdkOpts());
  });
});

describe('terminal demo with a wrong API key', () => {
  let sd;
  let demo;
  let browser;

  before(async () => {
    sd = await startSandboxd();
    demo = await startDemo({ port: 0, sandboxd: { ...sd, apiKey: 'e2b_0000000000000000000000000000000000000000' } });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await demo?.close();
    await sd?.stop();
  });

  test('shows the error in the page', async () => {
    const page = await browser.context.newPage();
    await page.goto(demo.url);
    await page.locator('#errors').waitFor({ state: 'visible', timeout: WAIT_MS });
    assert.match(await page.locator('#errors').textContent(), /AuthenticationError/);
  });
});

describe('scripts/demo.mjs', () => {
  test('starts sandboxd and the demo, prints the URL, and Ctrl-C leaves no sandbox', async () => {
    // The script builds code-interpreter-v1 before it prints the URL: with the data dir the
    // code-interpreter suites share (`npm test`), it is built already; alone, it takes minutes.
    const sharedDataDir = process.env.SANDBOXD_CODE_INTERPRETER_DATA_DIR;
    const dataDir = sharedDataDir ?? mkdtempSync(join(tmpdir(), 'demo-script-'));
    const env = { ...process.env, DEMO_PORT: '0', DEMO_DATA_DIR: dataDir, SANDBOXD_BIN: sandboxdBinary() };
    const child = spawn(process.execPath, ['scripts/demo.mjs'], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    try {
      const url = await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no URL printed:\n${output}`)), TEMPLATE_BUILD_WAIT_MS);
        child.stdout.on('data', () => {
          const match = /demo: open (http:\/\/\S+)/.exec(output);
          if (match) {
            clearTimeout(timer);
            resolve(match[1]);
          }
        });
        exited.then(() => reject(new Error(`demo.mjs exited:\n${output}`)));
      });
      assert.match(output, /code-interpreter-v1 template is built[^]*demo: open/, 'the template is built before the URL is printed');
      const html = await (await fetch(url)).text();
      assert.match(html, /<section id="terminal">/);
      assert.match(html, /<section id="notebook">/);
      const config = await (await fetch(new URL('/config.json', url))).json();
      assert.equal(config.apiKey, readFileSync(join(dataDir, 'api-key'), 'utf8').trim());
      // A sandbox that is still running when Ctrl-C comes must be gone afterwards.
      const sandbox = await Sandbox.create({ apiKey: config.apiKey, apiUrl: config.apiUrl, sandboxUrl: config.sandboxUrl });
      assert.ok(await sandbox.isRunning());

      child.kill('SIGINT');
      const exit = await exited;
      assert.deepEqual(exit, { code: 0, signal: null }, output);
      assert.match(output, /sandboxd stopped \(exit 0\)/);
      let leaks = findLeaks(dataDir);
      for (const deadline = Date.now() + 10_000; leaks.length && Date.now() < deadline;) {
        await new Promise((r) => setTimeout(r, 200));
        leaks = findLeaks(dataDir);
      }
      assert.deepEqual(leaks, []);
    } finally {
      if (child.exitCode === null) {
        child.kill('SIGINT');
        await exited;
      }
      if (!sharedDataDir) rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
