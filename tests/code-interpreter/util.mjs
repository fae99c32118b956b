// Helpers shared by the code-interpreter suites.

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
