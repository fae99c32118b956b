// What E2B's own tests and CLI found different (issue 13), through the official npm SDK: uploads
// as `user` where `user` cannot write, `python`/`pip` in `base`, the templates endpoints,
// unsupported features that say so, and HTTP/1.1 header case through the proxy.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

import { Sandbox, SandboxError, SandboxNotFoundError, Template, Volume, VolumeError } from 'e2b';
import { sandboxdBinary } from '../helpers/sandboxd.mjs';
import { runOfficialCli, startWithSandbox, uniqueTag, waitUntil } from './util.mjs';

let sd, sbx;
before(async () => ({ sd, sbx } = await startWithSandbox()));
after(async () => {
  await sbx?.kill();
  await sd?.stop();
});

const api = (path, init = {}) => fetch(`${sd.apiUrl}${path}`, { ...init, headers: { 'X-API-Key': sd.apiKey, ...init.headers } });

/** Where `path` of the sandbox's root lives on the host when the sandbox wrote it. */
const inUpperLayer = (...path) => join(sd.dataDir, 'runtime', 'layers', sbx.sandboxId, 'fs', 'upper', ...path);

/** One raw HTTP/1.1 exchange with sandboxd (fetch and node:http normalise header names). */
function rawExchange(head) {
  const url = new URL(sd.apiUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => socket.write(head));
    let received = '';
    socket.setEncoding('utf8').on('data', (c) => (received += c)).on('end', () => resolve(received)).on('error', reject);
  });
}

/** Starts `command` in the background and waits until `port` answers inside the sandbox. */
async function serveInside(command, port) {
  await sbx.commands.run(command, { background: true });
  await waitUntil(async () => (await sbx.commands.run(`curl -s -o /dev/null http://127.0.0.1:${port}/ && echo up || true`)).stdout === 'up\n', 10_000, `nothing listens on ${port}`);
}

describe('uploads as user where user cannot write', () => {
  test('create the missing parents and the file and hand them to the user (E2B\'s envd; the host sees the user\'s uid)', async () => {
    await assert.rejects(sbx.commands.run('touch /opt/probe'), (e) => /Permission denied/.test(e.stderr), 'user cannot write /opt');
    const infos = await sbx.files.write([
      { path: '/0/a.txt', data: 'zero' },
      { path: '/2/deep/b.txt', data: 'two' },
      { path: '/opt/x.txt', data: 'opt' },
    ]);
    assert.deepEqual(infos.map((i) => i.path), ['/0/a.txt', '/2/deep/b.txt', '/opt/x.txt']);
    for (const [path, permissions] of [['/0', 'drwxr-xr-x'], ['/2/deep', 'drwxr-xr-x'], ['/2/deep/b.txt', '-rw-r--r--'], ['/opt/x.txt', '-rw-r--r--']]) {
      const info = await sbx.files.getInfo(path);
      assert.deepEqual([info.owner, info.group, info.permissions], ['user', 'user', permissions], path);
    }
    assert.equal((await sbx.files.getInfo('/opt')).owner, 'root', 'an existing parent keeps its owner');
    assert.equal((await sbx.commands.run('cat /2/deep/b.txt; echo more >> /opt/x.txt && cat /opt/x.txt')).stdout, 'twooptmore\n', 'the user can read and append to what was handed over');

    // On the host, in the sandbox's writable layer: the same owner as a file user made itself.
    await sbx.commands.run('echo mine > /home/user/mine.txt');
    const userUid = statSync(inUpperLayer('home/user/mine.txt')).uid;
    for (const path of ['0', '0/a.txt', '2/deep', 'opt/x.txt']) {
      const st = statSync(inUpperLayer(path));
      assert.equal(st.uid, userUid, `host owner of ${path}`);
      assert.equal(st.mode & 0o7777, path.endsWith('.txt') ? 0o644 : 0o755, `host mode of ${path}`);
    }
  });

  test('an upload done as root still stays inside the sandbox: /proc links lead nowhere on the host', async () => {
    const tag = uniqueTag();
    await sbx.files.write(`/proc/1/root/../../tmp/${tag}`, 'stays inside');
    assert.equal(existsSync(`/tmp/${tag}`), false, 'written to the host /tmp');
    assert.equal(await sbx.files.read(`/tmp/${tag}`), 'stays inside');
    assert.equal(statSync(inUpperLayer('tmp', tag)).size, 12);

    const binary = statSync(sandboxdBinary());
    await assert.rejects(sbx.files.write('/proc/self/exe', 'overwritten'), SandboxError);
    const later = statSync(sandboxdBinary());
    assert.deepEqual([later.ino, later.size, later.mtimeMs], [binary.ino, binary.size, binary.mtimeMs], 'the host binary changed');
  });
});

describe('base template', () => {
  test('has python and pip; python -m http.server is reached through getHost', async () => {
    assert.match((await sbx.commands.run('python --version')).stdout, /^Python 3\./);
    assert.match((await sbx.commands.run('pip --version')).stdout, /^pip \d+/);
    await sbx.files.write('/home/user/site/index.html', 'served by python');
    await serveInside('cd /home/user/site && python -m http.server 8000', 8000);
    const host = sbx.getHost(8000);
    const res = await rawExchange(`GET /index.html HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    assert.match(res, /^HTTP\/1\.[01] 200/);
    assert.ok(res.endsWith('served by python'), res);
  });

  test('Template.exists and the templates endpoints know base', async () => {
    assert.equal(await Template.exists('base'), true);
    assert.equal(await Template.exists('no-such-template'), false);

    const alias = await api('/templates/aliases/base');
    assert.equal(alias.status, 200);
    assert.deepEqual(await alias.json(), { templateID: 'rki5dems9wqfm4r03t7g', public: true });
    const missing = await api('/templates/aliases/nope');
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { code: 404, message: "template with alias 'nope' not found" });

    const list = await api('/templates');
    assert.equal(list.status, 200);
    const [base, ...others] = await list.json();
    assert.equal(others.length, 0);
    assert.deepEqual(Object.keys(base).sort(), [
      'aliases', 'buildCount', 'buildID', 'buildStatus', 'cpuCount', 'createdAt', 'createdBy', 'diskSizeMB', 'envdVersion',
      'lastSpawnedAt', 'memoryMB', 'names', 'public', 'spawnCount', 'templateID', 'updatedAt',
    ]);
    assert.equal(base.templateID, 'rki5dems9wqfm4r03t7g');
    assert.deepEqual([base.aliases, base.names, base.buildStatus, base.public, base.createdBy], [['base'], ['base'], 'ready', true, null]);
    assert.deepEqual([base.cpuCount, base.memoryMB, base.envdVersion], [2, 512, '0.6.13']);
    assert.equal(base.spawnCount, 1, 'the one sandbox of this suite');
    assert.ok(Math.abs(Date.parse(base.lastSpawnedAt) - (await sbx.getInfo()).startedAt.getTime()) < 1000, base.lastSpawnedAt);
    assert.ok(!Number.isNaN(Date.parse(base.createdAt)));
    assert.equal((await api('/templates', { headers: { 'X-API-Key': 'e2b_wrong' } })).status, 401);
  });

  test('the official CLI\'s template list lists base', () => {
    const run = runOfficialCli(sd, ['template', 'list']);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /\bPublic\s+rki5dems9wqfm4r03t7g\s+base\s+2\s+512\b/);
  });
});

describe('unsupported features', () => {
  test('raise an error that says sandboxd does not have them, not SandboxNotFoundError', async () => {
    const says = (errorClass) => (err) => {
      assert.ok(!(err instanceof SandboxNotFoundError), `${err.name}: ${err.message}`);
      assert.ok(err instanceof errorClass, `${err.name}: ${err.message}`);
      assert.match(err.message, /^501: .* is not available on sandboxd/);
      return true;
    };
    await assert.rejects(sbx.createSnapshot(), says(SandboxError));
    await assert.rejects(Sandbox.listSnapshots().nextItems(), says(SandboxError));
    await assert.rejects(Volume.create('data'), says(VolumeError));
    assert.equal(await sbx.isRunning(), true);

    for (const [method, path] of [['POST', `/sandboxes/${sbx.sandboxId}/fork`], ['PUT', '/templates/tags'], ['GET', '/secrets']]) {
      const res = await api(path, { method, body: method === 'GET' ? undefined : '{}', headers: { 'Content-Type': 'application/json' } });
      assert.equal(res.status, 501, path);
      assert.deepEqual(await res.json(), { code: 501, message: `${method} ${path} is not available on sandboxd, the local E2B-compatible server (not implemented)` });
    }
    // The tag calls are served (template-tags.test.mjs): a bad body is a 400, not a 501.
    for (const method of ['POST', 'DELETE']) {
      const res = await api('/templates/tags', { method, body: '{}', headers: { 'Content-Type': 'application/json' } });
      assert.equal(res.status, 400, method);
      assert.match((await res.json()).message, /^invalid request body: missing field/);
    }
  });
});

describe('header case through the proxy', () => {
  test('a server inside sees HTTP/1.1 header names as the client sent them, and the client its reply\'s', async () => {
    // Answers with the request head it read, byte for byte, under a mixed-case header of its own.
    await sbx.files.write('/home/user/echo_head.py', [
      'import socket',
      's = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
      's.bind(("127.0.0.1", 8081)); s.listen()',
      'while True:',
      '    c, _ = s.accept(); head = b""',
      '    while b"\\r\\n\\r\\n" not in head:',
      '        chunk = c.recv(4096)',
      '        if not chunk: break',
      '        head += chunk',
      '    c.sendall(b"HTTP/1.1 200 OK\\r\\nX-Reply-Case: Kept\\r\\nContent-Length: %d\\r\\nConnection: close\\r\\n\\r\\n" % len(head) + head); c.close()',
      '',
    ].join('\n'));
    await serveInside('python /home/user/echo_head.py', 8081);
    const host = sbx.getHost(8081);
    const reply = await rawExchange(`GET /echo HTTP/1.1\r\nHost: ${host}\r\nX-Mixed-Case: v1\r\nACCEPT: */*\r\nConnection: close\r\n\r\n`);
    const [head, seen] = reply.split('\r\n\r\n'); // `seen` without its own final blank line
    assert.match(head, /\r\nX-Reply-Case: Kept\r\n/);
    assert.match(seen, new RegExp(`^GET /echo HTTP/1\\.1\\r\\n`));
    assert.match(seen, new RegExp(`\\r\\nHost: ${host.replace(/\./g, '\\.')}\\r\\n`));
    assert.match(seen, /\r\nX-Mixed-Case: v1\r\n/);
    assert.match(seen, /\r\nACCEPT: \*\/\*$/);
  });
});
