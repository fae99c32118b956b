// A Worker that puts E2B sandboxes behind a small HTTP API, through e2b-wasm:
//
//   POST   /sandboxes                        → 201 { sandboxId }
//   POST   /sandboxes/:id/commands  (body: a shell command)
//                                            → 200 { exitCode, stdout, stderr } (also when it fails)
//   GET    /sandboxes/:id/files/<path>       → 200 the file, streamed from the sandbox as it is read
//   DELETE /sandboxes/:id                    → 204 (404 when there is no such sandbox)
//
// Errors answer JSON { error, message } with the status their SDK error class stands for.
import { CommandExitError, Sandbox } from 'e2b-wasm';

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

export default {
  async fetch(request, env) {
    // Unset bindings are undefined, which leaves the SDK's defaults (E2B's cloud) in place.
    const opts = { apiKey: env.E2B_API_KEY, apiUrl: env.E2B_API_URL, sandboxUrl: env.E2B_SANDBOX_URL };
    const { pathname } = new URL(request.url);
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
