// The Code Interpreter facade of `e2b-wasm/code-interpreter` (a drop-in for `@e2b/code-interpreter`
// 2.8): `Sandbox` extends ours with `runCode` and the code contexts, which talk HTTP to the
// execution server on the sandbox's port 49999 (docs/code-interpreter.md has the wire format).
// It is plain JS over `fetch`: the answer of POST /execute is JSON lines, split here as the body
// arrives and decoded with `JSON.parse` (docs/code-interpreter.md says why not in the wasm). Only
// the code-interpreter entries import this module, so `import { Sandbox } from 'e2b-wasm'` does
// not carry it.
import { Sandbox as CoreSandbox } from './sandbox.js';
import { E2B as CoreE2B } from './extras.js';
import { InvalidArgumentError, NotFoundError, SandboxError, TimeoutError } from '%ERRORS_MODULE%';

const JUPYTER_PORT = 49999;
/** `runCode`'s `timeoutMs` when none is given: the time the whole answer may take. */
const DEFAULT_TIMEOUT_MS = 60_000;
/** The keys of a result line that are fields of `Result` of their own, not `extra`. */
const KNOWN_FORMATS = ['plain', 'html', 'markdown', 'svg', 'png', 'jpeg', 'pdf', 'latex', 'json', 'javascript', 'data', 'chart', 'extra', 'text'];
/** The formats `formats()` lists, in the official order (before the `extra` keys). */
const LISTED_FORMATS = ['html', 'markdown', 'svg', 'png', 'jpeg', 'pdf', 'latex', 'json', 'javascript', 'data'];

/** An error raised by the executed code: its class name, value and traceback. */
class ExecutionError {
  constructor(name, value, traceback) {
    this.name = name;
    this.value = value;
    this.traceback = traceback;
  }
}

/** One output (a `result` line, or display data): every MIME representation the kernel sent. */
class Result {
  constructor(rawData, isMainResult) {
    const data = { ...rawData };
    delete data.type;
    delete data.is_main_result;
    // Own properties in the official order.
    this.isMainResult = isMainResult;
    for (const key of ['text', 'html', 'markdown', 'svg', 'png', 'jpeg', 'pdf', 'latex', 'json', 'javascript']) this[key] = data[key];
    this.data = data.data;
    this.chart = data.chart;
    this.extra = {};
    this.raw = data;
    for (const key of Object.keys(data)) if (!KNOWN_FORMATS.includes(key)) this.extra[key] = data[key];
  }
  /** The formats this result has (`text` is not listed: every main result has it). */
  formats() {
    return [...LISTED_FORMATS.filter((format) => this[format]), ...Object.keys(this.extra)];
  }
  toJSON() {
    const { text, html, markdown, svg, png, jpeg, pdf, latex, json, javascript, extra } = this;
    return { text, html, markdown, svg, png, jpeg, pdf, latex, json, javascript, ...(Object.keys(extra).length > 0 ? { extra } : {}) };
  }
}

/** What one `runCode` produced. */
class Execution {
  constructor(results = [], logs = { stdout: [], stderr: [] }, error, executionCount) {
    this.results = results;
    this.logs = logs;
    this.error = error;
    this.executionCount = executionCount;
  }
  /** The text of the main result (the cell's value), if any. */
  get text() {
    return this.results.find((result) => result.isMainResult)?.text;
  }
  toJSON() {
    return { results: this.results, logs: this.logs, error: this.error };
  }
}

/**
 * Applies one decoded line of the /execute stream to `execution` and calls its callback; returns
 * what the callback returned, which the caller awaits only when it is a promise (the lines of a
 * chunk are then handled in one go, with no turn of the event loop between them).
 */
function applyLine(execution, msg, opts) {
  switch (msg.type) {
    case 'result': {
      const result = new Result({ ...msg, type: undefined, is_main_result: undefined }, msg.is_main_result);
      execution.results.push(result);
      return opts?.onResult?.(result);
    }
    case 'stdout':
    case 'stderr': {
      const isStderr = msg.type === 'stderr';
      execution.logs[msg.type].push(msg.text);
      // Microseconds, as the official SDK stamps them (on arrival).
      return opts?.[isStderr ? 'onStderr' : 'onStdout']?.({ error: isStderr, line: msg.text, timestamp: Date.now() * 1000 });
    }
    case 'error':
      execution.error = new ExecutionError(msg.name, msg.value, msg.traceback);
      return opts?.onError?.(execution.error);
    case 'number_of_executions':
      execution.executionCount = msg.execution_count;
      break;
  }
}

/**
 * The lines of `body` as they arrive, the complete ones of each chunk together. A line is kept as
 * the chunks it came in until its end is seen, so a multi-megabyte PNG line costs one join, and
 * only the newest chunk is searched.
 */
async function* readLines(body) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let pending = [];
  for (;;) {
    const { done, value } = await reader.read();
    const text = done ? decoder.decode() : decoder.decode(value, { stream: true });
    const lines = [];
    let start = 0;
    for (let newline; (newline = text.indexOf('\n', start)) !== -1; start = newline + 1) {
      pending.push(text.slice(start, newline));
      lines.push(pending.join(''));
      pending = [];
    }
    if (start < text.length) pending.push(text.slice(start));
    if (done && pending.length > 0) lines.push(pending.join(''));
    yield lines;
    if (done) return;
  }
}

/** The error of a non-2xx answer, as the official SDK classes it (502: the sandbox timed out). */
async function answerError(res, includeDiagnostics) {
  const traceId = includeDiagnostics ? res.headers.get('X-E2B-Trace-ID') : null;
  const traceSuffix = traceId ? ` (trace_id=${traceId})` : '';
  if (res.status === 502) {
    return new TimeoutError(`${await res.text()}: This error is likely due to sandbox timeout. You can modify the sandbox timeout by passing 'timeoutMs' when starting the sandbox or calling '.setTimeout' on the sandbox with the desired timeout.${traceSuffix}`);
  }
  if (res.status === 404) return new NotFoundError(`${await res.text()}${traceSuffix}`);
  if (!includeDiagnostics) {
    await res.body?.cancel();
    return new SandboxError(`${res.status} ${res.statusText}`);
  }
  const body = (await res.text()).trim();
  return new SandboxError(`${res.status} ${res.statusText}${body ? `: ${body}` : ''}${traceSuffix}`);
}

const isAbort = (error) => error instanceof Error && error.name === 'AbortError';
const executionTimeout = () => new TimeoutError("Execution timed out — the 'timeoutMs' option can be used to increase this timeout");
const CONNECTION_CLOSED_CODES = ['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET'];
const CONNECTION_CLOSED_MESSAGES = ['error reading a body from connection', 'connection closed before message completed', 'connection reset by peer', 'network connection lost'];
/**
 * Whether `error` means the connection closed mid-request. Runtimes say so differently: Node's
 * fetch puts the socket error in `cause`, Bun sets `code`, Deno and workerd only a message.
 */
function isConnectionClosed(error) {
  if (!(error instanceof Error)) return false;
  if (CONNECTION_CLOSED_CODES.includes(error.code) || error.name === 'ConnectionReset' || error.name === 'ConnectionClosed') return true;
  const message = error.message.toLowerCase();
  return CONNECTION_CLOSED_MESSAGES.some((m) => message.includes(m)) || isConnectionClosed(error.cause);
}

/** The headers of every request to the execution server (the token only where asked). */
function jupyterHeaders(sandbox, withAccessToken) {
  const headers = { 'Content-Type': 'application/json', 'E2b-Sandbox-Id': sandbox.sandboxId, 'E2b-Sandbox-Port': String(JUPYTER_PORT) };
  if (sandbox.trafficAccessToken) headers['E2B-Traffic-Access-Token'] = sandbox.trafficAccessToken;
  if (withAccessToken && sandbox.envdAccessToken) headers['X-Access-Token'] = sandbox.envdAccessToken;
  return headers;
}

/** One request to `sandbox`'s execution server; a non-2xx answer becomes its error. */
async function jupyterRequest(sandbox, method, path, { body, signal, withAccessToken = false } = {}) {
  const res = await fetch(sandbox.getJupyterRequestUrl(path), { method, headers: jupyterHeaders(sandbox, withAccessToken), body, signal });
  if (!res.ok) throw await answerError(res, sandbox.includeDiagnostics);
  return res;
}

/** A context call bounded by the sandbox's request timeout; → what `read` makes of the answer. */
async function contextRequest(sandbox, method, path, read = (res) => res.body?.cancel()) {
  try {
    return await read(await jupyterRequest(sandbox, method, path, { signal: sandbox.connectionConfig.getSignal(sandbox.connectionConfig.requestTimeoutMs) }));
  } catch (error) {
    throw await sandbox.handleRequestError(error);
  }
}

export class Sandbox extends CoreSandbox {
  static defaultTemplate = 'code-interpreter-v1';

  /** The execution server's base URL (the proxy routes by the `E2b-Sandbox-Port` header too). */
  get jupyterUrl() {
    return this.connectionConfig.getSandboxDirectUrl(this.sandboxId, { sandboxDomain: this.sandboxDomain, envdPort: JUPYTER_PORT });
  }
  getJupyterRequestUrl(path) {
    const url = `${this.jupyterUrl}${path}`;
    const source = this.connectionConfig.requestSource;
    return source ? `${url}${url.includes('?') ? '&' : '?'}source=${encodeURIComponent(source)}` : url;
  }
  get includeDiagnostics() {
    return this.connectionConfig.requestSource === 'ci';
  }
  /**
   * Runs `code` in `opts.context` or the default context of `opts.language` (Python if neither),
   * calling the callbacks as the stream's lines arrive. `requestTimeoutMs` bounds the wait for the
   * answer to start, `timeoutMs` (60 s by default, 0 for none) the rest of it; `signal` (not in
   * the official SDK) aborts the run and rejects with its reason.
   */
  async runCode(code, opts) {
    if (opts?.context && opts?.language) {
      throw new InvalidArgumentError('You can provide context or language, but not both at the same time.');
    }
    const controller = new AbortController();
    const signal = opts?.signal;
    const abortWithCaller = () => controller.abort(signal.reason);
    signal?.addEventListener('abort', abortWithCaller, { once: true });
    if (signal?.aborted) abortWithCaller();
    const requestTimeout = opts?.requestTimeoutMs ?? this.connectionConfig.requestTimeoutMs;
    let timer = requestTimeout ? setTimeout(() => controller.abort(), requestTimeout) : undefined;
    try {
      const res = await jupyterRequest(this, 'POST', '/execute', {
        body: JSON.stringify({ code, context_id: opts?.context?.id, language: opts?.language, env_vars: opts?.envs }),
        signal: controller.signal,
        withAccessToken: true,
      });
      clearTimeout(timer);
      const bodyTimeout = opts?.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      timer = bodyTimeout ? setTimeout(() => controller.abort(), bodyTimeout) : undefined;
      const execution = new Execution();
      try {
        for await (const lines of readLines(res.body)) {
          for (const line of lines) {
            const called = line && applyLine(execution, JSON.parse(line), opts);
            if (typeof called?.then === 'function') await called;
          }
        }
      } catch (error) {
        // A timeout, an abort, a callback's error, a line that is no JSON: the request is
        // aborted, which releases the connection (the server then interrupts the cell).
        controller.abort();
        throw signal?.aborted ? signal.reason : isAbort(error) ? executionTimeout() : error;
      }
      return execution;
    } catch (error) {
      throw signal?.aborted ? signal.reason : await this.handleRequestError(error);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', abortWithCaller);
    }
  }

  /** A new context (own kernel and state) for `opts.language` (Python by default) in `opts.cwd`. */
  async createCodeContext(opts) {
    try {
      const res = await jupyterRequest(this, 'POST', '/contexts', {
        body: JSON.stringify({ language: opts?.language, cwd: opts?.cwd }),
        signal: this.connectionConfig.getSignal(opts?.requestTimeoutMs),
      });
      return await res.json();
    } catch (error) {
      throw await this.handleRequestError(error);
    }
  }
  async removeCodeContext(context) {
    await contextRequest(this, 'DELETE', `/contexts/${typeof context === 'string' ? context : context.id}`);
  }
  async listCodeContexts() {
    return contextRequest(this, 'GET', '/contexts', (res) => res.json());
  }
  async restartCodeContext(context) {
    await contextRequest(this, 'POST', `/contexts/${typeof context === 'string' ? context : context.id}/restart`);
  }
  /**
   * The error to throw for a failed request: a connection closed because the sandbox is gone is
   * the official "killed" `TimeoutError`; an abort is the request timeout.
   */
  async handleRequestError(error) {
    if (isConnectionClosed(error) && (await this.isRunning().catch(() => true)) === false) {
      return new TimeoutError("The sandbox was killed while the request was in progress. This can happen when the sandbox times out or is killed manually. You can modify the sandbox timeout by passing 'timeoutMs' when starting the sandbox or calling '.setTimeout' on the sandbox with the desired timeout.");
    }
    return isAbort(error) ? new TimeoutError("Request timed out — the 'requestTimeoutMs' option can be used to increase this timeout") : error;
  }
}

/** A client whose resource classes have `opts` bound; its `Sandbox` is the code-interpreter one. */
export class E2B {
  constructor(opts) {
    const core = new CoreE2B(opts);
    this.Sandbox = class extends Sandbox { static boundOpts = core.Sandbox.boundOpts; };
    this.Volume = core.Volume;
    this.Template = core.Template;
    this.Secret = core.Secret;
  }
}

export default Sandbox;
