// Debian's Chromium (/usr/bin/chromium, installed by scripts/setup.sh) driven by playwright-core,
// with a fresh profile that close() deletes; and a one-page run in it (a page that sets
// `window.result`).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

import { serveStatic } from '../../scripts/static-server.mjs';

export async function launchChromium({ viewport = { width: 1200, height: 640 } } = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'test-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Serves `html` as the index page, beside `mounts` (`[urlPrefix, dir]`) and `config` as
 * /config.json, opens it in `browser` and waits for the page to set `window.result`;
 * → `{ result, pageErrors }`. The page, the server and the page's dir are gone when it returns.
 */
export async function runResultPage(browser, { html, mounts, config }) {
  const pageDir = mkdtempSync(join(tmpdir(), 'test-page-'));
  writeFileSync(join(pageDir, 'index.html'), html);
  const server = await serveStatic({ mounts: [...mounts, ['/', pageDir]], config });
  const page = await browser.context.newPage();
  const pageErrors = [];
  page.on('pageerror', (err) => pageErrors.push(err));
  try {
    await page.goto(server.url);
    await page.waitForFunction(() => window.result, null, { timeout: 120_000 });
    return { result: await page.evaluate(() => window.result), pageErrors };
  } finally {
    await page.close();
    await server.close();
    rmSync(pageDir, { recursive: true, force: true });
  }
}
