// Starts a real `sandboxd envd` for tests, the way a sandbox runs it, without touching the host:
// envd is PID 1 of a fresh PID namespace with a private mount namespace (util-linux `unshare`),
// where a temporary /etc/passwd and /etc/group add the template user `user` (uid 1000) and a
// tmpfs is mounted on /home. Killing the namespace's init ends envd, every process it started
// and every mount, whatever state the test left behind.
//
// Use: const envd = await startEnvd(); … new Sandbox(envd.sandboxOpts()) …; await envd.stop();

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sandbox } from 'e2b';

import { sandboxdBinary } from './sandboxd.mjs';

// The same binary the sandboxd harness runs ($SANDBOXD_BIN or target/release/sandboxd).
const SANDBOXD = sandboxdBinary();
export const USER_UID = 1000;

/** Host passwd/group with uid/gid 1000 and the names `user` (and `envdsmall`) replaced. */
function accountFiles(dir) {
  const keep = (file, idField) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('user:') && l.split(':')[idField] !== String(USER_UID));
  const passwd = [...keep('/etc/passwd', 2), `user:x:${USER_UID}:${USER_UID}::/home/user:/bin/bash`];
  const group = [...keep('/etc/group', 2), `user:x:${USER_UID}:`];
  writeFileSync(join(dir, 'passwd'), passwd.join('\n') + '\n');
  writeFileSync(join(dir, 'group'), group.join('\n') + '\n');
}

const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * @param {object} [opts]
 * @param {string} [opts.accessToken] token envd requires
 * @param {number} [opts.smallDiskKiB] mount a tmpfs of this size at /home/user/small (for 507)
 * @param {(port: number) => string[]} [opts.otherEnvd] run this command (given a free port)
 *   instead of sandboxd's envd, e.g. E2B's own envd for a comparison; ready when /health answers
 */
export async function startEnvd(opts = {}) {
  if (!existsSync(SANDBOXD)) throw new Error(`${SANDBOXD} is missing: run cargo build --release -p sandboxd`);
  const dir = mkdtempSync(join(tmpdir(), 'e2b-envd-test-'));
  accountFiles(dir);
  const small = opts.smallDiskKiB
    ? `mkdir /home/user/small && mount -t tmpfs -o size=${opts.smallDiskKiB}k,mode=755 envd-small /home/user/small && chown ${USER_UID}:${USER_UID} /home/user/small && `
    : '';
  const otherPort = opts.otherEnvd ? await freePort() : null;
  const command = opts.otherEnvd
    ? opts.otherEnvd(otherPort)
    : [SANDBOXD, 'envd', '--listen', '127.0.0.1:0', '--user', 'user', '--workdir', '/home/user'];
  const script =
    `mount --bind ${dir}/passwd /etc/passwd && mount --bind ${dir}/group /etc/group && ` +
    `mount -t tmpfs -o mode=755 envd-home /home && mkdir /home/user && chown ${USER_UID}:${USER_UID} /home/user && ` +
    small +
    `exec "$0" "$@"`;
  const env = { PATH: process.env.PATH };
  if (opts.accessToken) env.ENVD_ACCESS_TOKEN = opts.accessToken;
  const child = spawn(
    'unshare',
    ['--fork', '--pid', '--mount-proc', '--mount', '--propagation', 'private', '--kill-child', '--',
      '/bin/sh', '-c', script, ...command],
    { env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  running.add(child);
  let log = '';
  const port = await new Promise((resolve, reject) => {
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      log += chunk;
      const m = log.match(/listening on 127\.0\.0\.1:(\d+)/);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code, signal) => reject(new Error(`envd exited (${code ?? signal}) before listening:\n${log}`)));
    if (otherPort) untilHealthy(otherPort).then(() => resolve(otherPort), reject);
  });
  const url = `http://127.0.0.1:${port}`;
  let stopped = false;
  return {
    url,
    port,
    pid: child.pid,
    /** envd's own host pid (unshare's child), e.g. for its memory. */
    envdPid: () => envdPid(child.pid),
    accessToken: opts.accessToken,
    log: () => log,
    /** Options for `new Sandbox(...)`: the official SDK in debug mode pointed at this envd. */
    sandboxOpts(extra = {}) {
      return {
        sandboxId: 'debug_sandbox_id',
        envdVersion: '0.6.13',
        debug: true,
        sandboxUrl: url,
        envdAccessToken: opts.accessToken,
        ...extra,
      };
    },
    sandbox(extra) {
      return new Sandbox(this.sandboxOpts(extra));
    },
    /** Runs a shell command inside envd's namespaces (as root), e.g. to inspect results. */
    exec(command) {
      const r = spawnSync('nsenter', ['-t', String(envdPid(child.pid)), '-m', '-p', '--', '/bin/sh', '-c', command], {
        encoding: 'utf8',
      });
      if (r.status !== 0) throw new Error(`exec failed (${r.status}): ${command}\n${r.stderr}`);
      return r.stdout;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      const exited = new Promise((resolve) => (child.exitCode !== null || child.signalCode ? resolve() : child.on('exit', resolve)));
      child.kill('SIGKILL');
      await exited;
      running.delete(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A port nothing listens on now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Resolves once GET /health on `port` answers, within 30 s. */
async function untilHealthy(port) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing answered /health on port ${port} within 30 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The host pid of envd: the only child of `unshare`. */
function envdPid(unsharePid) {
  const children = readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8').trim().split(/\s+/);
  return Number(children[0]);
}
