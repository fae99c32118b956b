// The demo's static server: serves the page (www-demo/), the SDK package (pkg/) and xterm.js
// from node_modules, plus /config.json telling the page where sandboxd is and which key to use.
// scripts/demo.mjs runs it against its own sandboxd; tests/demo/ against the test harness'.
//
//   const demo = await startDemo({ port: 0, sandboxd: { apiUrl, sandboxUrl, apiKey } });
//   demo.url       http://127.0.0.1:<port>/
//   await demo.close();
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { serveStatic } from '../scripts/static-server.mjs';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

export function startDemo({ port = 0, host = '127.0.0.1', sandboxd }) {
  return serveStatic({
    mounts: [
      ['/pkg/', join(repoRoot, 'pkg')],
      ['/xterm/', join(repoRoot, 'node_modules/@xterm/xterm')],
      ['/xterm-addon-fit/', join(repoRoot, 'node_modules/@xterm/addon-fit')],
      ['/', join(repoRoot, 'www-demo')],
    ],
    // server.mjs is the server, not part of the page.
    hide: [fileURLToPath(import.meta.url)],
    config: { apiUrl: sandboxd.apiUrl, sandboxUrl: sandboxd.sandboxUrl, apiKey: sandboxd.apiKey },
    port,
    host,
  });
}
