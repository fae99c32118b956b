// The public classes. `Sandbox` is a thin JS class over the wasm `SandboxCore` so that static
// factories return instances of the subclass they are called on (`new this(...)`); every
// method forwards to Rust. Nothing here runs wasm at import time, so entries can initialise
// the module after this file is evaluated.
import {
  SandboxCore, getSignature, resolveConnectionConfig, connectionSandboxUrl, connectionHost, connectionSignal,
} from './e2b_wasm.js';

export {
  SandboxError, TimeoutError, InvalidArgumentError, NotEnoughSpaceError, NotFoundError,
  FileNotFoundError, SandboxNotFoundError, AuthenticationError, TemplateError, RateLimitError,
  ServiceBusyError, CommandExitError,
} from '%ERRORS_MODULE%';
export { getSignature };

/** Filesystem entry types (value export, like the official string enum). */
export const FileType = { FILE: 'file', DIR: 'dir', SYMLINK: 'symlink' };
/** Filesystem event types (value export, like the official string enum). */
export const FilesystemEventType = { CHMOD: 'chmod', CREATE: 'create', REMOVE: 'remove', RENAME: 'rename', WRITE: 'write' };

/** The resolved connection options; its fields are own properties, as in the official SDK. */
export class ConnectionConfig {
  static envdPort = 49983;
  constructor(opts) { Object.assign(this, resolveConnectionConfig(opts)); }
  getSignal(requestTimeoutMs, signal) { return connectionSignal(requestTimeoutMs ?? this.requestTimeoutMs, signal); }
  getSandboxUrl(sandboxId, opts) { return connectionSandboxUrl(this, sandboxId, opts, false); }
  getSandboxDirectUrl(sandboxId, opts) { return connectionSandboxUrl(this, sandboxId, opts, true); }
  getHost(sandboxId, port, sandboxDomain) { return connectionHost(this, sandboxId, port, sandboxDomain); }
}

export class Sandbox {
  static defaultTemplate = 'base';
  static defaultMcpTemplate = 'mcp-gateway';
  static defaultSandboxTimeoutMs = 300_000;

  #core;

  /** @hidden Use `Sandbox.create` or `Sandbox.connect`. */
  constructor(core) {
    this.#core = core;
    this.sandboxId = core.sandboxId;
    this.sandboxDomain = core.sandboxDomain;
    this.trafficAccessToken = core.trafficAccessToken;
    this.envdPort = 49983;
    this.mcpPort = 50005;
    this.commands = core.commands();
    this.files = core.files();
    this.pty = core.pty();
  }

  static async create(templateOrOpts, opts) {
    return new this(await SandboxCore.create(templateOrOpts, opts, this.defaultTemplate, this.defaultMcpTemplate));
  }
  /** @deprecated Use `create({ lifecycle: { onTimeout: 'pause' } })`. */
  static async betaCreate(templateOrOpts, opts) {
    return this.create(templateOrOpts, opts);
  }
  static async connect(sandboxId, opts) {
    return new this(await SandboxCore.connect(sandboxId, opts));
  }
  static list(opts) { return SandboxCore.list(opts); }
  static kill(sandboxId, opts) { return SandboxCore.kill(sandboxId, opts); }
  static getInfo(sandboxId, opts) { return SandboxCore.getInfo(sandboxId, opts); }
  /** @deprecated Use `getInfo`. */
  static getFullInfo(sandboxId, opts) { return SandboxCore.getInfo(sandboxId, opts); }
  static getMetrics(sandboxId, opts) { return SandboxCore.getMetrics(sandboxId, opts); }
  static setTimeout(sandboxId, timeoutMs, opts) { return SandboxCore.setTimeout(sandboxId, timeoutMs, opts); }
  static pause(sandboxId, opts) { return SandboxCore.pause(sandboxId, opts); }
  /** @deprecated Use `pause`. */
  static betaPause(sandboxId, opts) { return SandboxCore.pause(sandboxId, opts); }

  async connect(opts) { await this.#core.connectSelf(opts); return this; }
  kill(opts) { return this.#core.killSelf(opts); }
  setTimeout(timeoutMs, opts) { return this.#core.setTimeoutSelf(timeoutMs, opts); }
  getInfo(opts) { return this.#core.getInfoSelf(opts); }
  getMetrics(opts) { return this.#core.getMetricsSelf(opts); }
  pause(opts) { return this.#core.pauseSelf(opts); }
  /** @deprecated Use `pause`. */
  betaPause(opts) { return this.#core.pauseSelf(opts); }
  isRunning(opts) { return this.#core.isRunning(opts); }
  getHost(port) { return this.#core.getHost(port); }
  uploadUrl(path, opts) { return this.#core.uploadUrl(path, opts); }
  downloadUrl(path, opts) { return this.#core.downloadUrl(path, opts); }
}

export default Sandbox;
