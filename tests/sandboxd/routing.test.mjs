// The sandbox proxy: routing errors, secure sandboxes and signed URLs, and streams cut when a
// sandbox dies.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { request as httpRequest } from 'node:http';
import { connect as tcpConnect } from 'node:net';

import { Sandbox, TimeoutError } from 'e2b';
import { startWithSandbox, viaHost, waitUntil } from './util.mjs';

let sd, sbx;
before(async () => ({ sd, sbx } = await startWithSandbox()));
after(async () => {
  await sbx?.kill();
  await sd?.stop();
});

const envd = (id, extra = {}) => ({ 'E2b-Sandbox-Id': id, 'E2b-Sandbox-Port': '49983', ...extra });

describe('routing', () => {
  test('edge errors: bad headers 400, unknown sandbox and closed port 502, internal paths 404', async () => {
    let res = await fetch(`${sd.sandboxUrl}/health`, { headers: { 'E2b-Sandbox-Id': sbx.sandboxId } });
    assert.equal(res.status, 400);
    assert.equal(await res.text(), 'missing header');
    res = await fetch(`${sd.sandboxUrl}/health`, { headers: envd('iUPPER') });
    assert.equal(res.status, 400);

    res = await fetch(`${sd.sandboxUrl}/health`, { headers: envd('inosuchsandbox0000000') });
    assert.equal(res.status, 502);
    assert.deepEqual(await res.json(), { sandboxId: 'inosuchsandbox0000000', message: 'The sandbox was not found', code: 502 });

    const closed = await viaHost(sd, sbx.getHost(9), '/');
    assert.equal(closed.status, 502);
    assert.deepEqual(JSON.parse(closed.body), { sandboxId: sbx.sandboxId, message: 'The sandbox is running but port is not open', port: 9, code: 502 });

    res = await fetch(`${sd.sandboxUrl}/init`, { method: 'POST', headers: envd(sbx.sandboxId, { 'X-Access-Token': sbx.envdAccessToken }), body: '{}' });
    assert.equal(res.status, 404);

    res = await fetch(`${sd.sandboxUrl}/health`, { headers: envd(sbx.sandboxId) });
    assert.equal(res.status, 204);
  });

  test('a per-sandbox host reaches envd too', async () => {
    const res = await viaHost(sd, `49983-${sbx.sandboxId}.${sd.domain}`, '/health');
    assert.equal(res.status, 204);
  });

  test('preflights are answered for browser origins', async () => {
    const res = await fetch(`${sd.apiUrl}/v2/sandboxes`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://localhost:5173', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'x-api-key,e2b-sandbox-id' },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.match(res.headers.get('access-control-allow-headers'), /x-api-key/);
    const api = await fetch(`${sd.apiUrl}/v2/sandboxes`, { headers: { 'X-API-Key': sd.apiKey, Origin: 'http://localhost:5173' } });
    assert.equal(api.headers.get('access-control-allow-origin'), '*');
    assert.match(api.headers.get('access-control-expose-headers'), /X-Next-Token/);
  });
});

// A WebSocket handshake answered by hand, then upper-case echo of raw bytes: enough to see the
// proxy tunnel an upgraded connection both ways.
const UPGRADE_SERVER = `
import base64, hashlib, socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 8765))
s.listen()
while True:
    c, _ = s.accept()
    req = b""
    while b"\\r\\n\\r\\n" not in req:
        req += c.recv(4096)
    key = [l.split(b":", 1)[1].strip() for l in req.split(b"\\r\\n") if l.lower().startswith(b"sec-websocket-key:")][0]
    accept = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
    c.sendall(b"HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\nSec-WebSocket-Accept: " + accept + b"\\r\\n\\r\\n")
    while True:
        d = c.recv(4096)
        if not d:
            break
        c.sendall(d.upper())
    c.close()
`;

/** Sends a WebSocket upgrade for `host` to sandboxd, then a message; resolves with the
 * response head and the echo (null when the upgrade was refused). */
function upgradeThroughSandboxd(sd, host) {
  const message = 'hello through the tunnel';
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(Number(new URL(sd.apiUrl).port), '127.0.0.1');
    let buffered = '';
    let head = null;
    const finish = (echoed) => {
      socket.destroy();
      resolve({ head, echoed });
    };
    socket.setEncoding('utf8');
    socket.on('error', reject);
    socket.on('close', () => finish(null));
    socket.on('connect', () => {
      socket.write(
        `GET /chat HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
    });
    socket.on('data', (chunk) => {
      buffered += chunk;
      if (head === null) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        head = buffered.slice(0, end);
        buffered = buffered.slice(end + 4);
        if (!head.startsWith('HTTP/1.1 101')) return finish(null);
        socket.write(message);
      }
      if (buffered.length >= message.length) finish(buffered);
    });
  });
}

// Streams ticks until the client goes away, then leaves a marker file.
const STREAM_SERVER = `
import http.server, time
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        try:
            self.wfile.write(b"first\\n")
            self.wfile.flush()
            while True:
                time.sleep(0.05)
                self.wfile.write(b"tick\\n")
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            open("/home/user/client-gone", "w").close()
http.server.HTTPServer(("127.0.0.1", 8766), Handler).serve_forever()
`;

/** Reads `host`'s never-ending response until its first line, then hangs up. */
function readFirstLineAndHangUp(sd, host) {
  const { port } = new URL(sd.apiUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/stream', headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk) => {
        body += chunk;
        if (body.includes('\n')) {
          req.destroy();
          resolve({ status: res.statusCode, firstLine: body.split('\n')[0] });
        }
      });
      res.on('end', () => resolve({ status: res.statusCode, firstLine: null }));
    });
    req.on('error', (err) => (err.code === 'ECONNRESET' ? null : reject(err)));
    // A proxy that buffered would never hand over the first line: give up instead of hanging.
    req.setTimeout(30_000, () => {
      req.destroy();
      resolve({ status: 200, firstLine: null });
    });
    req.end();
  });
}

describe('user services through getHost', () => {
  test('responses stream without buffering, and a client hanging up reaches the service', async () => {
    await sbx.files.write('/home/user/stream_server.py', STREAM_SERVER);
    await sbx.commands.run('python3 /home/user/stream_server.py', { background: true, timeoutMs: 0 });
    const host = sbx.getHost(8766);
    let result;
    await waitUntil(async () => (result = await readFirstLineAndHangUp(sd, host)).status === 200, 30_000, 'stream server not up');
    // The service never ends its response, so seeing its first line proves it was not buffered.
    assert.equal(result.firstLine, 'first');
    await waitUntil(() => sbx.files.exists('/home/user/client-gone'), 30_000, 'the service never saw the client leave');
  });

  test('an upgraded (WebSocket) connection is tunnelled both ways', async () => {
    await sbx.files.write('/home/user/upgrade_server.py', UPGRADE_SERVER);
    await sbx.commands.run('python3 /home/user/upgrade_server.py', { background: true, timeoutMs: 0 });
    const host = sbx.getHost(8765);
    let result;
    await waitUntil(async () => (result = await upgradeThroughSandboxd(sd, host)).echoed !== null, 30_000, 'upgrade server not up');
    assert.match(result.head, /^HTTP\/1.1 101/);
    assert.match(result.head, /sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/i);
    assert.equal(result.echoed, 'HELLO THROUGH THE TUNNEL');
  });
});

describe('secure sandboxes', () => {
  test('envd refuses requests without the access token', async () => {
    assert.match(sbx.envdAccessToken, /^[0-9a-f]{64}$/);
    const rpc = await fetch(`${sd.sandboxUrl}/process.Process/List`, {
      method: 'POST',
      headers: envd(sbx.sandboxId, { 'Content-Type': 'application/json' }),
      body: '{}',
    });
    assert.equal(rpc.status, 401);
    const files = await fetch(`${sd.sandboxUrl}/files?path=/etc/hostname`, { headers: envd(sbx.sandboxId) });
    assert.equal(files.status, 401);
  });

  test('signed URLs work without any header and stop working when they expire', async () => {
    await sbx.files.write('/home/user/signed.txt', 'signed content');
    const download = await sbx.downloadUrl('/home/user/signed.txt');
    assert.equal(await (await fetch(download)).text(), 'signed content');

    const upload = await sbx.uploadUrl('/home/user/uploaded.txt');
    const form = new FormData();
    form.append('file', new Blob(['via signed upload']), 'uploaded.txt');
    const put = await fetch(upload, { method: 'POST', body: form });
    assert.equal(put.status, 200);
    assert.equal(await sbx.files.read('/home/user/uploaded.txt'), 'via signed upload');

    const shortLived = await sbx.downloadUrl('/home/user/signed.txt', { useSignatureExpiration: 1 });
    await new Promise((r) => setTimeout(r, 2_100));
    const expired = await fetch(shortLived);
    assert.equal(expired.status, 401);
    assert.match((await expired.json()).message, /signature is already expired/);

    const tampered = new URL(download);
    tampered.searchParams.set('path', '/etc/shadow');
    assert.equal((await fetch(tampered)).status, 401);
  });

  test('signed URLs reach the right sandbox among several', async () => {
    const other = await Sandbox.create();
    try {
      await other.files.write('/home/user/which.txt', 'other');
      await sbx.files.write('/home/user/which.txt', 'first');
      assert.equal(await (await fetch(await other.downloadUrl('/home/user/which.txt'))).text(), 'other');
      assert.equal(await (await fetch(await sbx.downloadUrl('/home/user/which.txt'))).text(), 'first');
    } finally {
      await other.kill();
    }
  });
});

describe('sandbox end while a request is in flight', () => {
  test('kill cuts a running command: TimeoutError, and /health answers 502', async () => {
    const victim = await Sandbox.create();
    const command = await victim.commands.run('sleep 120', { background: true, timeoutMs: 0 });
    // Catch at once: the rejection arrives while kill() is still being awaited.
    const outcome = command.wait().then(
      (result) => ({ result }),
      (error) => ({ error }),
    );
    await Sandbox.kill(victim.sandboxId);
    const { error, result } = await outcome;
    assert.equal(result, undefined, 'the command finished cleanly although its sandbox was killed');
    assert.ok(error instanceof TimeoutError, `${error?.name}: ${error?.message}`);
    assert.match(error.message, /killed or reached its end of life/);
    const health = await fetch(`${sd.sandboxUrl}/health`, { headers: envd(victim.sandboxId) });
    assert.equal(health.status, 502);
  });
});
