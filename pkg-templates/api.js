// The control plane (E2B's REST API): the requests of `Sandbox.create`, `connect`, `kill`,
// `getInfo`, `getMetrics`, `setTimeout`, `pause`, `updateNetwork` and `list`'s pages, their retry
// after a 429, and the official errors for failed answers. JSON over `fetch` needs nothing the
// runtime lacks, so this is JavaScript: in the wasm the same calls cost 8.4 KiB gzip, every
// property an import call and a string constant. Each function takes the call's resolved
// `ConnectionConfig` and options (after the facade merged them, as officially).
import {
  SandboxError, AuthenticationError, InvalidArgumentError, RateLimitError, SandboxNotFoundError,
  ServiceBusyError, TemplateError,
} from '%ERRORS_MODULE%';
import { runtimeName } from './internal.js';

/** The envd version `Sandbox.create` accepts at least; older sandboxes are killed and refused. */
const SUPPORTED_ENVD = '0.1.0';
/** What a sandbox is in debug mode, where there is no API: envd at the configured address. */
const DEBUG_SANDBOX_ID = 'debug_sandbox_id';
const DEBUG_ENVD_VERSION = '99.99.99';
/** The longest wait for a retry when the call has no request timeout (the official value). */
const MAX_RETRY_WAIT_WITHOUT_TIMEOUT_MS = 60_000;
/** The largest `Retry-After` honoured, in seconds (the official value). */
const MAX_RETRY_AFTER_SECONDS = 2_147_483;

/** `x.y.z` as one comparable number (a `v` prefix, pre-release and build tags ignored). */
export function versionNumber(version) {
  const [major = 0, minor = 0, patch = 0] = String(version ?? '').replace(/^v/, '').split(/[-+]/)[0].split('.').map((part) => +part || 0);
  return (major * 1e5 + minor) * 1e5 + patch;
}

const timeoutToSeconds = (ms) => Math.ceil(ms / 1000);
const sandboxPath = (sandboxId, rest = '') => `/sandboxes/${encodeURIComponent(sandboxId)}${rest}`;

/** `logger[level](...args)` when the logger has that method; a throwing logger fails nothing. */
export function log(logger, level, ...args) {
  try {
    if (typeof logger?.[level] === 'function') logger[level](...args);
  } catch {}
}

/** Resolves after `ms`; rejects with the signal's reason as soon as it aborts. */
function sleep(ms, signal) {
  if (!signal) return new Promise((resolve) => setTimeout(resolve, ms));
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The wait a `Retry-After` header asks for: whole seconds only (an HTTP date is not honoured, as officially). */
function retryAfterMs(value) {
  const digits = value?.trim();
  if (!digits || !/^\d+$/.test(digits) || +digits > MAX_RETRY_AFTER_SECONDS) return undefined;
  return +digits * 1000;
}

/** The official error for a failed answer: its status, and `content` (the body's message, else the body, else, but for 401, 429 and 503, the status text). */
function apiError(status, content) {
  const known = {
    401: [AuthenticationError, 'Unauthorized, please check your credentials.'],
    429: [RateLimitError, 'Rate limit exceeded, please try again later'],
    503: [ServiceBusyError, 'Service temporarily unavailable, please retry'],
  }[status];
  if (!known) {
    const err = new SandboxError(`${status}: ${content}`);
    err.statusCode = status;
    return err;
  }
  const [Class, prefix] = known;
  return new Class(content ? `${prefix} - ${content}` : prefix);
}

/** Throws the official `AuthenticationError` when `config` has no API key. */
export function requireApiKey(config) {
  if (!config.apiKey) {
    throw new AuthenticationError("API key is required, please visit the API Keys tab at https://e2b.dev/dashboard?tab=keys to get your API key. You can either set the environment variable `E2B_API_KEY` or you can pass it directly to the sandbox like Sandbox.create({ apiKey: 'e2b_...' })");
  }
}

const telemetryHeaders = () => ({
  browser: 'unknown', lang: 'js', lang_version: 'unknown', package_version: '%VERSION%', publisher: 'e2b',
  sdk_runtime: runtimeName(), system: 'unknown',
});

/**
 * One REST call: `{ ok, body, nextToken }` or `{ ok, code, failure }`. A 2xx answer's JSON is
 * parsed (`undefined` when it is declared empty; anything else that is not JSON fails with
 * `JSON.parse`'s `SyntaxError`, as the official `response.json()` does); a failure carries the
 * body's numeric `code` (which decides 404/409 per call) and its official error. Network
 * failures and aborts reach the caller as the runtime's own error. A 429 with `Retry-After` is
 * retried while the request timeout allows.
 */
async function request(config, opts, method, path, body) {
  requireApiKey(config);
  const headers = { ...telemetryHeaders(), 'X-API-KEY': config.apiKey, ...config.headers };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const url = config.apiUrl.replace(/\/+$/, '') + path;
  const timeoutMs = config.requestTimeoutMs > 0 ? config.requestTimeoutMs : undefined;
  const signal = config.getSignal(timeoutMs ?? 0, opts?.signal instanceof AbortSignal ? opts.signal : undefined);
  const deadline = performance.now() + (timeoutMs ?? MAX_RETRY_WAIT_WITHOUT_TIMEOUT_MS);
  const { logger } = config;
  log(logger, 'info', `Request ${method} ${url}`);
  for (let retriesLeft = config.retries; ; retriesLeft--) {
    const response = await fetch(url, { method, headers, body, signal });
    const text = await response.text();
    const { status } = response;
    if (status === 429 && retriesLeft > 0) {
      const delay = retryAfterMs(response.headers.get('Retry-After'));
      if (delay !== undefined && performance.now() + delay < deadline) {
        await sleep(delay, signal);
        continue;
      }
    }
    log(logger, status >= 400 ? 'error' : 'info', 'Response:', status, response.statusText);
    // Only an answer declared empty is none, as openapi-fetch has it; any other is parsed.
    const empty = status === 204 || response.headers.get('Content-Length') === '0';
    if (response.ok) {
      return { ok: true, body: empty ? undefined : JSON.parse(text), nextToken: response.headers.get('x-next-token') || undefined };
    }
    // A failure's body as the official client reads it: its JSON, else its text.
    let error = empty ? undefined : text;
    try {
      error = JSON.parse(error);
    } catch {}
    const content = status === 401 || status === 429 || status === 503
      ? error?.message ?? error
      : error?.message || error || response.statusText;
    return { ok: false, code: error?.code, failure: apiError(status, content) };
  }
}

/** A successful reply's JSON; a failed one's error is thrown. */
function answer(reply) {
  if (!reply.ok) throw reply.failure;
  return reply.body;
}

/** The reply of a call on one sandbox; a 404 body means "no such sandbox". */
async function onSandbox(config, opts, method, sandboxId, rest, body) {
  const reply = await request(config, opts, method, sandboxPath(sandboxId, rest), body);
  if (reply.code === 404) throw new SandboxNotFoundError(`Sandbox ${sandboxId} not found`);
  return reply;
}

/** A non-empty string, else `undefined`. */
const nonEmpty = (v) => (typeof v === 'string' && v) || undefined;

/** What the `Sandbox` constructor needs to reach a sandbox, from a create or connect answer. */
const access = (v, sandboxId) => ({
  sandboxId: sandboxId ?? nonEmpty(v?.sandboxID) ?? '', sandboxDomain: nonEmpty(v?.domain), envdVersion: nonEmpty(v?.envdVersion) ?? '',
  envdAccessToken: nonEmpty(v?.envdAccessToken), trafficAccessToken: nonEmpty(v?.trafficAccessToken),
});

const debugSandbox = (sandboxId) => ({ ...access(undefined, sandboxId), envdVersion: DEBUG_ENVD_VERSION });

/** `POST /v2/sandboxes`'s lifecycle fields, checked as officially before any request. */
function lifecycleFields(lifecycle) {
  const requested = lifecycle?.onTimeout ?? undefined;
  const onTimeout = requested ?? 'kill';
  const objectForm = typeof onTimeout !== 'string';
  const action = objectForm ? onTimeout?.action : onTimeout;
  if (requested !== undefined && action !== 'pause' && action !== 'kill') {
    throw new InvalidArgumentError(`${objectForm ? 'onTimeout.action' : 'onTimeout'} must be one of: pause, kill (got ${JSON.stringify(action)}).`);
  }
  const hasKeepMemory = objectForm && onTimeout instanceof Object && 'keepMemory' in onTimeout;
  const keepMemory = hasKeepMemory ? onTimeout.keepMemory ?? true : true;
  const autoResume = lifecycle?.autoResume ?? undefined;
  if (hasKeepMemory && action !== 'pause') throw new InvalidArgumentError("onTimeout.keepMemory is only allowed when action is 'pause'.");
  if (autoResume && action !== 'pause') throw new InvalidArgumentError("autoResume can only be true when onTimeout action is 'pause'.");
  if (!keepMemory && autoResume) {
    throw new InvalidArgumentError('autoResume: true is not a valid value when keepMemory: false - a filesystem-only snapshot cannot be auto-resumed by traffic and must be resumed explicitly using Sandbox.connect().');
  }
  return {
    autoPause: requested !== undefined ? action === 'pause' : undefined,
    autoPauseMemory: action === 'pause' && hasKeepMemory ? keepMemory : undefined,
    autoResume: autoResume === undefined ? undefined : { enabled: autoResume },
  };
}

/**
 * `POST /v2/sandboxes` (`opts.network` and `opts.iam` are the API's bodies, built by the
 * facade); a sandbox whose envd predates 0.1.0 is killed and refused.
 */
export async function createSandbox(config, opts, template, timeoutMs) {
  if (config.debug) return debugSandbox(DEBUG_SANDBOX_ID);
  const body = {
    templateID: template, metadata: opts?.metadata, mcp: opts?.mcp, envVars: opts?.envs,
    timeout: timeoutMs == null ? undefined : timeoutToSeconds(timeoutMs),
    allow_internet_access: opts?.allowInternetAccess, network: opts?.network, iam: opts?.iam,
    ...lifecycleFields(opts?.lifecycle),
  };
  if (opts?.volumeMounts) {
    body.volumeMounts = Object.entries(opts.volumeMounts).map(([path, volume]) => ({ name: typeof volume === 'string' ? volume : volume?.name, path }));
  }
  const fields = access(answer(await request(config, opts, 'POST', '/v2/sandboxes', JSON.stringify(body))));
  if (versionNumber(fields.envdVersion) >= versionNumber(SUPPORTED_ENVD)) return fields;
  await killSandbox(config, opts, fields.sandboxId);
  throw new TemplateError('You need to update the template to use the new SDK.');
}

/** `POST /v2/sandboxes/{id}/connect`: resumes a paused sandbox, extends a running one's TTL. */
export async function connectSandbox(config, opts, sandboxId) {
  if (config.debug) return debugSandbox(sandboxId);
  const { timeoutMs } = opts ?? {};
  const body = { timeout: timeoutMs == null ? undefined : timeoutToSeconds(timeoutMs), memory: opts?.onResume === 'reboot' ? false : undefined };
  const reply = await request(config, opts, 'POST', `/v2${sandboxPath(sandboxId, '/connect')}`, JSON.stringify(body));
  if (reply.code === 404) throw new SandboxNotFoundError(`Paused sandbox ${sandboxId} not found`);
  return access(answer(reply), sandboxId);
}

/** `DELETE /sandboxes/{id}`: `false` when there was no such sandbox. */
export async function killSandbox(config, opts, sandboxId) {
  if (config.debug) return true;
  const reply = await request(config, opts, 'DELETE', sandboxPath(sandboxId));
  if (reply.code === 404) return false;
  answer(reply);
  return true;
}

/** `GET /sandboxes/{id}`: the API's sandbox JSON (the facade shapes it). */
export async function getSandboxInfo(config, opts, sandboxId) {
  const info = answer(await onSandbox(config, opts, 'GET', sandboxId, ''));
  if (!info) throw new Error('Sandbox not found');
  return info;
}

/** `GET /sandboxes/{id}/metrics` between `opts.start` and `opts.end` (`Date`s, whole seconds). */
export async function getSandboxMetrics(config, opts, sandboxId) {
  if (config.debug) return [];
  const query = [['start', opts?.start], ['end', opts?.end]].filter(([, date]) => date).map(([key, date]) => `${key}=${Math.round(date.getTime() / 1000)}`);
  return answer(await onSandbox(config, opts, 'GET', sandboxId, `/metrics${query.length ? `?${query.join('&')}` : ''}`)) ?? [];
}

export async function setSandboxTimeout(config, opts, sandboxId, timeoutMs) {
  answer(await onSandbox(config, opts, 'POST', sandboxId, '/timeout', JSON.stringify({ timeout: timeoutToSeconds(timeoutMs) })));
}

/** `PUT /sandboxes/{id}/network` with the API's network body. */
export async function updateSandboxNetwork(config, opts, sandboxId, body) {
  answer(await onSandbox(config, opts, 'PUT', sandboxId, '/network', JSON.stringify(body)));
}

/** `POST /sandboxes/{id}/pause`: `false` when it was already paused (409). */
export async function pauseSandbox(config, opts, sandboxId) {
  const reply = await onSandbox(config, opts, 'POST', sandboxId, '/pause', JSON.stringify({ memory: opts?.keepMemory }));
  if (reply.code === 409) return false;
  answer(reply);
  return true;
}

/** One page of `GET /v2/sandboxes` at `path`: `[items, nextToken]` (`undefined` when there is no next page). */
export async function listSandboxesPage(config, opts, path) {
  const reply = await request(config, opts, 'GET', path);
  return [answer(reply), reply.nextToken];
}
