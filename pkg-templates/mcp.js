// The MCP gateway of `Sandbox.create({ mcp })`, started as e2b 2.51 starts it: a module of its
// own, loaded only by sandboxes created with `mcp`, so plain imports of the package stay small.
import { SandboxError, CommandExitError } from '%ERRORS_MODULE%';

import { shellQuote } from './internal.js';

/** Starts the gateway with `mcp` as its config; on failure kills the sandbox and says why. */
export async function startMcpGateway(sandbox, mcp) {
  sandbox.mcpToken = crypto.randomUUID();
  try {
    await sandbox.commands.run(`mcp-gateway --config ${shellQuote(JSON.stringify(mcp))}`, {
      user: 'root', envs: { GATEWAY_ACCESS_TOKEN: sandbox.mcpToken },
    });
  } catch (err) {
    await sandbox.kill().catch(() => undefined);
    throw err instanceof CommandExitError ? new SandboxError(`Failed to start MCP gateway: ${err.stderr}`) : err;
  }
}
