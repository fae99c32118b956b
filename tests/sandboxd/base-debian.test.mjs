// The `base` template is a real Debian root, through the official SDK: its packages, the tools
// E2B's base offers working as `user`, `apt-get install` as root from an apt repository this
// test serves in its own network namespace, and, from the attacker's side, that nothing a
// sandbox does reaches the machine-wide build every sandbox shares (checked on the host).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { ALL_TRAFFIC, Sandbox } from 'e2b';
import { asNobody } from '../helpers/host-user.mjs';
import { sandboxdBinary, startSandboxd } from '../helpers/sandboxd.mjs';
import { OUTSIDE_PORT, buildLocalRepository, startWithOutside, stopWithOutside } from './outside.mjs';
import { uniqueTag } from './util.mjs';

const CACHE = '/var/cache/sandboxd';
// What E2B's base template offers (docs/architecture.md, "The base template").
const PACKAGES = [
  'bash', 'coreutils', 'python3', 'python-is-python3', 'python3-pip', 'python3-venv', 'sudo',
  'curl', 'git', 'ca-certificates', 'procps', 'nodejs', 'npm',
];
const LOCAL_PACKAGE = 'sbxtest-hello';
const packageTag = uniqueTag();

let sd;
let outside;
let sbx;
/** The host path of the shared Debian root the sandboxes run on. */
let cacheRoot;
before(async () => {
  ({ outside, sd } = await startWithOutside((o) => buildLocalRepository(o.dir, LOCAL_PACKAGE, packageTag)));
  sbx = await Sandbox.create();
  const buildId = /^BUILD_ID=(.+)$/m.exec((await sbx.commands.run('cat /.e2b')).stdout)[1];
  cacheRoot = join(CACHE, buildId, 'root');
});
after(() => stopWithOutside({ outside, sd }));

const WHEEL = 'sbxmod-1.0-py3-none-any.whl';
/** Writes a minimal pure-Python wheel (a zip with the module and its dist-info) to `WHEEL`. */
const MAKE_WHEEL = `import zipfile
files = {
    "sbxmod/__init__.py": "VALUE = 7\\n",
    "sbxmod-1.0.dist-info/METADATA": "Metadata-Version: 2.1\\nName: sbxmod\\nVersion: 1.0\\n",
    "sbxmod-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
}
files["sbxmod-1.0.dist-info/RECORD"] = "".join(f"{name},,\\n" for name in files) + "sbxmod-1.0.dist-info/RECORD,,\\n"
with zipfile.ZipFile("${WHEEL}", "w") as wheel:
    for name, text in files.items():
        wheel.writestr(name, text)
`;

const sha256 = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');

async function ok(sandbox, cmd, opts = {}) {
  const out = await sandbox.commands.run(cmd, { timeoutMs: 120_000, ...opts });
  return out.stdout.trim();
}

describe('base is a Debian root', () => {
  test('dpkg knows the packages E2B base offers, and `user` as E2B has it', async () => {
    const status = await ok(sbx, `dpkg-query -W -f='\${Package} \${db:Status-Abbrev}\\n' ${PACKAGES.join(' ')}`);
    for (const name of PACKAGES) assert.match(status, new RegExp(`^${name} ii`, 'm'), status);
    assert.match(await ok(sbx, 'cat /etc/debian_version'), /^12\./);
    assert.equal(await ok(sbx, 'getent passwd user'), 'user:x:1000:1000::/home/user:/bin/bash');
    assert.equal(await ok(sbx, 'stat -c %U:%G:%a /home/user'), 'user:user:755');
    // apt talks to the archive this machine's apt uses.
    assert.match(await ok(sbx, 'cat /etc/apt/sources.list'), /^deb \S*\s*\S+ bookworm main/m);
  });

  test('python, pip, venv, node, npm, git, curl and sudo work as user', async () => {
    assert.equal(await ok(sbx, 'whoami'), 'user');
    assert.equal(await ok(sbx, "python -c 'print(6 * 7)'"), '42');
    assert.match(await ok(sbx, 'python3 --version'), /^Python 3\.11\./);
    assert.match(await ok(sbx, 'pip --version'), /^pip \d+/);
    // pip installs a wheel (made here, no index reachable) for `user`, as E2B's base allows
    // without a venv, and into a venv of its own.
    await sbx.files.write('/home/user/make_wheel.py', MAKE_WHEEL);
    await ok(sbx, 'cd ~ && python make_wheel.py');
    await ok(sbx, `pip install -q --no-index ~/${WHEEL}`);
    assert.equal(await ok(sbx, "cd / && python -c 'import sbxmod; print(sbxmod.VALUE, sbxmod.__file__)'"),
      '7 /home/user/.local/lib/python3.11/site-packages/sbxmod/__init__.py');
    await ok(sbx, `python -m venv ~/venv && ~/venv/bin/pip install -q --no-index ~/${WHEEL}`);
    assert.equal(await ok(sbx, "~/venv/bin/python -c 'import sbxmod; print(sbxmod.VALUE)'"), '7');
    assert.equal(await ok(sbx, "node -e 'console.log([1, 2].map((x) => x * 2).join())'"), '2,4');
    assert.match(await ok(sbx, 'npm --version'), /^\d+\.\d+\.\d+$/);
    // npm installs a local package into a project, as `user`.
    await ok(sbx, `mkdir -p ~/lib1 ~/app && echo '{"name":"lib1","version":"1.0.0","main":"i.js"}' > ~/lib1/package.json`);
    await ok(sbx, "echo 'module.exports = 5' > ~/lib1/i.js && cd ~/app && npm init -y >/dev/null && npm install --offline ../lib1 >/dev/null");
    assert.equal(await ok(sbx, "cd ~/app && node -e 'console.log(require(\"lib1\"))'"), '5');
    const git = 'cd ~ && git init -q repo && cd repo && echo hi > f && git add f && ' +
      'git -c user.name=u -c user.email=u@localhost commit -qm first && git log --format=%s';
    assert.equal(await ok(sbx, git), 'first');
    assert.equal(await ok(sbx, 'sudo -n id -u'), '0');
    assert.equal(await ok(sbx, 'sudo -n cat /etc/shadow | grep -c "^root:"'), '1');
  });

  test('apt-get install works as root, from a repository only this test serves', async () => {
    // The sandbox reaches the outside's address and nothing else.
    const apt = await Sandbox.create({ network: { denyOut: [ALL_TRAFFIC], allowOut: [outside.a] } });
    try {
      const root = { user: 'root' };
      // Debian's archive is not reachable here: apt uses only the test's repository.
      await ok(apt, 'mv /etc/apt/sources.list /etc/apt/sources.list.off', root);
      await ok(apt, `echo 'deb [trusted=yes] http://${outside.a}:${OUTSIDE_PORT}/ ./' > /etc/apt/sources.list.d/local.list`, root);
      await ok(apt, 'apt-get update -q', root);
      await ok(apt, `DEBIAN_FRONTEND=noninteractive apt-get install -y -q ${LOCAL_PACKAGE}`, root);
      assert.equal(await ok(apt, `cat /usr/share/${LOCAL_PACKAGE}/hello.txt`), packageTag);
      assert.equal(await ok(apt, `dpkg-query -W -f='\${db:Status-Abbrev}' ${LOCAL_PACKAGE}`), 'ii');
      assert.match(outside.log(), new RegExp(`GET /pool/${LOCAL_PACKAGE}_1.0_all.deb HTTP/1.1" 200`));
      // The package landed in this sandbox's own layer: neither the shared root on the host
      // nor another sandbox has it.
      assert.equal(existsSync(join(cacheRoot, 'usr/share', LOCAL_PACKAGE)), false);
      assert.equal(await ok(sbx, `test -e /usr/share/${LOCAL_PACKAGE} && echo there || echo absent`), 'absent');
    } finally {
      await apt.kill();
    }
  });
});

describe('the shared base root, from the attacker side', () => {
  test("a sandbox's root changing /usr and /etc changes nothing on the host or in another sandbox", async () => {
    const python = join(cacheRoot, 'usr/bin/python3.11');
    const before = { python: sha256(python), passwd: sha256(join(cacheRoot, 'etc/passwd')) };
    const attacker = await Sandbox.create();
    try {
      const root = { user: 'root' };
      await ok(attacker, 'echo planted > /usr/bin/sbx-planted && chmod 4755 /usr/bin/sbx-planted', root);
      await ok(attacker, 'echo "#!/bin/sh" > /usr/bin/python3.11 && rm /usr/bin/curl && rm -r /usr/lib/python3/dist-packages/pip', root);
      await ok(attacker, 'echo "evil::0:0::/root:/bin/sh" >> /etc/passwd && rm /etc/sudoers.d/user', root);
      await ok(attacker, 'touch /usr/local/bin/mine && echo x > /.e2b', root);
      // The attacker sees its own changes.
      assert.equal(await ok(attacker, 'test -e /usr/bin/curl && echo there || echo gone'), 'gone');
      // The host's copy is untouched: same bytes, nothing added, nothing removed.
      assert.equal(sha256(python), before.python);
      assert.equal(sha256(join(cacheRoot, 'etc/passwd')), before.passwd);
      for (const planted of ['usr/bin/sbx-planted', 'usr/local/bin/mine']) {
        assert.equal(existsSync(join(cacheRoot, planted)), false, planted);
      }
      for (const kept of ['usr/bin/curl', 'usr/lib/python3/dist-packages/pip', 'etc/sudoers.d/user']) {
        assert.ok(existsSync(join(cacheRoot, kept)), kept);
      }
      assert.match(readFileSync(join(cacheRoot, '.e2b'), 'utf8'), /^ENV_ID=/);
      // The other sandbox, and a new one, still have everything.
      for (const other of [sbx, await Sandbox.create()]) {
        assert.match(await ok(other, 'python3 --version && curl --version | head -1'), /^Python 3\.11\.\d+\ncurl /);
        assert.equal(await ok(other, 'ls /usr/bin/sbx-planted /usr/local/bin/mine 2>/dev/null | wc -l'), '0');
        assert.equal(await ok(other, 'grep -c "^evil:" /etc/passwd || true'), '0');
        assert.equal(await ok(other, 'sudo -n id -u'), '0');
        if (other !== sbx) await other.kill();
      }
    } finally {
      await attacker.kill();
    }
  });

  test('a host user without privileges can neither read nor write the shared root', () => {
    assert.equal(statSync(CACHE).mode & 0o7777, 0o700);
    assert.equal(statSync(CACHE).uid, 0);
    // As root the tree is there: the attempts fail for the modes, not for a missing path.
    assert.ok(existsSync(join(cacheRoot, 'usr/local/bin')));
    const attempts = [
      ['ls', CACHE],
      ['cat', join(cacheRoot, 'etc/shadow')],
      ['touch', join(CACHE, 'planted')],
      // World-writable inside the sandbox, still out of reach on the host.
      ['touch', join(cacheRoot, 'usr/local/bin/planted')],
      ['sh', '-c', `echo x > ${join(cacheRoot, 'usr/bin/python3.11')}`],
    ];
    for (const argv of attempts) {
      const run = asNobody(argv);
      assert.notEqual(run.status, 0, `${argv.join(' ')} succeeded as nobody`);
      assert.match(run.stderr, /Permission denied/, argv.join(' '));
    }
    assert.equal(existsSync(join(CACHE, 'planted')), false);
    assert.equal(existsSync(join(cacheRoot, 'usr/local/bin/planted')), false);
  });

  test('the root is built once per machine: a new data dir and `base build` reuse it', async () => {
    assert.doesNotMatch(sd.logs(), /building the base template/);
    const built = execFileSync(sandboxdBinary(), ['base', 'build'], { encoding: 'utf8' });
    assert.match(built, /^base template debian-\d+-[0-9a-f]{12} already built \(the build took \d+ s\): /);
    assert.ok(built.trim().endsWith(cacheRoot), built);
  });
});
