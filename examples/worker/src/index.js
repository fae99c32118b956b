// A Worker that puts E2B sandboxes behind a small HTTP API, through e2b-wasm:
//
//   POST   /sandboxes                        → 201 { sandboxId }
//   POST   /sandboxes/:id/commands  (body: a shell command)
//                                            → 200 { exitCode, stdout, stderr } (also when it fails)
//   GET    /sandboxes/:id/files/<path>       → 200 the file, streamed from the sandbox as it is read
//   DELETE /sandboxes/:id                    → 204 (404 when there is no such sandbox)
//   POST   /run                     (body: Python code)
//                                            → 200 the Execution: { results, logs, error, text,
//                                              executionCount }, each result with its chart and
//                                              data (run in a code-interpreter sandbox, then killed)
//
// Errors answer JSON { error, message } with the status their SDK error class stands for.
import { CommandExitError, Sandbox } from 'e2b-wasm';
import { Sandbox as CodeInterpreter } from 'e2b-wasm/code-interpreter';

const STATUS_OF_ERROR = {
  AuthenticationError: 401,
  NotFoundError: 404,
  FileNotFoundError: 404,
  SandboxNotFoundError: 404,
  InvalidArgumentError: 400,
  RateLimitError: 429,
  TimeoutError: 504,
};

const json = (body, status = 200) => Response.json(body, { status });

/** Runs `code` as Python in a fresh code-interpreter sandbox; the Execution as JSON, charts included. */
async function runPython(code, opts) {
  const sandbox = await CodeInterpreter.create(opts);
  try {
    const execution = await sandbox.runCode(code);
    // A Result's toJSON() leaves out the structured `chart` and `data`; they are what a client draws.
    const results = execution.results.map((result) => ({ ...result.toJSON(), isMainResult: result.isMainResult, chart: result.chart, data: result.data }));
    return { results, logs: execution.logs, error: execution.error, text: execution.text, executionCount: execution.executionCount };
  } finally {
    await sandbox.kill();
  }
}

export default {
  async fetch(request, env) {
    // Unset bindings are undefined, which leaves the SDK's defaults (E2B's cloud) in place.
    const opts = { apiKey: env.E2B_API_KEY, apiUrl: env.E2B_API_URL, sandboxUrl: env.E2B_SANDBOX_URL };
    const { pathname } = new URL(request.url);
    if (pathname === '/run' && request.method === 'POST') {
      try {
        return json(await runPython(await request.text(), opts));
      } catch (err) {
        return json({ error: err.name, message: err.message }, STATUS_OF_ERROR[err.name] ?? 500);
      }
    }
    const [, resource, sandboxId, action, ...rest] = pathname.split('/');
    if (resource !== 'sandboxes') return json({ error: 'NotFound', message: `no route for ${pathname}` }, 404);
    try {
      if (!sandboxId && request.method === 'POST') {
        const sandbox = await Sandbox.create(opts);
        return json({ sandboxId: sandbox.sandboxId }, 201);
      }
      if (sandboxId && !action && request.method === 'DELETE') {
        const killed = await Sandbox.kill(sandboxId, opts);
        return killed ? new Response(null, { status: 204 }) : json({ error: 'NotFound', message: `no sandbox ${sandboxId}` }, 404);
      }
      if (sandboxId && action === 'commands' && request.method === 'POST') {
        const sandbox = await Sandbox.connect(sandboxId, opts);
        const cmd = await request.text();
        try {
          const { exitCode, stdout, stderr } = await sandbox.commands.run(cmd);
          return json({ exitCode, stdout, stderr });
        } catch (err) {
          // A command that exits non-zero is an answer, not a failure of this API.
          if (!(err instanceof CommandExitError)) throw err;
          return json({ exitCode: err.exitCode, stdout: err.stdout, stderr: err.stderr });
        }
      }
      if (sandboxId && action === 'files' && request.method === 'GET') {
        const sandbox = await Sandbox.connect(sandboxId, opts);
        const path = `/${rest.map(decodeURIComponent).join('/')}`;
        // The sandbox's bytes go straight through: nothing is buffered in the Worker.
        const body = await sandbox.files.read(path, { format: 'stream' });
        return new Response(body, { headers: { 'content-type': 'application/octet-stream' } });
      }
      return json({ error: 'NotFound', message: `no route for ${request.method} ${pathname}` }, 404);
    } catch (err) {
      return json({ error: err.name, message: err.message }, STATUS_OF_ERROR[err.name] ?? 500);
    }
  },
};
