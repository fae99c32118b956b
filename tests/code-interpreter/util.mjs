// Helpers shared by the code-interpreter suites.
import { startSandboxdForSdk } from '../helpers/sandboxd.mjs';
import { sandboxdApi } from '../sandboxd/util.mjs';

/**
 * Uses code-interpreter-v1 once through the REST API, so that sandboxd builds it now if it has
 * not yet (the first use), with no request timeout; the SDK's creates then find it built. (A
 * long `requestTimeoutMs` on an SDK create would stay in that sandbox's config, for every call.)
 */
export async function buildOnFirstUse(sd) {
  const res = await sandboxdApi(sd, '/sandboxes', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ templateID: 'code-interpreter-v1' }),
  });
  const body = await res.json();
  if (res.status !== 201) throw new Error(`first use of code-interpreter-v1: ${res.status} ${JSON.stringify(body)}`);
  await sandboxdApi(sd, `/sandboxes/${body.sandboxID}`, { method: 'DELETE' });
}

/**
 * A sandboxd for a code-interpreter suite, with the SDK's E2B_* env pointed at it and
 * code-interpreter-v1 built (`firstUse`; a suite whose warm pool makes the first use passes
 * false). `npm test` gives all suites of a run one data dir (SANDBOXD_CODE_INTERPRETER_DATA_DIR,
 * one file at a time), so the template is built once per run, not once per file; a suite run
 * alone gets a fresh data dir and builds it.
 */
export async function startCodeInterpreterSandboxd(args = [], { firstUse = true } = {}) {
  const shared = process.env.SANDBOXD_CODE_INTERPRETER_DATA_DIR;
  const sd = await startSandboxdForSdk({ args, dataDir: shared });
  const started = { ...sd, stop: () => sd.stop({ keepDataDir: Boolean(shared) }) };
  if (firstUse) {
    try {
      await buildOnFirstUse(sd);
    } catch (e) {
      await started.stop().catch(() => {});
      throw e;
    }
  }
  return started;
}

/** `method path` on `sandbox`'s port 49999 as the SDK sends it, with `body` sent as is. */
export function rawRequest(sandbox, method, path, body, headers = {}) {
  return fetch(`${sandbox.jupyterUrl}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', 'E2b-Sandbox-Id': sandbox.sandboxId, 'E2b-Sandbox-Port': '49999', ...headers },
    body,
  });
}

/** POST /execute to `sandbox` as the SDK sends it, with `headers` in place of its token. */
export function rawExecute(sandbox, code, headers) {
  return rawRequest(sandbox, 'POST', '/execute', JSON.stringify({ code }), headers);
}
