// The demo's static server: serves the page (www-demo/), the SDK package (pkg/) and xterm.js
// from node_modules, plus /config.json telling the page where sandboxd is and which key to use.
// scripts/demo.mjs runs it against its own sandboxd; tests/demo/ against the test harness'.
//
//   const demo = await startDemo({ port: 0, sandboxd: { apiUrl, sandboxUrl, apiKey } });
//   demo.url       http://127.0.0.1:<port>/
//   await demo.close();
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

// URL prefix → directory. Anything outside these is 404, so the server never exposes the repo.
const MOUNTS = [
  ['/pkg/', join(repoRoot, 'pkg')],
  ['/xterm/', join(repoRoot, 'node_modules/@xterm/xterm')],
  ['/xterm-addon-fit/', join(repoRoot, 'node_modules/@xterm/addon-fit')],
  ['/', join(repoRoot, 'www-demo')],
];

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.map': 'application/json',
};

function resolvePath(pathname) {
  if (pathname === '/') pathname = '/index.html';
  for (const [prefix, dir] of MOUNTS) {
    if (!pathname.startsWith(prefix)) continue;
    const file = normalize(join(dir, decodeURIComponent(pathname.slice(prefix.length))));
    return file.startsWith(dir + '/') ? file : null;
  }
  return null;
}

export async function startDemo({ port = 0, host = '127.0.0.1', sandboxd }) {
  const config = JSON.stringify({ apiUrl: sandboxd.apiUrl, sandboxUrl: sandboxd.sandboxUrl, apiKey: sandboxd.apiKey });
  const server = createServer(async (req, res) => {
    const { pathname } = new URL(req.url, 'http://demo');
    if (pathname === '/config.json') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      return res.end(config);
    }
    const file = resolvePath(pathname);
    // server.mjs is the server, not part of the page.
    if (!file || file === fileURLToPath(import.meta.url)) {
      res.writeHead(404).end('not found');
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
      res.end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const url = `http://${host}:${server.address().port}/`;
  return {
    url,
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
