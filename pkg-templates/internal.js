// Helpers the facade's modules share and do not export from the package: shell quoting for the
// commands the SDK builds (git, ready commands, the MCP gateway), the option binding of the
// resource classes and the runtime's name.
const UNSAFE_SHELL_CHAR = /[^\w@%+=:,./-]/;
/** `s` as one shell word (unchanged when it needs no quoting, so commands stay readable). */
export const shellQuote = (s) => (s === '' ? "''" : UNSAFE_SHELL_CHAR.test(s) ? `'${s.replace(/'/g, `'"'"'`)}'` : s);

/** Per-call options over options bound to a class; explicitly `undefined` ones fall through. */
export function mergeOpts(boundOpts, opts) {
  if (!boundOpts) return opts;
  const merged = { ...boundOpts };
  for (const [key, value] of Object.entries(opts ?? {})) {
    if (value !== undefined) Object.defineProperty(merged, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return merged;
}

/** Base of the resource classes an `E2B` client binds its options to (`boundOpts`). */
export class ClientFactory {
  static boundOpts = undefined;
  /** Per-call options over the bound ones. */
  static resolveOpts(opts) { return mergeOpts(this.boundOpts, opts); }
}

/**
 * Defines `members` (space-separated) on `target` as methods that reject with `Failure`: what the
 * local sandboxd cannot serve, and e2b-wasm therefore does not implement, named in the message.
 */
export function defineUnserved(target, owner, members, Failure, what) {
  for (const member of members.split(' ').filter(Boolean)) {
    const method = {
      async [member]() { throw new Failure(`${owner}.${member}: e2b-wasm does not implement ${what} (the local sandboxd serves none)`); },
    }[member];
    Object.defineProperty(target, member, { value: method, writable: true, configurable: true });
  }
}

let runtime;
/** The official SDK's name for the runtime (`sdk_runtime`; `browser` decides envd's host form). */
export function runtimeName() {
  const g = globalThis;
  runtime ??= g.Bun ? 'bun' : g.Deno ? 'deno' : typeof g.EdgeRuntime === 'string' ? 'vercel-edge'
    : g.navigator?.userAgent === 'Cloudflare-Workers' ? 'cloudflare-worker' : g.process?.release?.name === 'node' ? 'node'
      : typeof g.window !== 'undefined' ? 'browser' : 'unknown';
  return runtime;
}
