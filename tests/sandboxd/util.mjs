// Small helpers shared by the sandboxd suites.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { request } from 'node:http';
import { Sandbox, Template } from 'e2b';
import { startSandboxdForSdk } from '../helpers/sandboxd.mjs';

/** A value no other test run uses, for metadata filters. */
export const uniqueTag = () => `t${randomBytes(6).toString('hex')}`;

/** A fresh sandboxd that the SDK is pointed at (through `process.env`), and one sandbox in it. */
export async function startWithSandbox() {
  const sd = await startSandboxdForSdk();
  return { sd, sbx: await Sandbox.create() };
}

/** `Template.build` with each build log line pushed to `logs`; the build's info and `ms` it took. */
export async function buildTemplate(template, name, logs) {
  const started = Date.now();
  const info = await Template.build(template, name, { onBuildLogs: (entry) => logs.push(entry.message) });
  return { ...info, ms: Date.now() - started };
}

/** The trimmed stdout of `cmd` in `sandbox`; a non-zero exit throws (CommandExitError). */
export async function stdoutOf(sandbox, cmd, opts = {}) {
  return (await sandbox.commands.run(cmd, { timeoutMs: 60_000, ...opts })).stdout.trim();
}

/** Polls `condition` until it holds; fails with `message` after `limitMs`. */
export async function waitUntil(condition, limitMs, message) {
  const deadline = Date.now() + limitMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(message);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every sandbox matching `query`, across all pages. */
export async function listAll(query, order) {
  const paginator = Sandbox.list({ query, order });
  const items = [];
  while (paginator.hasNext) items.push(...(await paginator.nextItems()));
  return items;
}

/** GET/POST through sandboxd with a per-sandbox Host header (what getHost() names). */
export function viaHost(sd, host, path = '/', init = {}) {
  const url = new URL(path, sd.apiUrl);
  // fetch() will not send a custom Host, so use node:http.
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method: init.method ?? 'GET', headers: { ...init.headers, host } },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c) => (body += c)).on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

/**
 * Runs the official `e2b` CLI (the pinned @e2b/cli) against sandboxd `sd`, with no E2B_* variables
 * of the caller's environment; returns spawnSync's result.
 */
export function runOfficialCli(sd, args) {
  const cli = join(dirname(createRequire(import.meta.url).resolve('@e2b/cli/package.json')), 'dist/index.js');
  // NO_UPDATE_NOTIFIER: otherwise the CLI asks the npm registry for its latest version.
  return spawnSync(process.execPath, [cli, ...args], { env: { ...envWithout(sd), NO_UPDATE_NOTIFIER: '1' }, encoding: 'utf8', input: '', timeout: 60_000 });
}

/** This process's environment with sandboxd `sd`'s E2B_* variables instead of its own. */
export function envWithout(sd) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('E2B_')));
  return { ...env, ...sd?.env };
}

/** A REST call to sandboxd `sd` with its API key. */
export function sandboxdApi(sd, path, init = {}) {
  return fetch(new URL(path, sd.apiUrl), { ...init, headers: { 'X-API-KEY': sd.apiKey, ...init.headers } });
}
