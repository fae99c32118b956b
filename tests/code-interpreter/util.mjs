// Helpers shared by the code-interpreter suites.

/** POST /execute to `sandbox` as the SDK sends it, with `headers` in place of its token. */
export function rawExecute(sandbox, code, headers) {
  return fetch(`${sandbox.jupyterUrl}/execute`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'E2b-Sandbox-Id': sandbox.sandboxId, 'E2b-Sandbox-Port': '49999', ...headers },
    body: JSON.stringify({ code }),
  });
}
