// Starts a Worker in real workerd (wrangler's local runtime) for a test: on a loopback port of
// its own, with no metrics sent, no Cloudflare fetches, nothing persisted, its bindings as plain
// text vars (the E2B_* of a sandboxd, usually).
import { unstable_startWorker as startWorker } from 'wrangler';

process.env.WRANGLER_SEND_METRICS = 'false';
process.env.CLOUDFLARE_CF_FETCH_ENABLED = 'false';

/** `source`: `{ config }` (a wrangler.toml) or `{ entrypoint, compatibilityDate }`. Ready when it returns. */
export async function startTestWorker(source, bindings) {
  const worker = await startWorker({
    ...source,
    bindings: Object.fromEntries(Object.entries(bindings).map(([name, value]) => [name, { type: 'plain_text', value }])),
    dev: { server: { hostname: '127.0.0.1', port: 0 }, inspector: false, watch: false, persist: false, logLevel: 'warn', remote: false },
  });
  await worker.ready;
  return worker;
}
