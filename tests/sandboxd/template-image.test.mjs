// Templates built from OCI images through the official `Template` builder: `fromImage` against a
// registry this test serves itself on loopback (./oci-registry.mjs), with an image made here from
// a few host binaries and the libraries they and envd link (no `base` under it). Checks that the
// image's files, Env and WorkingDir reach the sandbox, that E2B's `user` is added, that steps,
// child templates and a restart keep the stack, that a changed image rebuilds, and that
// credentials, missing tags, unreachable registries, foreign platforms and musl-only roots fail
// with BuildError. From the attacker's side: hostile layers cannot place anything outside the
// image store on the host, and what they may hold (absolute links, device nodes, setuid files)
// gives nothing beyond the sandbox.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { BuildError, Sandbox, Template } from 'e2b';
import { sandboxdBinary, startSandboxdForSdk } from '../helpers/sandboxd.mjs';
import { serveRegistry, tarOf } from './oci-registry.mjs';
import { buildTemplate, stdoutOf, uniqueTag } from './util.mjs';

const tag = uniqueTag();
const NAME = `img-${tag}`;
const CREDENTIALS = { username: 'reg-user', password: `pw-${tag}` };
/** What the image's root is made of: a shell, the tools E2B's setup uses, and their libraries. */
const BINARIES = ['/bin/bash', '/bin/mkdir', '/bin/chown', '/bin/id', '/bin/cat'];
const IMAGE_CONFIG = { Env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'IMAGE_GREETING=hello from the image'], WorkingDir: '/srv/app' };

let sd;
let registry;
/** The same server with credentials required. */
let privateRegistry;
let rootLayer;
/** Build logs of the last `build()`, as text lines. */
let logs;

/** Tar entries of a minimal glibc root that envd and bash run on, with the host's `binaries`. */
function rootEntries(binaries = BINARIES) {
  const libraries = new Set();
  for (const exe of [...binaries, sandboxdBinary()]) {
    for (const [, path] of execFileSync('ldd', [exe], { encoding: 'utf8' }).matchAll(/(\/\S+) \(0x/g)) libraries.add(path);
  }
  const dirs = new Set(['etc', 'dev', 'proc', 'sys', 'run', 'home', 'srv', 'srv/app']);
  for (const lib of [...binaries, ...libraries]) {
    for (let dir = dirname(lib); dir !== '/'; dir = dirname(dir)) dirs.add(dir.slice(1));
  }
  return [
    ...[...dirs].sort().map((path) => ({ path: `${path}/`, type: 'dir' })),
    { path: 'tmp/', type: 'dir', mode: 0o1777 },
    { path: 'root/', type: 'dir', mode: 0o700 },
    ...[...binaries, ...libraries].map((path) => ({ path: path.slice(1), type: 'file', mode: 0o755, content: readFileSync(path) })),
    { path: 'etc/passwd', type: 'file', content: 'root:x:0:0:root:/root:/bin/bash\n' },
    { path: 'etc/group', type: 'file', content: 'root:x:0:\n' },
  ];
}

/** The app layer over the root: one release file, so images differ by it. */
const appLayer = (release) => tarOf([{ path: 'etc/image-release', type: 'file', content: `${release}\n` }]);

before(async () => {
  registry = await serveRegistry();
  privateRegistry = await serveRegistry({ auth: CREDENTIALS });
  rootLayer = tarOf(rootEntries());
  registry.push('app', 'v1', { layers: [rootLayer, appLayer(`app v1 ${tag}`)], config: IMAGE_CONFIG });
  sd = await startSandboxdForSdk({ args: ['--docker-hub-mirror', registry.host] });
});
after(async () => {
  try {
    await sd?.stop();
  } finally {
    await Promise.all([registry?.close(), privateRegistry?.close()]);
  }
});

function build(template, name) {
  logs = [];
  return buildTemplate(template, name, logs);
}

const ok = stdoutOf;

/** The build fails with BuildError whose message matches `pattern`; returns the message. */
async function fails(template, name, pattern) {
  let message;
  await assert.rejects(build(template, name), (e) => {
    assert.ok(e instanceof BuildError, e);
    assert.match(e.message, pattern);
    message = e.message;
    return true;
  });
  return message;
}

const imagesDir = () => join(sd.dataDir, 'runtime/images');
const sha256File = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('fromImage', () => {
  test('builds on the image alone, with its Env and WorkingDir and E2B\'s user', async (t) => {
    const built = await build(
      Template()
        .fromImage(`${registry.host}/app:v1`)
        .runCmd('echo step > /home/user/step.txt && id -un > /home/user/step-user'),
      NAME,
    );
    t.diagnostic(`pull + E2B setup + one step (image: ${rootLayer.length} bytes of tar): ${built.ms} ms`);
    assert.ok(logs.some((l) => l.startsWith(`Pulled ${registry.host}/app:v1 (sha256:`)), logs.join('\n'));
    assert.ok(logs.includes("E2B setup: user 'user', its home, sudo"), logs.join('\n'));

    const sandbox = await Sandbox.create(NAME);
    assert.equal(await sandbox.files.read('/etc/image-release'), `app v1 ${tag}\n`);
    // Nothing of base: its /usr (apt, python) is not under the image.
    assert.equal(await ok(sandbox, '[ -e /usr ] && echo base || echo image-only'), 'image-only');
    assert.equal(await ok(sandbox, 'echo "$IMAGE_GREETING"'), 'hello from the image');
    assert.equal(await ok(sandbox, 'id -un; echo $HOME; pwd'), 'user\n/home/user\n/srv/app');
    assert.match(await sandbox.files.read('/etc/passwd'), /^user:x:1000:1000::\/home\/user:\/bin\/bash$/m);
    assert.equal(await sandbox.files.read('/home/user/step-user'), 'user\n');
    assert.equal(await sandbox.files.read('/home/user/step.txt'), 'step\n');
    assert.equal(await ok(sandbox, 'id -u', { user: 'root' }), '0');
    await sandbox.kill();

    // Host side: the store is root's alone, and the template's record names its bottom.
    assert.equal(statSync(imagesDir()).mode & 0o777, 0o700);
    assert.equal(readdirSync(join(imagesDir(), 'layers/sha256')).length, 2);
    const record = Object.values(JSON.parse(readFileSync(join(sd.dataDir, 'control/templates.json'), 'utf8'))).find((r) =>
      r.names.includes(NAME),
    );
    assert.equal(record.ready.bottom.image.length, 2);
    assert.match(record.ready.image, new RegExp(`^${registry.host}/app:v1@sha256:[0-9a-f]{64}$`));
  });

  test('a rebuild reuses the setup; a changed image rebuilds it; children and restarts keep the stack', async (t) => {
    const template = () => Template().fromImage(`${registry.host}/app:v1`).runCmd('echo step > /home/user/step.txt && id -un > /home/user/step-user');
    const cached = await build(template(), NAME);
    t.diagnostic(`unchanged rebuild (manifest asked again, all cached): ${cached.ms} ms`);
    assert.ok(logs.includes("CACHED E2B setup: user 'user', its home, sudo"), logs.join('\n'));
    assert.equal(logs.filter((l) => l.startsWith('CACHED [')).length, 1, logs.join('\n'));

    registry.push('app', 'v1', { layers: [rootLayer, appLayer(`app v2 ${tag}`)], config: IMAGE_CONFIG });
    const changed = await build(template(), NAME);
    t.diagnostic(`rebuild after the image changed: ${changed.ms} ms; ${logs.find((l) => l.startsWith('Pulled'))}`);
    assert.ok(!logs.some((l) => l.startsWith('CACHED')), logs.join('\n'));

    const child = `${NAME}-child`;
    await build(Template().fromTemplate(NAME).runCmd('echo child > /home/user/child.txt'), child);
    await sd.stop({ keepDataDir: true });
    sd = await startSandboxdForSdk({ dataDir: sd.dataDir, args: ['--docker-hub-mirror', registry.host] });
    for (const name of [NAME, child]) {
      const sandbox = await Sandbox.create(name);
      assert.equal(await sandbox.files.read('/etc/image-release'), `app v2 ${tag}\n`, name);
      assert.equal(await ok(sandbox, 'echo "$IMAGE_GREETING"; id -un; [ -e /usr ] || echo no-base'), 'hello from the image\nuser\nno-base');
      if (name === child) assert.equal(await sandbox.files.read('/home/user/child.txt'), 'child\n');
      await sandbox.kill();
    }
  });

  test('fromDebianImage, fromUbuntuImage, fromPythonImage and fromNodeImage pull Docker Hub names through the mirror', async () => {
    const helpers = {
      debian: [(t) => t.fromDebianImage('bookworm'), 'library/debian', 'bookworm'],
      ubuntu: [(t) => t.fromUbuntuImage(), 'library/ubuntu', 'latest'],
      python: [(t) => t.fromPythonImage(), 'library/python', '3'],
      node: [(t) => t.fromNodeImage(), 'library/node', 'lts'],
    };
    for (const [name, [from, repository, imageTag]] of Object.entries(helpers)) {
      registry.push(repository, imageTag, { layers: [rootLayer, appLayer(`${name} ${tag}`)], config: IMAGE_CONFIG });
      await build(from(Template()), `${NAME}-${name}`);
      const sandbox = await Sandbox.create(`${NAME}-${name}`);
      assert.equal(await sandbox.files.read('/etc/image-release'), `${name} ${tag}\n`);
      assert.equal(await ok(sandbox, 'id -un'), 'user');
      await sandbox.kill();
    }
    // The mirror is asked as containerd asks one: with the registry it stands in for.
    assert.ok(registry.requests.includes('GET /v2/library/python/manifests/3?ns=docker.io'), registry.requests.join('\n'));
  });

  test('an image with useradd and a uid 1000 of its own gets user through useradd', async () => {
    const shadowUtils = tarOf(rootEntries([...BINARIES, '/usr/sbin/useradd']));
    const accounts = tarOf([
      { path: 'etc/passwd', type: 'file', content: 'root:x:0:0:root:/root:/bin/bash\nnode:x:1000:1000::/home/node:/bin/bash\n' },
      { path: 'etc/group', type: 'file', content: 'root:x:0:\nnode:x:1000:\n' },
      { path: 'etc/shadow', type: 'file', mode: 0o640, content: 'root:*:19000:0:99999:7:::\nnode:!:19000:0:99999:7:::\n' },
      { path: 'etc/login.defs', type: 'file', content: readFileSync('/etc/login.defs') },
    ]);
    registry.push('accounts', 'v1', { layers: [shadowUtils, accounts], config: IMAGE_CONFIG });
    await build(Template().fromImage(`${registry.host}/accounts:v1`), `${NAME}-accounts`);
    const sandbox = await Sandbox.create(`${NAME}-accounts`);
    const passwd = await sandbox.files.read('/etc/passwd');
    assert.match(passwd, /^node:x:1000:1000:/m);
    assert.match(passwd, /^user:x:1001:1001::\/home\/user:\/bin\/bash$/m);
    assert.match(await sandbox.files.read('/etc/shadow', { user: 'root' }), /^user:/m);
    assert.equal(await ok(sandbox, 'id -un; id -u; echo $HOME; [ -O /home/user ] && echo owns-home'), 'user\n1001\n/home/user\nowns-home');
    await sandbox.kill();
  });

  test('registry credentials are required, wrong ones fail with BuildError, right ones build', async () => {
    privateRegistry.push('private/app', 'v1', { layers: [rootLayer, appLayer(`private ${tag}`)], config: IMAGE_CONFIG });
    const image = `${privateRegistry.host}/private/app:v1`;
    await fails(Template().fromImage(image), `${NAME}-private`, /registry authentication failed/);
    const wrong = await fails(
      Template().fromImage(image, { username: CREDENTIALS.username, password: 'wrong-password' }),
      `${NAME}-private`,
      /registry authentication failed/,
    );
    assert.ok(!wrong.includes('wrong-password'), wrong);
    await build(Template().fromImage(image, CREDENTIALS), `${NAME}-private`);
    assert.ok(!logs.join('\n').includes(CREDENTIALS.password));
    const sandbox = await Sandbox.create(`${NAME}-private`);
    assert.equal(await sandbox.files.read('/etc/image-release'), `private ${tag}\n`);
    await sandbox.kill();
  });

  test('a missing tag, an unreachable registry, another platform and a musl root fail with BuildError', async () => {
    await fails(Template().fromImage(`${registry.host}/app:nope`), `${NAME}-bad`, /image not found/);
    // Port 1 on loopback: nothing listens, the connection is refused.
    await fails(Template().fromImage('127.0.0.1:1/app:v1'), `${NAME}-bad`, /image 127\.0\.0\.1:1\/app:v1: registry unreachable/);
    registry.push('arm', 'v1', { layers: [rootLayer], config: IMAGE_CONFIG, architecture: 'arm64' });
    await fails(Template().fromImage(`${registry.host}/arm:v1`), `${NAME}-bad`, /built for arm64, this host runs amd64/);
    // Alpine-like: a shell, but no glibc loader for envd.
    registry.push('musl', 'v1', {
      layers: [tarOf([{ path: 'bin/', type: 'dir' }, { path: 'bin/bash', type: 'file', mode: 0o755, content: '#!/bin/busybox sh\n' }])],
    });
    await fails(Template().fromImage(`${registry.host}/musl:v1`), `${NAME}-bad`, /no glibc dynamic loader \(\/lib64\/ld-linux-x86-64\.so\.2\)/);
    // No build sandbox was started for any of them.
    assert.deepEqual(readdirSync(join(sd.dataDir, 'runtime/layers')).filter((n) => n.startsWith('build-')), []);
  });
});

describe('hostile images', () => {
  test('layers that reach outside are refused whole, and nothing lands on the host', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'sandboxd-image-outside-'));
    const passwd = sha256File('/etc/passwd');
    try {
      const hostile = {
        dotdot: [{ path: `../../../../../../..${outside}/dotdot`, type: 'file', content: 'owned' }],
        'through-link': [
          { path: 'out', type: 'symlink', link: outside },
          { path: 'out/through-link', type: 'file', content: 'owned' },
        ],
        'hardlink-out': [{ path: 'passwd', type: 'hardlink', link: '/etc/passwd' }],
        absolute: [{ path: `${outside}/absolute`, type: 'file', content: 'owned' }],
      };
      for (const [name, entries] of Object.entries(hostile)) {
        registry.push(`hostile-${name}`, 'v1', { layers: [rootLayer, tarOf(entries)], config: IMAGE_CONFIG });
        await fails(Template().fromImage(`${registry.host}/hostile-${name}:v1`), `${NAME}-hostile`, /unsafe layer refused/);
      }
      assert.deepEqual(readdirSync(outside), []);
      assert.equal(sha256File('/etc/passwd'), passwd);
      // Nothing half-unpacked stays in the store.
      assert.deepEqual(readdirSync(join(imagesDir(), 'tmp')), []);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  test('absolute links, device nodes and setuid files give nothing beyond the sandbox', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'sandboxd-image-outside-'));
    try {
      const tricks = tarOf([
        { path: 'host-dir', type: 'symlink', link: outside },
        { path: 'host-etc', type: 'symlink', link: '/etc' },
        { path: 'dev-mem', type: 'char', major: 1, minor: 1, mode: 0o666 },
        { path: 'disk', type: 'block', major: 8, minor: 0, mode: 0o666 },
        { path: 'bin/root-id', type: 'file', mode: 0o4755, content: readFileSync('/bin/id') },
        // Owned by an id no sandbox maps: its setuid bit must do nothing.
        { path: 'bin/stranger-id', type: 'file', mode: 0o4755, uid: 200_000, gid: 200_000, content: readFileSync('/bin/id') },
      ]);
      registry.push('tricks', 'v1', { layers: [rootLayer, tricks], config: IMAGE_CONFIG });
      await build(Template().fromImage(`${registry.host}/tricks:v1`), `${NAME}-tricks`);
      const sandbox = await Sandbox.create(`${NAME}-tricks`);
      const asRoot = { user: 'root' };
      // The links resolve inside the sandbox's root: writing through them reaches the sandbox only.
      await ok(sandbox, `mkdir -p ${outside} && echo owned > /host-dir/escaped && echo owned > /host-etc/escaped`, asRoot);
      assert.equal(await sandbox.files.read('/host-dir/escaped'), 'owned\n');
      assert.deepEqual(readdirSync(outside), []);
      assert.ok(!existsSync('/etc/escaped'));
      // Device nodes were skipped while unpacking.
      assert.equal(await ok(sandbox, '[ -e /dev-mem ] || [ -e /disk ] && echo present || echo absent'), 'absent');
      // setuid root is the sandbox's root, which is no host root; a stranger's setuid is ignored.
      assert.equal(await ok(sandbox, '/bin/root-id -u'), '0');
      const [inside, host] = (await ok(sandbox, 'cat /proc/self/uid_map')).split(/\s+/).map(Number);
      assert.equal(inside, 0);
      assert.ok(host >= 65536, `sandbox root is host uid ${host}`);
      assert.equal(await ok(sandbox, '/bin/stranger-id -u'), '1000');
      assert.equal(await ok(sandbox, '(echo b > /proc/sysrq-trigger) 2>/dev/null && echo wrote || echo refused', asRoot), 'refused');
      await sandbox.kill();
      // Host side: no device node in the store; the setuid files are root's, in a 0700 store.
      const layers = readdirSync(join(imagesDir(), 'layers/sha256')).map((l) => join(imagesDir(), 'layers/sha256', l));
      assert.ok(layers.every((l) => !existsSync(join(l, 'dev-mem')) && !existsSync(join(l, 'disk'))));
      const rootId = layers.map((l) => join(l, 'bin/root-id')).find(existsSync);
      assert.equal(statSync(rootId).uid, 0);
      assert.equal(statSync(imagesDir()).mode & 0o777, 0o700);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });
});
