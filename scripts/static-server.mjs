// A small static file server for pages that use the SDK: the terminal demo (www-demo/server.mjs)
// and the browser example's tests. Serves directories under URL prefixes, plus /config.json
// telling the page where sandboxd is and which key to use (a stand-in for the app's backend).
//
//   const server = await serveStatic({ mounts: [['/pkg/', pkgDir], ['/', pageDir]], config });
//   server.url     http://127.0.0.1:<port>/
//   await server.close();
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.map': 'application/json',
};

/**
 * mounts: [URL prefix ending in '/', directory] pairs, the first matching prefix wins; any
 * other path, and the files in `hide`, are 404, so the server never exposes more than the
 * mounted directories. config: the object served as /config.json.
 */
export async function serveStatic({ mounts, config, hide = [], port = 0, host = '127.0.0.1' }) {
  const resolvePath = (pathname) => {
    if (pathname.endsWith('/')) pathname += 'index.html';
    for (const [prefix, dir] of mounts) {
      if (!pathname.startsWith(prefix)) continue;
      const file = normalize(join(dir, decodeURIComponent(pathname.slice(prefix.length))));
      return file.startsWith(dir + '/') && !hide.includes(file) ? file : null;
    }
    return null;
  };
  const configJson = JSON.stringify(config);
  const server = createServer(async (req, res) => {
    const { pathname } = new URL(req.url, 'http://static');
    if (pathname === '/config.json') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      return res.end(configJson);
    }
    const file = resolvePath(pathname);
    try {
      if (!file) throw new Error('not served');
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
  return {
    url: `http://${host}:${server.address().port}/`,
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
