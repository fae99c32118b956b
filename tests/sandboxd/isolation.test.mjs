// What a sandbox can see: its own processes, its own files, its own network. Run twice by
// `npm test`: on `base` and on a template built here (tests/helpers/test-template.mjs).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { BUILT_PASS, LAYER_FILE, createSandbox, startSuiteSandboxd } from '../helpers/test-template.mjs';
import { uniqueTag, viaHost, waitUntil } from './util.mjs';

let sd;
let a;
let b;
/** A host file sandboxd inherits open from its parent, which no sandbox may reach. */
const inheritedSecret = `inherited host secret ${uniqueTag()}`;
before(async () => {
  const secretFile = join(mkdtempSync(join(tmpdir(), 'sandboxd-inherited-')), 'secret');
  writeFileSync(secretFile, inheritedSecret, { mode: 0o600 });
  const secretFd = openSync(secretFile, 'r');
  sd = await startSuiteSandboxd({ inheritFds: [secretFd] });
  closeSync(secretFd);
  rmSync(join(secretFile, '..'), { recursive: true });
  [a, b] = await Promise.all([createSandbox(), createSandbox()]);
});
after(async () => {
  await Promise.all([a?.kill(), b?.kill()]);
  await sd?.stop();
});

describe('isolation', () => {
  test('a pid namespace of its own: envd is PID 1 and no host process is visible', async () => {
    const out = await a.commands.run('cat /proc/1/comm; ls /proc | grep -c "^[0-9]"; echo $$');
    const [pid1, count, shellPid] = out.stdout.trim().split('\n');
    assert.notEqual(pid1, 'systemd');
    assert.notEqual(pid1, 'init');
    assert.ok(Number(count) < 20, `${count} processes visible`);
    assert.ok(Number(shellPid) < 1000, `shell pid ${shellPid}`);
    const ps = await a.commands.run('cat /proc/[0-9]*/cmdline | tr "\\0" " "');
    assert.ok(!ps.stdout.includes('sandboxd serve'), 'the host sandboxd is visible');
    assert.ok(!ps.stdout.includes('node'), 'the test runner is visible');
  });

  test("no descriptor reaches a sandbox but its own: not envd's socket, not one sandboxd inherited", async () => {
    for (const user of ['user', 'root']) {
      // Every descriptor a program started by envd has: stdin, stdout, stderr, and ls's own
      // handle on the directory it lists.
      const out = await a.commands.run('exec ls -l /proc/self/fd', { user });
      const fds = out.stdout.trim().split('\n').slice(1).map((l) => l.replace(/^.* (\d+) -> /, '$1 -> '));
      assert.deepEqual(fds.map((l) => l.split(' ')[0]).sort(), ['0', '1', '2', '3'], `${user}: ${out.stdout}`);
      assert.match(fds.find((l) => l.startsWith('3 ')), /\/proc\/\d+\/fd$/, `${user}: ${out.stdout}`);
      // Nor does envd (PID 1) hold the file sandboxd inherited: root reads each of its
      // descriptors that is a file.
      if (user === 'root') {
        const envdFds = await a.commands.run('for f in /proc/1/fd/*; do [ -f "$f" ] && head -c 200 "$f"; done; true', { user, timeoutMs: 10_000 });
        assert.ok(!envdFds.stdout.includes(inheritedSecret), 'the inherited host file is readable in the sandbox');
      }
      // A process of the sandbox cannot take over envd's port either: the port is envd's alone.
      const bind = await a.commands.run(
        'python3 -c "import socket; s = socket.socket(); s.bind((\'0.0.0.0\', 49983))" 2>&1; echo "exit $?"',
        { user },
      );
      assert.match(bind.stdout, /Address already in use[\s\S]*exit 1|Permission denied[\s\S]*exit 1/, `${user}: ${bind.stdout}`);
    }
  });

  test("host trees are invisible: no work trees, Debian's own /root (not the host's), only user home", async () => {
    const cwd = process.cwd();
    const out = await a.commands.run(
      `test -e ${JSON.stringify(cwd)} && echo cwd; test -e /work && echo work; ` +
        `test -e ${JSON.stringify(sd.dataDir)} && echo datadir; ls /home; sudo ls -A /root | xargs; hostname`,
    );
    const lines = out.stdout.trim().split('\n');
    assert.deepEqual(lines.slice(0, -1), ['user', '.bashrc .profile']);
    assert.notEqual(lines.at(-1), (await import('node:os')).hostname());
  });

  test('files written in one sandbox are invisible in another and on the host', async () => {
    const name = `/home/user/private-${uniqueTag()}.txt`;
    const tmpName = `/tmp/private-${uniqueTag()}.txt`;
    await a.files.write(name, 'only in a');
    await a.commands.run(`echo only-in-a > ${tmpName}`);
    assert.equal(await a.files.read(name), 'only in a');
    assert.equal(await b.files.exists(name), false);
    assert.equal(await b.files.exists(tmpName), false);
    assert.equal(existsSync(name), false);
    assert.equal(existsSync(tmpName), false);
  });

  test('the same port in two sandboxes serves each its own content, reachable through getHost', async () => {
    for (const [sbx, label] of [[a, 'from-a'], [b, 'from-b']]) {
      await sbx.files.write('/home/user/www/index.html', label);
      await sbx.commands.run('python3 -m http.server 8000 --bind 127.0.0.1', { cwd: '/home/user/www', background: true, timeoutMs: 0 });
    }
    for (const [sbx, label] of [[a, 'from-a'], [b, 'from-b']]) {
      const host = sbx.getHost(8000);
      assert.equal(host, `8000-${sbx.sandboxId}.${sd.domain}`);
      let res;
      await waitUntil(async () => (res = await viaHost(sd, host, '/index.html')).status === 200, 30_000, `${label} server not up`);
      assert.equal(res.body, label);
    }
  });

  test("root inside cannot change the template's read-only layers: not for other sandboxes, not on the host", async () => {
    // The host copies of LAYER_FILE: in the machine-wide base roots, or in this sandboxd's
    // template layers.
    const [dir, inRoot] = BUILT_PASS
      ? [join(sd.dataDir, 'runtime/template-layers'), LAYER_FILE]
      : ['/var/cache/sandboxd', LAYER_FILE];
    const copies = readdirSync(dir)
      .map((name) => join(dir, name, 'root', inRoot))
      .filter((path) => existsSync(path));
    assert.ok(copies.length > 0, `no host copy of ${LAYER_FILE} under ${dir}`);
    const digests = () => copies.map((path) => createHash('sha256').update(readFileSync(path)).digest('hex'));
    const before = digests();
    const original = await a.files.read(LAYER_FILE);
    await a.commands.run(
      `echo attacker | sudo tee ${LAYER_FILE}; sudo chmod 4777 ${LAYER_FILE}; sudo rm -f ${LAYER_FILE}; ` +
        `echo again | sudo tee ${LAYER_FILE}`,
    );
    assert.equal(await a.files.read(LAYER_FILE), 'again\n', 'the attack did not even change the sandbox');
    assert.equal(await b.files.read(LAYER_FILE), original);
    const fresh = await createSandbox();
    try {
      assert.equal(await fresh.files.read(LAYER_FILE), original);
    } finally {
      await fresh.kill();
    }
    assert.deepEqual(digests(), before, 'a host copy of the layer changed');
  });

  test('running out of memory in one sandbox leaves it and the others working', async () => {
    const hog = await a.commands.run('python3 -c "x = bytearray(2 * 1024 ** 3)"').catch((e) => e);
    assert.notEqual(hog.exitCode, 0, 'allocating 2 GiB under a 512 MiB limit succeeded');
    assert.equal((await a.commands.run('echo a-alive')).stdout, 'a-alive\n');
    assert.equal((await b.commands.run('echo b-alive')).stdout, 'b-alive\n');
    assert.equal(await a.isRunning(), true);
  });

  test('with internet access off the sandbox has loopback only', async () => {
    const offline = await createSandbox({ allowInternetAccess: false });
    try {
      const info = await offline.getInfo();
      assert.equal(info.allowInternetAccess, false);
      const off = await offline.commands.run('ls /sys/class/net; cat /proc/net/route | tail -n +2 | wc -l');
      assert.deepEqual(off.stdout.trim().split('\n'), ['lo', '0']);
      // Loopback still works inside.
      await offline.commands.run('python3 -m http.server 8001 --bind 127.0.0.1', { background: true, timeoutMs: 0 });
      await waitUntil(async () => (await offline.commands.run('curl -s -o /dev/null -w "%{http_code}" http://127.0.0.1:8001/ || true')).stdout === '200', 30_000, 'loopback server unreachable');
      const online = await a.commands.run('ls /sys/class/net | grep -vx lo | wc -l; grep -c "^\\S*\\s00000000" /proc/net/route');
      assert.deepEqual(online.stdout.trim().split('\n'), ['1', '1'], 'a default sandbox has one interface and a default route');
    } finally {
      await offline.kill();
    }
  });
});
