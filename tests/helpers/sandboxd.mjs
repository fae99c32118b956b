// Test harness: starts a real `sandboxd serve` and checks, when it stops, that it left nothing
// behind. Every SDK-level test imports this; keep the API small and stable.
//
//   import { startSandboxdForSdk } from '../helpers/sandboxd.mjs';
//   const sd = await startSandboxdForSdk();  // fresh temp data dir, free port, and the SDKs'
//                                            // E2B_API_URL, E2B_SANDBOX_URL, E2B_API_KEY set
//   ... use the official `e2b` SDK ...
//   await sd.stop();                         // Ctrl-C, wait, verify no leaks, delete data dir
//
// startSandboxd(options) → Promise<Sandboxd>
//   options.dataDir   reuse this data dir (e.g. after crash()); default: a new temp dir
//   options.apiKey    pass --api-key; default: none, and the key sandboxd creates in the data
//                     dir is read back (so the first-start path is what tests exercise)
//   options.args      extra `serve` arguments
//   options.env       extra environment for sandboxd (the test process's E2B_* never reach it)
// Sandboxd:
//   apiUrl, sandboxUrl  http://127.0.0.1:<port> (one listener serves both)
//   apiKey              the key sandboxd accepts
//   env                 { E2B_API_URL, E2B_SANDBOX_URL, E2B_API_KEY } for the SDKs
//   dataDir, pid, domain (what sandboxd returns as the sandbox domain: localhost:<port>)
//   logs()              sandboxd's output so far (kept in <dataDir>.log until stop())
//   leaks()             host resources of this instance that still exist (strings)
//   stop({ keepDataDir })  SIGINT, wait for exit, throw if it failed or anything leaked
//   crash()             SIGKILL and wait (nothing is cleaned up: restart on the same dataDir)
//
// Needs root (namespaces, mounts, cgroups), like sandboxd itself. The binary is
// target/release/sandboxd (built by `npm test`), or $SANDBOXD_BIN.

import { after, before } from 'node:test';
import { spawn, execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const READY = /sandboxd: ready on (http:\/\/\S+)/;
const START_TIMEOUT_MS = 180_000;
const STOP_TIMEOUT_MS = 60_000;
const SETTLE_TIMEOUT_MS = 10_000;

export const sandboxdBinary = () => process.env.SANDBOXD_BIN ?? join(repoRoot, 'target/release/sandboxd');

/** The host pid of the envd serving `sandboxId` (found by its command line), or undefined. */
export function envdPidOf(sandboxId) {
  const pid = readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .find((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(`--sandbox-id\0${sandboxId}`);
      } catch {
        return false; // the process ended while the list was read
      }
    });
  return pid === undefined ? undefined : Number(pid);
}

/**
 * Spawns `sandboxd serve --listen 127.0.0.1:0 --data-dir DATA_DIR ARGS` with its output appended
 * to `logFile` and waits for its ready line. Shared by the harness and `npm run demo`.
 * → { child, url, output(), exited (promise of { code, signal }), onExit (the listener that
 *   SIGINTs sandboxd when this process exits; remove it once you stop sandboxd yourself) }
 */
export async function launchSandboxd({ dataDir, args = [], env = {}, logFile = `${dataDir}.log`, detached = false, inheritFds = [] }) {
  // The SDK variables of this process must not configure sandboxd (clap reads E2B_API_KEY).
  const inherited = Object.entries(process.env).filter(([k]) => !k.startsWith('E2B_'));
  // Output goes to a file, not a pipe: if this process dies, sandboxd must still be able to
  // log while it shuts down (a closed pipe would make its writes fail).
  const logFd = openSync(logFile, 'a');
  const logStart = statSync(logFile).size;
  const child = spawn(sandboxdBinary(), ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir, ...args], {
    env: { ...Object.fromEntries(inherited), ...env },
    // inheritFds: descriptors sandboxd inherits as 3, 4, … (as from a careless parent).
    stdio: ['ignore', logFd, logFd, ...inheritFds],
    detached,
  });
  closeSync(logFd);
  const output = () => readFileSync(logFile).subarray(logStart).toString('utf8');
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  // A process that ends without stopping sandboxd must not leave sandboxes running: ask
  // sandboxd to shut down cleanly (it finishes on its own after we are gone).
  const onExit = () => child.kill('SIGINT');
  process.once('exit', onExit);
  const url = await new Promise((resolve, reject) => {
    const deadline = Date.now() + START_TIMEOUT_MS;
    let done = false;
    const poll = setInterval(() => {
      const match = READY.exec(output());
      if (match) finish(() => resolve(match[1]));
      else if (Date.now() > deadline) fail(new Error('sandboxd did not become ready in time'));
    }, 20);
    function finish(settle) {
      if (done) return;
      done = true;
      clearInterval(poll);
      settle();
    }
    function fail(err) {
      finish(() => {
        child.kill('SIGKILL');
        reject(new Error(`${err.message}\n--- sandboxd output ---\n${output()}`));
      });
    }
    child.once('error', fail);
    exited.then(({ code, signal }) => fail(new Error(`sandboxd exited early (${code ?? signal})`)));
  });
  return { child, url, output, exited, onExit };
}

/**
 * Starts a sandboxd before the file's tests and stops it after them, pointing the SDKs' `E2B_*`
 * variables at it; the returned object's `sandboxd` is the running instance.
 */
export function useSandboxd(options) {
  const suite = { sandboxd: undefined };
  before(async () => {
    suite.sandboxd = await startSandboxdForSdk(options);
  });
  after(async () => {
    await suite.sandboxd?.stop();
  });
  return suite;
}

/** `startSandboxd(options)`, with the SDKs' `E2B_*` variables pointed at it. */
export async function startSandboxdForSdk(options) {
  const sd = await startSandboxd(options);
  Object.assign(process.env, sd.env);
  return sd;
}

export async function startSandboxd(options = {}) {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'sandboxd-test-'));
  const args = [...(options.args ?? [])];
  if (options.apiKey) args.push('--api-key', options.apiKey);
  const logFile = `${dataDir}.log`;
  const { child, url, output, exited, onExit } = await launchSandboxd({ dataDir, args, env: options.env, logFile, inheritFds: options.inheritFds });
  const apiKey = options.apiKey ?? options.env?.E2B_API_KEY ?? readFileSync(join(dataDir, 'api-key'), 'utf8').trim();
  const port = new URL(url).port;
  let stopped = false;

  const sandboxd = {
    apiUrl: url,
    sandboxUrl: url,
    apiKey,
    env: { E2B_API_URL: url, E2B_SANDBOX_URL: url, E2B_API_KEY: apiKey },
    dataDir,
    pid: child.pid,
    domain: `localhost:${port}`,
    logs: output,
    leaks: () => findLeaks(dataDir),

    async stop({ keepDataDir = false } = {}) {
      if (stopped) return;
      stopped = true;
      process.removeListener('exit', onExit);
      child.kill('SIGINT');
      const exit = await withTimeout(exited, STOP_TIMEOUT_MS, () => child.kill('SIGKILL'));
      const leaks = await settledLeaks(dataDir);
      // On any failure the data dir and log stay, for the error message and for a look after.
      if (!keepDataDir && leaks.length === 0 && exit?.code === 0) {
        rmSync(dataDir, { recursive: true, force: true });
        rmSync(logFile, { force: true });
      }
      if (exit?.code !== 0) {
        throw new Error(`sandboxd exited with ${exit ? exit.code ?? exit.signal : 'a timeout'}\n${tail(output())}`);
      }
      if (leaks.length) throw new Error(`sandboxd left resources behind:\n  ${leaks.join('\n  ')}`);
    },

    async crash() {
      stopped = true;
      process.removeListener('exit', onExit);
      child.kill('SIGKILL');
      await exited;
    },
  };
  return sandboxd;
}

/** Host resources that belong to the sandboxd instance of `dataDir` and still exist. */
export function findLeaks(dataDir) {
  const leaks = [];
  const instanceFile = join(dataDir, 'runtime', 'instance');
  const instance = existsSync(instanceFile) ? readFileSync(instanceFile, 'utf8').trim() : null;
  const owned = (text) => text.includes(dataDir) || (instance !== null && text.includes(instance));

  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    if (line && owned(line)) leaks.push(`mount: ${line}`);
  }
  // sandboxd itself (by its --data-dir argument) and every process in the instance's cgroups.
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    const cmdline = readProc(`/proc/${pid}/cmdline`);
    const cgroup = instance ? readProc(`/proc/${pid}/cgroup`) : '';
    if (cmdline.includes(`\0--data-dir\0${dataDir}\0`) || (instance && cgroup.includes(`sandboxd-${instance}`))) {
      leaks.push(`process ${pid}: ${cmdline.replaceAll('\0', ' ').trim()}`);
    }
  }
  if (instance) {
    for (const root of ['/sys/fs/cgroup', ...subdirs('/sys/fs/cgroup')]) {
      if (existsSync(join(root, `sandboxd-${instance}`))) leaks.push(`cgroup: ${join(root, `sandboxd-${instance}`)}`);
    }
    for (const [what, cmd, args] of [
      ['netns', 'ip', ['netns', 'list']],
      ['link', 'ip', ['-o', 'link', 'show']],
      ['iptables', 'iptables-save', []],
    ]) {
      for (const line of run(cmd, args).split('\n')) {
        if (line.includes(instance)) leaks.push(`${what}: ${line.trim()}`);
      }
    }
  }
  return leaks;
}

// Processes end and the kernel releases namespaces asynchronously; give it a moment.
async function settledLeaks(dataDir) {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  let leaks = findLeaks(dataDir);
  while (leaks.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    leaks = findLeaks(dataDir);
  }
  return leaks;
}

function readProc(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function subdirs(dir) {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => join(dir, d.name));
  } catch {
    return [];
  }
}

function run(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return '';
  }
}

function withTimeout(promise, ms, onTimeout) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((resolve) => {
      timer = setTimeout(() => {
        onTimeout();
        resolve(null);
      }, ms);
    }),
  ]);
}

function tail(text, lines = 40) {
  return text.split('\n').slice(-lines).join('\n');
}
