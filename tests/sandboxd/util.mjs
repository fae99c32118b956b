// Small helpers shared by the sandboxd suites.
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { Sandbox } from 'e2b';
import { startSandboxd } from '../helpers/sandboxd.mjs';

/** A value no other test run uses, for metadata filters. */
export const uniqueTag = () => `t${randomBytes(6).toString('hex')}`;

/** A fresh sandboxd that the SDK is pointed at (through `process.env`), and one sandbox in it. */
export async function startWithSandbox() {
  const sd = await startSandboxd();
  Object.assign(process.env, sd.env);
  return { sd, sbx: await Sandbox.create() };
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
