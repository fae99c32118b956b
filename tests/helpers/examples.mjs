// The examples under examples/ depend on the package as `"e2b-wasm": "file:../../pkg"`; what
// `npm install` would do for that dependency is a symlink, made here so tests need no network.
// The page examples (examples/browser/) are tested the two ways a reader would use them: served
// as they are (plain ESM, an import map) and bundled by Vite; the helpers for that are here too.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { build } from 'vite';

import { serveStatic } from '../../scripts/static-server.mjs';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const PAGE_WAIT_MS = 120_000;
export const VITE_BUILD = 'Vite build';

/** Links examples/<name>/node_modules/e2b-wasm to pkg/ (built by `npm test`); → the example's dir. */
export function linkPackage(name) {
  const dir = join(repoRoot, 'examples', name);
  const modules = join(dir, 'node_modules');
  const link = join(modules, 'e2b-wasm');
  const target = relative(modules, join(repoRoot, 'pkg'));
  mkdirSync(modules, { recursive: true });
  let current;
  try { current = readlinkSync(link); } catch { /* absent */ }
  if (current !== target) symlinkSync(target, link);
  return dir;
}

/**
 * The ways to serve the page example in `dir`: { [way]: async () => ({ root, cleanup? }) },
 * `root` being the directory to serve (the example itself, or Vite's output).
 */
export function exampleWays(dir) {
  return {
    'plain ESM (import map, no bundler)': async () => ({ root: dir }),
    [VITE_BUILD]: async () => {
      const outDir = mkdtempSync(join(tmpdir(), 'example-vite-'));
      await build({ root: dir, logLevel: 'warn', build: { outDir, emptyOutDir: true } });
      return { root: outDir, cleanup: () => rmSync(outDir, { recursive: true, force: true }) };
    },
  };
}

/**
 * Serves `root` with `config` as /config.json, opens `path` in a new page of `browser` (after
 * `initScript`, if given, ran in it) and waits for the page's `window.example.done`;
 * → { page, requested (URL paths), pageErrors }. The page and server close after test `t`.
 */
export async function openExample(t, browser, { root, path = '', config, initScript }) {
  const server = await serveStatic({ mounts: [['/', root]], config });
  t.after(() => server.close());
  const page = await browser.context.newPage();
  t.after(() => page.close());
  const requested = [];
  page.on('request', (req) => requested.push(new URL(req.url()).pathname));
  const pageErrors = [];
  page.on('pageerror', (err) => pageErrors.push(err));
  if (initScript) await page.addInitScript(initScript);
  await page.goto(new URL(path, server.url).href);
  await page.waitForFunction(() => window.example?.done, null, { timeout: PAGE_WAIT_MS });
  return { page, requested, pageErrors };
}

/**
 * Asserts where the page served from `root` the `way` way got the SDK: a Vite bundle carries
 * the SDK and its wasm itself (nothing loads from node_modules); the plain page loads the
 * package through its import map.
 */
export function assertSdkSource(way, root, requested) {
  if (way === VITE_BUILD) {
    assert.ok(readdirSync(join(root, 'assets')).some((f) => f.endsWith('.wasm')), 'the wasm is emitted as an asset');
    assert.ok(!requested.some((p) => p.includes('node_modules')), requested.join(' '));
  } else {
    assert.ok(requested.includes('/node_modules/e2b-wasm/e2b_wasm_bg.wasm'), 'the page loaded the package through its import map');
  }
}
