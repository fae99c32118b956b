// The public classes. `Sandbox` is a thin JS class over the wasm `SandboxCore` so that static
// factories return instances of the subclass they are called on (`new this(...)`) through the
// official public constructor; its envd calls (commands, files, PTY) forward to Rust. What needs
// JS values or no Rust is here: the connection options (`ConnectionConfig`), options merging,
// version checks, shaping the API's JSON answers, `list`'s paginator and its query; the control
// plane's requests are in api.js (a sandbox's control-plane calls are the static ones with its
// `connectionConfig`, as officially); the MCP start, git and network code in lazily imported
// modules. Nothing here runs wasm at import time, so entries can initialise the module after
// this file is evaluated.
import { SandboxCore, getSignature, CommandHandle, Commands, Filesystem, Pty, WatchHandle } from './e2b_wasm.js';
import {
  createSandbox, connectSandbox, killSandbox, getSandboxInfo, getSandboxMetrics, setSandboxTimeout, pauseSandbox,
  updateSandboxNetwork, listSandboxesPage, versionNumber,
} from './api.js';
import {
  FilesAccess, filesExists, filesGetInfo, filesList, filesMakeDir, filesRead, filesRemove, filesRename, filesWrite,
} from './files.js';

import { SandboxError, InvalidArgumentError, TemplateError } from '%ERRORS_MODULE%';
import { ClientFactory, defineUnserved, mergeOpts, runtimeName } from './internal.js';

export {
  SandboxError, TimeoutError, InvalidArgumentError, NotEnoughSpaceError, NotFoundError,
  FileNotFoundError, SandboxNotFoundError, AuthenticationError, TemplateError, RateLimitError,
  ServiceBusyError, CommandExitError, GitAuthError, GitUpstreamError, BuildError, FileUploadError, VolumeError,
  VolumeNotFoundError, VolumePathNotFoundError, SecretError, SecretNotFoundError,
} from '%ERRORS_MODULE%';
export { getSignature };

// wasm-bindgen's manual release (`free()`, `Symbol.dispose`) is no part of e2b's objects; the
// glue's FinalizationRegistry releases the Rust side once an object is unreachable.
for (const { prototype } of [CommandHandle, Commands, Filesystem, Pty, WatchHandle]) {
  delete prototype.free;
  delete prototype[Symbol.dispose];
}

// `sandbox.files`' request/response calls are JavaScript (files.js), on what each sandbox's files
// reach; `watchDir` is the wasm's.
const filesAccess = new WeakMap();
for (const method of [
  function read(path, opts) { return filesRead(filesAccess.get(this), path, opts); },
  function write(pathOrFiles, dataOrOpts, opts) { return filesWrite(filesAccess.get(this), pathOrFiles, dataOrOpts, opts); },
  function writeFiles(files, opts) { return filesWrite(filesAccess.get(this), files, opts); },
  function list(path, opts) { return filesList(filesAccess.get(this), path, opts); },
  function exists(path, opts) { return filesExists(filesAccess.get(this), path, opts); },
  function getInfo(path, opts) { return filesGetInfo(filesAccess.get(this), path, opts); },
  function remove(path, opts) { return filesRemove(filesAccess.get(this), path, opts); },
  function rename(oldPath, newPath, opts) { return filesRename(filesAccess.get(this), oldPath, newPath, opts); },
  function makeDir(path, opts) { return filesMakeDir(filesAccess.get(this), path, opts); },
]) Object.defineProperty(Filesystem.prototype, method.name, { value: method, writable: true, configurable: true });

/** Filesystem entry types (value export, like the official string enum). */
export const FileType = { FILE: 'file', DIR: 'dir', SYMLINK: 'symlink' };
/** Filesystem event types (value export, like the official string enum). */
export const FilesystemEventType = { CHMOD: 'chmod', CREATE: 'create', REMOVE: 'remove', RENAME: 'rename', WRITE: 'write' };

const env = (name) => globalThis.process?.env?.[name];
/** Sandbox domains served through the shared `sandbox.<domain>` host outside browsers. */
const SHARED_HOST_DOMAINS = ['e2b.app', 'e2b.dev', 'e2b.pro', 'e2b-staging.dev'];

/** The resolved connection options; its fields are own properties, as in the official SDK. */
export class ConnectionConfig {
  static envdPort = 49983;
  static integration = undefined;
  static sdkUserAgentPrefix = 'e2b-js-sdk/';
  /** `E2B_USER_AGENT_SOURCE`, when it is a valid tag. */
  static getRequestSource() {
    const source = env('E2B_USER_AGENT_SOURCE');
    return source && /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/.test(source) ? source : undefined;
  }
  static buildUserAgent(requestSource) {
    return [`${ConnectionConfig.sdkUserAgentPrefix}2.51.0 e2b-wasm/%VERSION%`, ConnectionConfig.integration, requestSource && `source/${requestSource}`]
      .filter(Boolean).join(' ');
  }
  /** Sets `headers['User-Agent']` unless the caller set their own. */
  static applyUserAgent(headers, requestSource) {
    const userAgent = headers['User-Agent'];
    if (userAgent === undefined || userAgent.startsWith(ConnectionConfig.sdkUserAgentPrefix)) {
      headers['User-Agent'] = ConnectionConfig.buildUserAgent(requestSource);
    }
  }
  /** Tags the `User-Agent` of configs made from now on with a wrapping package (`'name/version'`). */
  static setIntegration(integration) { ConnectionConfig.integration = integration; }
  /** Per-call options over options bound to a class; explicitly `undefined` ones fall through. */
  static mergeOpts(boundOpts, opts) { return mergeOpts(boundOpts, opts); }
  static get domain() { return env('E2B_DOMAIN') || 'e2b.app'; }
  static get apiUrl() { return env('E2B_API_URL'); }
  static get sandboxUrl() { return env('E2B_SANDBOX_URL'); }
  static get debug() { return (env('E2B_DEBUG') || 'false').toLowerCase() === 'true'; }
  static get apiKey() { return env('E2B_API_KEY'); }
  /** Options, else environment variables, else defaults, field by field as officially. */
  constructor(opts) {
    const retries = opts?.retries ?? 3;
    if (!Number.isInteger(retries) || retries < 0) throw new InvalidArgumentError(`Invalid retries=${retries}: expected a non-negative integer.`);
    this.debug = opts?.debug ?? ConnectionConfig.debug;
    this.domain = opts?.domain || ConnectionConfig.domain;
    this.apiUrl = opts?.apiUrl || ConnectionConfig.apiUrl || (this.debug ? 'http://localhost:3000' : `https://api.${this.domain}`);
    this.sandboxUrl = opts?.sandboxUrl || ConnectionConfig.sandboxUrl;
    this.logger = opts?.logger;
    this.requestTimeoutMs = opts?.requestTimeoutMs ?? 60_000;
    this.retries = retries;
    this.apiKey = opts?.apiKey || ConnectionConfig.apiKey;
    this.validateApiKey = opts?.validateApiKey;
    this.headers = { ...opts?.headers, ...opts?.apiHeaders };
    this.requestSource = ConnectionConfig.getRequestSource();
    this.proxy = opts?.proxy;
    ConnectionConfig.applyUserAgent(this.headers, this.requestSource);
  }
  /** A signal that aborts after the request timeout (none for 0), or with `signal`, whichever comes first. */
  getSignal(requestTimeoutMs, signal) {
    const ms = requestTimeoutMs ?? this.requestTimeoutMs;
    const timeout = ms ? AbortSignal.timeout(ms) : undefined;
    return timeout && signal ? AbortSignal.any([timeout, signal]) : timeout ?? signal;
  }
  /** envd's base URL: outside browsers, E2B's own domains are reached through their shared `sandbox.` host. */
  getSandboxUrl(sandboxId, opts) {
    const sandboxDomain = opts.sandboxDomain ?? this.domain;
    if (!this.sandboxUrl && !this.debug && runtimeName() !== 'browser' && SHARED_HOST_DOMAINS.includes(sandboxDomain)) {
      return `https://sandbox.${sandboxDomain}`;
    }
    return this.getSandboxDirectUrl(sandboxId, opts);
  }
  getSandboxDirectUrl(sandboxId, opts) {
    return this.sandboxUrl || `${this.debug ? 'http' : 'https'}://${this.getHost(sandboxId, opts.envdPort, opts.sandboxDomain)}`;
  }
  getHost(sandboxId, port, sandboxDomain) { return this.debug ? `localhost:${port}` : `${port}-${sandboxId}.${sandboxDomain ?? this.domain}`; }
}

/** The CIDR that stands for every address in network rules (`denyOut: [ALL_TRAFFIC]`). */
export const ALL_TRAFFIC = '0.0.0.0/0';
/** Volume entry types (value export, like the official string enum). */
export const VolumeFileType = { UNKNOWN: 'unknown', FILE: 'file', DIRECTORY: 'directory', SYMLINK: 'symlink' };

const loadGit = () => import('./git.js');
const loadNetwork = () => import('./network.js');

/** `onResume` of `connect`: only `'restore'` and `'reboot'` (checked before any request). */
function checkOnResume(opts) {
  const onResume = opts?.onResume ?? undefined;
  if (onResume !== undefined && onResume !== 'restore' && onResume !== 'reboot') {
    throw new InvalidArgumentError(`onResume must be one of: restore, reboot (got ${JSON.stringify(onResume)}).`);
  }
}

// The API's JSON is shaped here rather than in the wasm, where each property read and write
// is an import call and a string constant.

/** The official `SandboxInfo` fields `list` and `getInfo` share, from the API's sandbox JSON. */
function sandboxInfo(v) {
  v ??= {};
  const info = { sandboxId: v.sandboxID, templateId: v.templateID };
  if (typeof v.alias === 'string' && v.alias) info.name = v.alias;
  return Object.assign(info, {
    metadata: v.metadata ?? {}, envdVersion: v.envdVersion, startedAt: new Date(v.startedAt), endAt: new Date(v.endAt),
    state: v.state, cpuCount: v.cpuCount, memoryMB: v.memoryMB, volumeMounts: v.volumeMounts ?? [],
  });
}

/** `getInfo`'s `SandboxInfo`: `null`s become `undefined` (the official `?? undefined`); `network` (in network.js) and `lifecycle` in the official shape. */
async function shapeInfo(v) {
  const info = sandboxInfo(v);
  for (const key of ['allowInternetAccess', 'network', 'lifecycle']) info[key] = v?.[key] ?? undefined;
  info.sandboxDomain = (typeof v?.domain === 'string' && v.domain) || undefined;
  const { network, lifecycle } = info;
  if (network) info.network = (await loadNetwork()).infoNetwork(network);
  if (lifecycle) info.lifecycle = { onTimeout: lifecycle.onTimeout, autoResume: lifecycle.autoResume };
  return info;
}

const METRICS = ['cpuUsedPct', 'cpuCount', 'memUsed', 'memTotal', 'memCache', 'diskUsed', 'diskTotal'];

/** The official `SandboxMetrics[]` from the API's JSON. */
const shapeMetrics = (list) => Array.from(list, (m) => {
  const out = { timestamp: new Date(m?.timestamp) };
  for (const key of METRICS) out[key] = m?.[key];
  return out;
});

const enc = encodeURIComponent;

/**
 * `Sandbox.list`'s query parameters in the official order and encoding: metadata pairs
 * `encodeURIComponent`-ed, form-encoded, then encoded once more as one parameter; states
 * comma-joined (comma raw); unset ones left out. Wrongly typed values are ignored.
 */
function listParams(opts) {
  const { query, order, limit } = opts ?? {};
  const { metadata, state, startedAfter, template } = query ?? {};
  const params = [];
  if (metadata instanceof Object) {
    const pairs = Object.entries(metadata).map(([k, v]) => [enc(k), enc(typeof v === 'string' ? v : '')]);
    params.push(['metadata', enc(new URLSearchParams(pairs).toString())]);
  }
  if (state != null) params.push(['state', Array.from(state).filter((s) => typeof s === 'string').map(enc).join(',')]);
  if (startedAfter instanceof Date) params.push(['startedAfter', enc(startedAfter.toISOString())]);
  if (typeof template === 'string' && template) params.push(['template', enc(template)]);
  if (typeof order === 'string') params.push(['order', enc(order)]);
  // As openapi-fetch sends any number: `String(limit)`, encoded (2.5 and 1e+21 stay what they are).
  if (typeof limit === 'number') params.push(['limit', enc(limit)]);
  return params;
}

/** What `Sandbox.list` returns: no request until `nextItems()`; each page's `x-next-token` decides `hasNext`. */
class SandboxPaginator {
  #opts; #params; #token; #hasNext = true;
  constructor(opts) {
    this.#opts = opts;
    this.#params = listParams(opts);
    if (typeof opts?.nextToken === 'string') this.#token = opts.nextToken;
  }
  get hasNext() { return this.#hasNext; }
  get nextToken() { return this.#token; }
  /** The next page; per-call options override the ones given to `list`. */
  async nextItems(opts) {
    if (!this.#hasNext) throw new Error('No more items to fetch');
    const params = this.#token === undefined ? this.#params : [...this.#params, ['nextToken', enc(this.#token)]];
    const path = `/v2/sandboxes${params.map(([k, v], i) => `${i ? '&' : '?'}${k}=${v}`).join('')}`;
    // The call's options over `list`'s; the signal is only ever the call's own.
    const pageOpts = { ...mergeOpts(this.#opts, opts), signal: opts?.signal };
    const [items, token] = await listSandboxesPage(new ConnectionConfig(pageOpts), pageOpts, path);
    this.#token = token;
    this.#hasNext = token !== undefined;
    return Array.from(items, sandboxInfo);
  }
}

/**
 * `sandbox.git` (deprecated officially: run git with `sandbox.commands.run()`): git commands
 * over `commands.run`. The methods live in git.js, loaded at the first call.
 */
export class Git {
  constructor(commands) { this.commands = commands; }
}
for (const name of [
  'clone', 'init', 'remoteAdd', 'remoteGet', 'status', 'branches', 'createBranch', 'checkoutBranch', 'deleteBranch',
  'add', 'commit', 'reset', 'restore', 'push', 'pull', 'setConfig', 'getConfig', 'dangerouslyAuthenticate',
  'configureUser', 'runGit', 'runShell', 'getRemoteUrl', 'resolveRemoteName', 'withRemoteCredentials', 'hasUpstream',
]) {
  const method = { async [name](...args) { return (await loadGit()).gitMethods[name].apply(this, args); } }[name];
  Object.defineProperty(Git.prototype, name, { value: method, writable: true, configurable: true });
}

/** A control-plane call's `[config, opts]`: the per-call options over the class's bound ones, resolved as officially. */
function apiCall(Class, opts) {
  const apiOpts = Class.resolveOpts(opts);
  return [new ConnectionConfig(apiOpts), apiOpts];
}

export class Sandbox extends ClientFactory {
  static defaultTemplate = 'base';
  static defaultMcpTemplate = 'mcp-gateway';

  #core;
  #envdVersion;

  /**
   * `{ sandboxId, sandboxDomain?, envdVersion, envdAccessToken?, trafficAccessToken?,
   * ...ConnectionOpts }`, as the official constructor takes them (subclasses call it);
   * `Sandbox.create` and `Sandbox.connect` are the usual way in.
   */
  constructor(opts) {
    super();
    const connectionConfig = new ConnectionConfig(opts);
    const sandboxDomain = opts.sandboxDomain ?? connectionConfig.domain;
    const where = { sandboxDomain, envdPort: ConnectionConfig.envdPort };
    const envdApiUrl = connectionConfig.getSandboxUrl(opts.sandboxId, where);
    const envdDirectUrl = connectionConfig.getSandboxDirectUrl(opts.sandboxId, where);
    // What the wasm's envd calls start from.
    const core = new SandboxCore({
      sandboxId: opts.sandboxId, envdVersion: opts.envdVersion, envdAccessToken: opts.envdAccessToken, envdApiUrl, envdDirectUrl,
      userAgent: connectionConfig.headers['User-Agent'], requestTimeoutMs: connectionConfig.requestTimeoutMs, logger: connectionConfig.logger,
    });
    this.#core = core;
    this.#envdVersion = opts.envdVersion;
    // Own properties in the official order.
    this.files = core.files();
    filesAccess.set(this.files, new FilesAccess({
      baseUrl: envdApiUrl, headers: core.envdHeaders(), version: typeof opts.envdVersion === 'string' ? opts.envdVersion : '',
      defaultUser: core.defaultUser(), requestTimeoutMs: connectionConfig.requestTimeoutMs, logger: connectionConfig.logger, core,
    }));
    this.commands = core.commands();
    this.pty = core.pty();
    this.git = new Git(this.commands);
    this.sandboxId = opts.sandboxId;
    this.connectionConfig = connectionConfig;
    this.sandboxDomain = sandboxDomain;
    this.trafficAccessToken = opts.trafficAccessToken;
    this.envdPort = ConnectionConfig.envdPort;
    this.mcpPort = 50005;
    this.envdAccessToken = opts.envdAccessToken;
    this.envdApiUrl = envdApiUrl;
    this.envdDirectUrl = envdDirectUrl;
    this.mcpToken = undefined;
  }

  static async create(templateOrOpts, opts) {
    const [template, sandboxOpts] = typeof templateOrOpts === 'string'
      ? [templateOrOpts, opts]
      : [templateOrOpts?.template ?? (templateOrOpts?.mcp ? this.defaultMcpTemplate : this.defaultTemplate), templateOrOpts];
    const apiOpts = this.resolveOpts(sandboxOpts);
    const config = new ConnectionConfig(apiOpts);
    const sandbox = new this({ ...(await this.createSandbox(template, apiOpts?.timeoutMs, apiOpts)), ...config });
    if (sandboxOpts?.mcp) await (await import('./mcp.js')).startMcpGateway(sandbox, sandboxOpts.mcp);
    return sandbox;
  }
  static async connect(sandboxId, opts) {
    const apiOpts = this.resolveOpts(opts);
    const config = new ConnectionConfig(apiOpts);
    // Debug mode has no API to ask (nor options to check).
    const fields = config.debug ? connectSandbox(config, apiOpts, sandboxId) : this.connectSandbox(sandboxId, apiOpts);
    return new this({ ...(await fields), ...config });
  }
  /** The `POST /v2/sandboxes` call of `create`: what the constructor needs to reach the sandbox. */
  static async createSandbox(template, timeoutMs, opts) {
    let bodyOpts = { ...opts, timeoutMs };
    if (opts?.network || opts?.iam) {
      const { iamBody, createNetworkBody } = await loadNetwork();
      const iam = iamBody(opts.iam);
      bodyOpts = { ...bodyOpts, iam, network: createNetworkBody(opts.network, iam) };
    }
    return createSandbox(new ConnectionConfig(opts), bodyOpts, template, timeoutMs);
  }
  /** The `POST /v2/sandboxes/{id}/connect` call of `connect`. */
  static async connectSandbox(sandboxId, opts) {
    const apiOpts = this.resolveOpts(opts);
    checkOnResume(apiOpts);
    return connectSandbox(new ConnectionConfig(apiOpts), apiOpts, sandboxId);
  }
  static list(opts) { return new SandboxPaginator(this.resolveOpts(opts)); }
  static async kill(sandboxId, opts) { return killSandbox(...apiCall(this, opts), sandboxId); }
  static async getInfo(sandboxId, opts) { return shapeInfo(await getSandboxInfo(...apiCall(this, opts), sandboxId)); }
  /** @deprecated Use `getInfo`. */
  static getFullInfo(sandboxId, opts) { return this.getInfo(sandboxId, opts); }
  static async updateNetwork(sandboxId, network, opts) {
    const body = (await loadNetwork()).updateNetworkBody(network);
    return updateSandboxNetwork(...apiCall(this, opts), sandboxId, body);
  }
  static async getMetrics(sandboxId, opts) { return shapeMetrics(await getSandboxMetrics(...apiCall(this, opts), sandboxId)); }
  static async setTimeout(sandboxId, timeoutMs, opts) { return setSandboxTimeout(...apiCall(this, opts), sandboxId, timeoutMs); }
  static async pause(sandboxId, opts) { return pauseSandbox(...apiCall(this, opts), sandboxId); }
  /** @deprecated Use `pause`. */
  static betaPause(sandboxId, opts) { return this.pause(sandboxId, opts); }

  // The calls on this sandbox are the static ones with its connection options under the call's.
  async connect(opts) {
    if (!this.connectionConfig.debug) await Sandbox.connectSandbox(this.sandboxId, this.resolveApiOpts(opts));
    return this;
  }
  kill(opts) { return Sandbox.kill(this.sandboxId, this.resolveApiOpts(opts)); }
  async setTimeout(timeoutMs, opts) {
    if (!this.connectionConfig.debug) await Sandbox.setTimeout(this.sandboxId, timeoutMs, this.resolveApiOpts(opts));
  }
  getInfo(opts) { return Sandbox.getInfo(this.sandboxId, this.resolveApiOpts(opts)); }
  updateNetwork(network, opts) { return Sandbox.updateNetwork(this.sandboxId, network, this.resolveApiOpts(opts)); }
  async getMetrics(opts) {
    if (this.connectionConfig.debug) return [];
    if (this.#envdVersion && versionNumber(this.#envdVersion) < versionNumber('0.1.5')) {
      throw new TemplateError('You need to update the template to use the new SDK.');
    }
    return Sandbox.getMetrics(this.sandboxId, this.resolveApiOpts(opts));
  }
  pause(opts) { return Sandbox.pause(this.sandboxId, this.resolveApiOpts(opts)); }
  /** @deprecated Use `pause`. */
  betaPause(opts) { return Sandbox.pause(this.sandboxId, this.resolveApiOpts(opts)); }
  isRunning(opts) { return this.#core.isRunning(opts); }
  getHost(port) { return this.connectionConfig.getHost(this.sandboxId, port, this.sandboxDomain); }
  uploadUrl(path, opts) { return this.#core.uploadUrl(path, opts); }
  downloadUrl(path, opts) { return this.#core.downloadUrl(path, opts); }
  getMcpUrl() { return `https://${this.getHost(this.mcpPort)}/mcp`; }
  async getMcpToken() {
    if (!this.mcpToken) this.mcpToken = await this.files.read('/etc/mcp-gateway/.token', { user: 'root' });
    return this.mcpToken;
  }
  /** This sandbox's connection options under the call's `opts`. */
  resolveApiOpts(opts) { return ConnectionConfig.mergeOpts(this.connectionConfig, opts); }
  /** The unsigned `/files` URL of `path` for `username`. */
  fileUrl(path, username) {
    const url = new URL('/files', this.envdDirectUrl);
    if (username) url.searchParams.set('username', username);
    if (path) url.searchParams.set('path', path);
    return url.toString();
  }
}

defineUnserved(Sandbox, 'Sandbox', 'fork forkSandbox createSnapshot listSnapshots deleteSnapshot', SandboxError, 'forks and snapshots');
defineUnserved(Sandbox.prototype, 'Sandbox', 'fork createSnapshot listSnapshots', SandboxError, 'forks and snapshots');

export default Sandbox;

