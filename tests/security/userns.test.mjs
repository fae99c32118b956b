// Issue 12, the sandbox's root: a user namespace per sandbox. Each attack is what hostile code
// with root inside a sandbox did against sandboxd before sandboxes had their own ids; each is
// made for real and its effect checked on the host (file contents and modes, owners, who can
// still use a per-user kernel resource), not only through the error the attacker sees.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

import { Sandbox } from 'e2b';
import { createSandbox, startSuiteSandboxd } from '../helpers/test-template.mjs';

const FIRST_SANDBOX_ID = 2 ** 30;
const NOBODY = 65534;

let sd;
before(async () => {
  sd = await startSuiteSandboxd();
});
after(async () => {
  await sd?.stop();
});

/** Runs `cmd` in `sbx` as root (through sudo), failing on a non-zero exit. */
const asRoot = async (sbx, cmd, opts = {}) => (await sbx.commands.run(`sudo sh -c ${JSON.stringify(cmd)}`, opts)).stdout;

/** The host directory holding a sandbox's writable root (its overlay's upper layer). */
const upperOf = (sbx) => join(sd.dataDir, 'runtime/layers', sbx.sandboxId, 'fs/upper');

function run(cmd, args, opts = {}) {
  const result = spawnSync(cmd, args, { encoding: 'utf8', timeout: 20_000, ...opts });
  return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

describe('root inside a sandbox is not root on the host', () => {
  test('a sandbox has its own range of host ids, and its files carry them', async () => {
    const sbx = await createSandbox();
    try {
      const map = (await sbx.commands.run('cat /proc/self/uid_map')).stdout.trim().split(/\s+/).map(Number);
      assert.equal(map[0], 0);
      assert.ok(map[1] >= FIRST_SANDBOX_ID, `uid 0 inside is host uid ${map[1]}`);
      assert.equal(map[2], 65536);
      assert.equal((await sbx.commands.run('sudo id -u')).stdout.trim(), '0', 'sudo still makes root inside');
      await asRoot(sbx, 'echo by-root > /root-file && touch /home/user/by-user && chown user /home/user/by-user');
      const byRoot = statSync(join(upperOf(sbx), 'root-file'));
      assert.equal(byRoot.uid, map[1], 'a file root made inside belongs to the range on the host');
      assert.equal(statSync(join(upperOf(sbx), 'home/user/by-user')).uid, map[1] + 1000);

      // Another sandbox gets another range.
      const other = await createSandbox();
      const otherBase = Number((await other.commands.run('cat /proc/self/uid_map')).stdout.trim().split(/\s+/)[1]);
      assert.notEqual(otherBase, map[1]);
      assert.ok(Math.abs(otherBase - map[1]) >= 65536, 'ranges overlap');
      await other.kill();
    } finally {
      await sbx.kill();
    }
  });

  test('a setuid-root binary made inside gives a host user no privilege', async () => {
    const sbx = await createSandbox();
    const scratch = mkdtempSync('/var/tmp/sbx-setuid-');
    try {
      await asRoot(sbx, 'cp /bin/bash /suid-bash && chmod 4755 /suid-bash');
      const inLayer = join(upperOf(sbx), 'suid-bash');
      const st = statSync(inLayer);
      assert.equal(st.mode & 0o4000, 0o4000, 'the file is setuid on the host');
      assert.ok(st.uid >= FIRST_SANDBOX_ID, `…but owned by host uid ${st.uid}`);
      // Even taken out of the (private) data dir, it runs as its owner, not as root.
      const copy = join(scratch, 'suid-bash');
      run('cp', ['-a', inLayer, copy]);
      run('chmod', ['755', scratch]);
      const ran = run('setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', '/bin/sh', '-c', 'exec "$@"', 'sh', copy, '-p', '-c', 'id -u']);
      assert.equal(ran.status, 0, ran.stderr);
      assert.notEqual(ran.stdout.trim(), '0', 'a host user got euid 0');
      assert.equal(Number(ran.stdout.trim()), st.uid);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
      await sbx.kill();
    }
  });

  test('a link planted in a kept layer does not lead sandboxd out when it boots the layer again', async () => {
    // The victim: a host directory whose path the sandbox's /etc will name.
    const victim = `/var/tmp/sbx-victim-${randomBytes(6).toString('hex')}`;
    mkdirSync(join(victim, 'hostname'), { recursive: true });
    writeFileSync(join(victim, 'hostname/keep'), 'host data');
    writeFileSync(join(victim, 'hosts'), 'host hosts file', { mode: 0o600 });
    const sbx = await createSandbox();
    try {
      // Inside: /etc becomes a link to the same path, where a copy of /etc lives, so the
      // sandbox keeps working; on the host the link's target is the victim.
      await asRoot(sbx, `cp -a /etc ${victim} && rm -rf /etc && ln -s ${victim} /etc`);
      assert.equal(await sbx.pause({ keepMemory: false }), true);
      const again = await Sandbox.connect(sbx.sandboxId);
      assert.equal((await again.commands.run('cat /etc/hostname')).stdout.trim(), sbx.sandboxId);
      // On the host nothing changed: no directory deleted, no file rewritten, no mode changed.
      assert.equal(readFileSync(join(victim, 'hosts'), 'utf8'), 'host hosts file');
      assert.equal(statSync(join(victim, 'hosts')).mode & 0o777, 0o600);
      assert.equal(readFileSync(join(victim, 'hostname/keep'), 'utf8'), 'host data');
      assert.deepEqual(readdirSync(victim).sort(), ['hostname', 'hosts']);
    } finally {
      await sbx.kill();
      rmSync(victim, { recursive: true, force: true });
    }
  });

  test('per-user kernel limits are the sandbox\'s own: inotify exhausted in one leaves the others and the host alone', async () => {
    const [hog, neighbour] = await Promise.all([createSandbox(), createSandbox()]);
    try {
      // Root and user inside take every inotify instance their ids may have, and keep them.
      const holder = `import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
held = []
while True:
    fd = libc.inotify_init1(0)
    if fd < 0:
        break
    held.append(fd)
print(len(held), os.strerror(ctypes.get_errno()), flush=True)
time.sleep(120)`;
      await hog.files.write('/tmp/hold.py', holder);
      for (const user of ['root', 'user']) {
        let first = '';
        await hog.commands.run('python3 /tmp/hold.py', {
          user,
          background: true,
          timeoutMs: 0,
          onStdout: (d) => (first += d),
        });
        const deadline = Date.now() + 20_000;
        while (!first && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        assert.match(first, /^\d+ Too many open files/, `${user} could not be made to run out`);
      }
      // The neighbour sandbox still watches, and so does the host's root.
      await neighbour.files.makeDir('/home/user/w');
      const events = [];
      const handle = await neighbour.files.watchDir('/home/user/w', (e) => events.push(e));
      await neighbour.files.write('/home/user/w/x', 'x');
      const deadline = Date.now() + 10_000;
      while (!events.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      await handle.stop();
      assert.ok(events.length > 0, 'watchDir in another sandbox got no event');
      const host = run('python3', ['-c', 'import ctypes; l = ctypes.CDLL(None); print(l.inotify_init1(0) >= 0)']);
      assert.equal(host.stdout.trim(), 'True', 'the host root could not make an inotify instance');
    } finally {
      await Promise.all([hog.kill(), neighbour.kill()]);
    }
  });
});

describe('the sandbox network reaches the host by no side door', () => {
  let sbx;
  let server;
  let hostIf;
  const connections = [];
  before(async () => {
    sbx = await createSandbox();
    const ip = (await sbx.commands.run("ip -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1")).stdout.trim();
    hostIf = run('ip', ['-o', 'route', 'get', ip]).stdout.match(/ dev (\S+)/)[1];
    // A host service on every IPv6 address: what a sandbox must not reach.
    server = createServer((s) => {
      connections.push(s.remoteAddress);
      s.end('host secret\n');
    });
    await new Promise((r) => server.listen(0, '::', r));
  });
  after(async () => {
    server?.close();
    await sbx?.kill();
  });

  test('no IPv6 on either end of the link: the host is not reachable over link-local addresses', async () => {
    assert.equal(readFileSync(`/proc/sys/net/ipv6/conf/${hostIf}/disable_ipv6`, 'utf8').trim(), '1');
    assert.equal((await sbx.commands.run('cat /proc/sys/net/ipv6/conf/eth0/disable_ipv6')).stdout.trim(), '1');
    assert.equal((await sbx.commands.run('ip -6 addr show dev eth0')).stdout.trim(), '');
    // The address the host end would have had (EUI-64 from its MAC), tried from inside as root.
    const mac = readFileSync(`/sys/class/net/${hostIf}/address`, 'utf8').trim().split(':').map((h) => parseInt(h, 16));
    mac[0] ^= 2;
    const eui = [mac[0], mac[1], mac[2], 0xff, 0xfe, mac[3], mac[4], mac[5]];
    const linkLocal = `fe80::${[0, 2, 4, 6].map((i) => ((eui[i] << 8) | eui[i + 1]).toString(16)).join(':')}`;
    const port = server.address().port;
    const probe = `import socket
for target in ["${linkLocal}%eth0", "ff02::1%eth0"]:
    try:
        s = socket.create_connection((target, ${port}), timeout=2)
        print("connected", target, s.recv(64))
    except OSError as e:
        print("refused", target, e.errno)`;
    await sbx.files.write('/tmp/probe6.py', probe);
    const out = await asRoot(sbx, 'python3 /tmp/probe6.py');
    assert.doesNotMatch(out, /connected/);
    assert.deepEqual(connections, []);
  });

  test('no forged source addresses: raw sockets are refused and the host end filters by path', async () => {
    assert.equal(readFileSync(`/proc/sys/net/ipv4/conf/${hostIf}/rp_filter`, 'utf8').trim(), '1');
    const probe = `import socket
for kind in [socket.SOCK_RAW]:
    try:
        socket.socket(socket.AF_INET, kind, socket.IPPROTO_UDP)
        print("raw socket made")
    except OSError as e:
        print("refused", e.errno)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for opt in [19, 15]:  # IP_TRANSPARENT, IP_FREEBIND-style source tricks
    try:
        s.setsockopt(socket.SOL_IP, opt, 1)
        print("option", opt, "set")
    except OSError as e:
        print("option", opt, "refused", e.errno)`;
    await sbx.files.write('/tmp/probe-raw.py', probe);
    const out = await asRoot(sbx, 'python3 /tmp/probe-raw.py');
    assert.match(out, /^refused 1$/m, out);
    assert.match(out, /^option 19 refused 1$/m, out);
  });

  test('still there inside: ports below 1024 as user, ping-style sockets, chown, sudo', async () => {
    await sbx.files.write('/home/user/www/index.html', 'low port');
    await sbx.commands.run('python3 -m http.server 80 --bind 127.0.0.1', { cwd: '/home/user/www', background: true, timeoutMs: 0 });
    let got = '';
    const deadline = Date.now() + 15_000;
    while (!got.includes('low port') && Date.now() < deadline) {
      got = (await sbx.commands.run('curl -s http://127.0.0.1:80/index.html').catch(() => ({ stdout: '' }))).stdout;
    }
    assert.equal(got, 'low port');
    assert.equal((await asRoot(sbx, 'touch /opt/f && chown 1234:5678 /opt/f && stat -c %u:%g /opt/f')).trim(), '1234:5678');
  });
});

describe('what the sandbox keeps on the host', () => {
  test('a kept layer boots again with the ids its files carry', async () => {
    const sbx = await createSandbox();
    const base = (await sbx.commands.run('cat /proc/self/uid_map')).stdout.trim().split(/\s+/)[1];
    await sbx.files.write('/home/user/mine', 'kept');
    await sbx.pause({ keepMemory: false });
    const again = await Sandbox.connect(sbx.sandboxId);
    assert.equal((await again.commands.run('cat /proc/self/uid_map')).stdout.trim().split(/\s+/)[1], base);
    assert.equal((await again.commands.run('stat -c %U /home/user/mine')).stdout.trim(), 'user');
    assert.equal((await again.commands.run('echo x >> /home/user/mine && cat /home/user/mine')).stdout, 'keptx\n');
    await again.kill();
    assert.equal(existsSync(join(sd.dataDir, 'runtime/layers', sbx.sandboxId)), false);
  });
});
