// "The outside" of the sandboxd suites: a network namespace the test builds, with an HTTP
// server in it, that sandboxes reach through their link to the host — the only place test
// traffic goes besides loopback.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { startSandboxdForSdk } from '../helpers/sandboxd.mjs';
import { uniqueTag, waitUntil } from './util.mjs';

export const OUTSIDE_PORT = 8080;

/**
 * "The outside": a network namespace with an HTTP server (whose log `saw(tag)` reads) on
 * three addresses (a, b, c) of a /24 of the test pool (10.199.0.0/16), linked to the host by
 * a veth pair. The block is claimed through the lock files the Rust tests use, so parallel
 * runs never share one. It serves the directory `dir` (files added later are served too).
 */
export async function buildOutside() {
  const { holder, prefix } = await claimTestBlock();
  const name = `sbxt-${uniqueTag()}`;
  const hostIf = `vt${uniqueTag().slice(1, 11)}`;
  const dir = mkdtempSync(join(tmpdir(), 'sandboxd-outside-'));
  let server;
  let log = '';
  const ip = (...args) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const remove = () => {
    server?.kill('SIGKILL');
    for (const args of [['link', 'del', hostIf], ['netns', 'del', name]]) {
      try {
        ip(...args);
      } catch {
        // Not created (a failed setup) or already gone with its namespace.
      }
    }
    rmSync(dir, { recursive: true, force: true });
    process.kill(-holder.pid, 'SIGKILL');
  };
  try {
    writeFileSync(join(dir, 'index.html'), 'outside');
    ip('netns', 'add', name);
    ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', name);
    ip('addr', 'add', `${prefix}1/24`, 'dev', hostIf);
    ip('link', 'set', hostIf, 'up');
    for (const n of [2, 3, 4]) ip('-n', name, 'addr', 'add', `${prefix}${n}/24`, 'dev', 'eth0');
    ip('-n', name, 'link', 'set', 'eth0', 'up');
    ip('-n', name, 'link', 'set', 'lo', 'up');
    server = spawn('ip', ['netns', 'exec', name, 'python3', '-m', 'http.server', String(OUTSIDE_PORT), '--bind', '0.0.0.0'], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    server.stderr.setEncoding('utf8').on('data', (chunk) => (log += chunk));
    // Ready when it answers from inside its own namespace.
    await waitUntil(
      async () => {
        try {
          execFileSync('ip', ['netns', 'exec', name, 'curl', '-sf', '-m', '2', `http://${prefix}2:${OUTSIDE_PORT}/`]);
          return true;
        } catch {
          return false;
        }
      },
      15_000,
      'the outside server did not start',
    );
  } catch (e) {
    remove();
    throw e;
  }
  return {
    dir,
    a: `${prefix}2`,
    b: `${prefix}3`,
    c: `${prefix}4`,
    saw: (tag) => log.includes(`probe=${tag} `),
    /** The server's request log so far. */
    log: () => log,
    remove,
  };
}

/** Locks `/run/sandboxd/test-net-<i>.lock` (a /24 of 10.199.0.0/16 no host address uses). */
async function claimTestBlock() {
  mkdirSync('/run/sandboxd', { recursive: true });
  const inUse = execFileSync('ip', ['-4', '-o', 'addr', 'show'], { encoding: 'utf8' });
  // The Rust tests claim from the bottom; start at the top to meet them rarely.
  for (let index = 255; index >= 0; index--) {
    const prefix = `10.199.${index}.`;
    if (inUse.includes(` ${prefix}`)) continue;
    // flock holds the lock until its process group is killed (or an hour has passed).
    const holder = spawn('flock', ['--nonblock', `/run/sandboxd/test-net-${index}.lock`, 'sh', '-c', 'echo locked; exec sleep 3600'], {
      detached: true,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const locked = await new Promise((resolve) => {
      holder.stdout.once('data', () => resolve(true));
      holder.once('exit', () => resolve(false));
    });
    if (locked) return { holder, prefix };
  }
  throw new Error('no free test block in 10.199.0.0/16');
}

/**
 * A flat apt repository with one package, `name`, that installs one file,
 * /usr/share/<name>/hello.txt, holding `content`; built with dpkg-deb and apt-ftparchive into
 * `dir` (which the outside serves).
 */
export function buildLocalRepository(dir, name, content) {
  const pkg = join(dir, 'src');
  mkdirSync(join(pkg, 'DEBIAN'), { recursive: true });
  mkdirSync(join(pkg, 'usr/share', name), { recursive: true });
  writeFileSync(
    join(pkg, 'DEBIAN/control'),
    `Package: ${name}\nVersion: 1.0\nArchitecture: all\nMaintainer: sandboxd tests <tests@localhost>\n` +
      'Description: one file, installed by the sandboxd tests\n',
  );
  writeFileSync(join(pkg, 'usr/share', name, 'hello.txt'), `${content}\n`);
  mkdirSync(join(dir, 'pool'));
  execFileSync('dpkg-deb', ['--root-owner-group', '--build', pkg, join(dir, 'pool', `${name}_1.0_all.deb`)], { stdio: 'ignore' });
  writeFileSync(join(dir, 'Packages'), execFileSync('apt-ftparchive', ['packages', 'pool'], { cwd: dir }));
  writeFileSync(join(dir, 'Release'), execFileSync('apt-ftparchive', ['release', '.'], { cwd: dir }));
}

/**
 * A pure-Python wheel (module `name`, `VALUE` = `content`) and an npm tarball (package `name`,
 * exporting `content`), written into `dir` (which the outside serves) without any index or
 * registry; → their file names.
 */
export function buildLocalPackages(dir, name, content) {
  const wheel = `${name}-1.0-py3-none-any.whl`;
  const files = {
    [`${name}/__init__.py`]: `VALUE = ${JSON.stringify(content)}\n`,
    [`${name}-1.0.dist-info/METADATA`]: `Metadata-Version: 2.1\nName: ${name}\nVersion: 1.0\n`,
    [`${name}-1.0.dist-info/WHEEL`]: 'Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n',
  };
  files[`${name}-1.0.dist-info/RECORD`] = Object.keys(files).map((f) => `${f},,\n`).join('') + `${name}-1.0.dist-info/RECORD,,\n`;
  const zip = 'import json, sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], "w") as w:\n    [w.writestr(n, t) for n, t in json.loads(sys.argv[2]).items()]\n';
  execFileSync('python3', ['-c', zip, join(dir, wheel), JSON.stringify(files)]);
  const pkg = mkdtempSync(join(tmpdir(), 'sandboxd-npm-'));
  try {
    mkdirSync(join(pkg, 'package'));
    writeFileSync(join(pkg, 'package/package.json'), JSON.stringify({ name, version: '1.0.0', main: 'index.js' }));
    writeFileSync(join(pkg, 'package/index.js'), `module.exports = ${JSON.stringify(content)};\n`);
    execFileSync('tar', ['-czf', join(dir, `${name}-1.0.0.tgz`), '-C', pkg, 'package']);
  } finally {
    rmSync(pkg, { recursive: true, force: true });
  }
  return { wheel, tarball: `${name}-1.0.0.tgz` };
}

/**
 * For a suite's `before`: builds the outside, lets `prepare(outside)` add what it serves, then
 * starts a sandboxd the SDK points at; → `{ outside, sd }`. `stopWithOutside` undoes it.
 */
export async function startWithOutside(prepare = () => {}) {
  const outside = await buildOutside();
  try {
    await prepare(outside);
    const sd = await startSandboxdForSdk();
    return { outside, sd };
  } catch (e) {
    outside.remove();
    throw e;
  }
}

/** For a suite's `after`: stops the sandboxd, then removes the outside (also if either is missing). */
export async function stopWithOutside({ outside, sd }) {
  try {
    await sd?.stop();
  } finally {
    outside?.remove();
  }
}
