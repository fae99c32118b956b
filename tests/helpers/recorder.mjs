// A loopback HTTP server that stands in for the E2B API and for envd's Filesystem service: it
// records every request (method, path, query, headers, body) and answers each control-plane call
// and filesystem RPC (in Connect's JSON codec) with a plausible response, so that the requests
// two SDKs make for the same calls can be compared byte for byte.
import { createServer } from 'node:http';

// Headers whose values describe the client (its name, version and platform), not the request:
// recorded by name only.
const CLIENT_HEADERS = /^(user-agent|e2b-sdk-.*|lang_version|package_version|system)$/;
// How the body is framed on the wire (a length or chunks), which says nothing about its content.
const FRAMING_HEADERS = /^(content-length|transfer-encoding)$/;

const SANDBOX = {
  sandboxID: 'sbxrecorded',
  templateID: 'tmplrecorded',
  clientID: 'client',
  envdVersion: '0.6.13',
  envdAccessToken: 'envd-token',
  trafficAccessToken: null,
  domain: null,
};

const INFO = {
  ...SANDBOX,
  alias: 'base',
  startedAt: '2026-01-01T00:00:00Z',
  endAt: '2026-01-01T00:05:00Z',
  state: 'running',
  cpuCount: 2,
  memoryMB: 512,
  diskSizeMB: 1024,
  metadata: { owner: 'recorder' },
  allowInternetAccess: null,
  network: {
    allowOut: ['10.0.0.0/8'],
    denyOut: ['0.0.0.0/0'],
    rules: null,
    egressProxy: { address: 'proxy.example.com:1080', username: 'proxy-user', password: 'proxy-secret' },
    allowPublicTraffic: false,
    maskRequestHost: 'masked.example.com',
    httpsPorts: [443],
  },
  lifecycle: { onTimeout: 'pause', autoResume: true },
  volumeMounts: [],
};

/** An entry as envd's JSON codec sends it: 64-bit size as a string, enums by name, nanoseconds. */
const ENTRY = {
  name: 'a.txt', type: 'FILE_TYPE_FILE', path: '/home/user/a.txt', size: '1234', mode: 420, permissions: '-rw-r--r--',
  owner: 'user', group: 'user', modifiedTime: '2026-01-01T00:00:05.123987654Z', metadata: { origin: 'recorder' },
};
const LINK = { ...ENTRY, name: 'l', type: 'FILE_TYPE_SYMLINK', path: '/home/user/l', size: '7', modifiedTime: '2026-01-01T00:00:06Z', symlinkTarget: '/home/user/a.txt', metadata: {} };
// A directory with default fields left out, and an entry of a type the SDKs do not know.
const DIR = { name: 'd', type: 'FILE_TYPE_DIRECTORY', path: '/home/user/d' };
const UNKNOWN = { name: 'p', path: '/home/user/p', size: '1' };

/** The answer to a control-plane request or filesystem RPC (whose body is `body`): `[status, body]`. */
function answer(method, path, body) {
  if (path === '/filesystem.Filesystem/Stat' && body.includes('missing')) return [404, { code: 'not_found', message: 'no such file or directory' }];
  const route = `${method} ${path.replace(/\/sandboxes\/[^/]+/, '/sandboxes/:id')}`;
  switch (route) {
    case 'POST /filesystem.Filesystem/Stat':
    case 'POST /filesystem.Filesystem/Move':
    case 'POST /filesystem.Filesystem/MakeDir':
      return [200, { entry: ENTRY }];
    case 'POST /filesystem.Filesystem/ListDir':
      return [200, { entries: [ENTRY, LINK, DIR, UNKNOWN] }];
    case 'POST /filesystem.Filesystem/Remove':
      return [200, {}];
    case 'POST /v2/sandboxes':
      return [201, SANDBOX];
    case 'POST /v2/sandboxes/:id/connect':
      return [201, SANDBOX];
    case 'GET /sandboxes/:id':
      return [200, INFO];
    case 'GET /v2/sandboxes':
      return [200, [INFO]];
    case 'GET /sandboxes/:id/metrics':
      return [200, [{ timestamp: '2026-01-01T00:00:05Z', timestampUnix: 1767225605, cpuCount: 2, cpuUsedPct: 1.5, memUsed: 1024, memTotal: 2048, diskUsed: 10, diskTotal: 20 }]];
    case 'DELETE /sandboxes/:id':
    case 'POST /sandboxes/:id/timeout':
    case 'POST /sandboxes/:id/pause':
    case 'PUT /sandboxes/:id/network':
      return [204, undefined];
    default:
      return [404, { code: 404, message: `recorder: no route for ${route}` }];
  }
}

export async function startRecorder() {
  const requests = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url, 'http://recorder');
      const headers = Object.fromEntries(Object.entries(req.headers)
        .filter(([name]) => !FRAMING_HEADERS.test(name))
        .map(([name, value]) => [name, CLIENT_HEADERS.test(name) ? '(client)' : value])
        .sort());
      requests.push({
        method: req.method,
        path: url.pathname,
        query: [...url.searchParams].sort(),
        headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      const [status, body] = answer(req.method, url.pathname, requests.at(-1).body);
      res.writeHead(status, body === undefined ? {} : { 'Content-Type': 'application/json' });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    /** The requests recorded since the last call, in arrival order. */
    take: () => requests.splice(0),
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
