// Type declarations of e2b-wasm: the official `e2b` SDK's surface (sandbox lifecycle,
// commands, filesystem, PTY, errors). Hand-written because the JS classes are a facade over the wasm ones and
// several methods are overloaded.

export type Username = string;

export interface Logger {
  debug?: (...args: any[]) => void;
  info?: (...args: any[]) => void;
  warn?: (...args: any[]) => void;
  error?: (...args: any[]) => void;
}

export interface ConnectionOpts {
  apiKey?: string;
  /** Accepted for compatibility; keys are not validated client-side. */
  validateApiKey?: boolean;
  domain?: string;
  apiUrl?: string;
  sandboxUrl?: string;
  debug?: boolean;
  requestTimeoutMs?: number;
  /** Retries of a control-plane call answered 429 with `Retry-After` (default 3). */
  retries?: number;
  logger?: Logger;
  /** @deprecated use `apiHeaders` */
  headers?: Record<string, string>;
  apiHeaders?: Record<string, string>;
  /** Node-only in the official SDK; ignored here. */
  proxy?: string;
  signal?: AbortSignal;
}
/** @deprecated alias of ConnectionOpts */
export type ConnectionConfigOpts = ConnectionOpts;

export type SandboxState = 'running' | 'paused';
export type SandboxListOrder = 'asc' | 'desc';
export type SandboxOnTimeout = 'pause' | 'kill' | { action: 'pause'; keepMemory?: boolean } | { action: 'kill' };
export interface SandboxLifecycle {
  onTimeout: SandboxOnTimeout;
  autoResume?: boolean;
}
export interface SandboxInfoLifecycle {
  onTimeout: 'pause' | 'kill';
  autoResume: boolean;
}

export type SandboxNetworkTransform = { headers?: Record<string, string> };
/** What a transform callback sees: `iam.tokens.<name>` is the placeholder the egress proxy fills. */
export type SandboxNetworkTransformContext = { iam: { tokens: Record<string, string> } };
export type SandboxNetworkTransformResolver = (ctx: SandboxNetworkTransformContext) => SandboxNetworkTransform;
export type SandboxNetworkRule = { transform?: SandboxNetworkTransform | SandboxNetworkTransformResolver };
export type SandboxNetworkRules = Record<string, SandboxNetworkRule[]> | Map<string, SandboxNetworkRule[]>;
export type SandboxNetworkRuleInfo = { transform?: SandboxNetworkTransform };
export type SandboxNetworkSelectorContext = { allTraffic: string; rules: Map<string, SandboxNetworkRule[]> };
export type SandboxNetworkSelector = string[] | ((ctx: SandboxNetworkSelectorContext) => string[]);
export type SandboxEgressProxyOpts = { address: string; username?: string; password?: string };
export type SandboxEgressProxyInfo = { address: string; username?: string };
export type SandboxNetworkOpts = {
  allowOut?: SandboxNetworkSelector;
  denyOut?: SandboxNetworkSelector;
  rules?: SandboxNetworkRules;
  egressProxy?: SandboxEgressProxyOpts;
  allowPublicTraffic?: boolean;
  maskRequestHost?: string;
  httpsPorts?: number[];
};
export type SandboxNetworkInfo = {
  allowOut?: string[];
  denyOut?: string[];
  rules?: Record<string, SandboxNetworkRuleInfo[]>;
  egressProxy?: SandboxEgressProxyInfo;
  allowPublicTraffic?: boolean;
  maskRequestHost?: string;
  httpsPorts?: number[];
};
export type SandboxNetworkUpdate = {
  allowOut?: SandboxNetworkSelector;
  denyOut?: SandboxNetworkSelector;
  rules?: SandboxNetworkRules;
  egressProxy?: SandboxEgressProxyOpts;
  allowInternetAccess?: boolean;
};
export type SandboxIamTokenType = 'JWT-SVID' | (string & {});
export interface SandboxIamToken { audience: string; tokenType: SandboxIamTokenType }
export type SandboxIamOpts = { tokens?: Record<string, SandboxIamToken | undefined> };
export type SandboxOnResume = 'restore' | 'reboot';
export type McpServer = Record<string, unknown>;

export interface SandboxOpts extends ConnectionOpts {
  template?: string;
  timeoutMs?: number;
  metadata?: Record<string, string>;
  envs?: Record<string, string>;
  secure?: boolean;
  allowInternetAccess?: boolean;
  network?: SandboxNetworkOpts;
  /** Workload identity tokens the egress proxy can inject (see `network.rules`). */
  iam?: SandboxIamOpts;
  /** MCP servers for the gateway (the template defaults to `mcp-gateway`). */
  mcp?: McpServer;
  lifecycle?: SandboxLifecycle;
  volumeMounts?: Record<string, string | { name: string }>;
}
/** @deprecated use `SandboxOpts` with `lifecycle` */

export type SandboxApiOpts = Partial<
  Pick<ConnectionOpts, 'apiKey' | 'validateApiKey' | 'headers' | 'apiHeaders' | 'debug' | 'domain' | 'requestTimeoutMs' | 'retries' | 'signal'>
>;
export type SandboxConnectOpts = ConnectionOpts & { timeoutMs?: number; onResume?: SandboxOnResume };
export type SandboxListOpts = Omit<SandboxApiOpts, 'signal'> & {
  query?: { metadata?: Record<string, string>; state?: SandboxState[]; startedAfter?: Date; template?: string };
  order?: SandboxListOrder;
  limit?: number;
  nextToken?: string;
};
export type SandboxMetricsOpts = SandboxApiOpts & { start?: Date; end?: Date };
export type SandboxPauseOpts = SandboxApiOpts & { keepMemory?: boolean };
export interface SandboxUrlOpts {
  user?: Username;
  useSignatureExpiration?: number;
}

export interface SandboxInfo {
  sandboxId: string;
  templateId: string;
  name?: string;
  metadata: Record<string, string>;
  startedAt: Date;
  endAt: Date;
  state: SandboxState;
  cpuCount: number;
  memoryMB: number;
  envdVersion: string;
  sandboxDomain?: string;
  allowInternetAccess?: boolean;
  network?: SandboxNetworkInfo;
  lifecycle?: SandboxInfoLifecycle;
  volumeMounts: Array<{ name: string; path: string }>;
}

export interface SandboxMetrics {
  timestamp: Date;
  cpuUsedPct: number;
  cpuCount: number;
  memUsed: number;
  memTotal: number;
  memCache: number;
  diskUsed: number;
  diskTotal: number;
}

export interface SandboxPaginator {
  readonly hasNext: boolean;
  readonly nextToken: string | undefined;
  nextItems(opts?: SandboxApiOpts): Promise<SandboxInfo[]>;
}

export type CommandRequestOpts = Partial<Pick<ConnectionOpts, 'requestTimeoutMs' | 'signal'>>;
export interface CommandStartOpts extends CommandRequestOpts {
  background?: boolean;
  cwd?: string;
  user?: Username;
  envs?: Record<string, string>;
  onStdout?: (data: string) => void | Promise<void>;
  onStderr?: (data: string) => void | Promise<void>;
  stdin?: boolean;
  timeoutMs?: number;
}
export type CommandConnectOpts = Pick<CommandStartOpts, 'onStdout' | 'onStderr' | 'timeoutMs'> & CommandRequestOpts;

export interface CommandResult {
  exitCode: number;
  error?: string;
  stdout: string;
  stderr: string;
}
declare const brand: unique symbol;
/** `T` marked as the output of one stream, so stdout, stderr and PTY data cannot be mixed up. */
type Branded<T, B> = T & { [brand]: B };
export type Stdout = Branded<string, 'stdout'>;
export type Stderr = Branded<string, 'stderr'>;
export type PtyOutput = Branded<Uint8Array, 'pty'>;

export interface ProcessInfo {
  pid: number;
  tag?: string;
  cmd: string;
  args: string[];
  envs: Record<string, string>;
  cwd?: string;
}

export interface CommandHandle {
  readonly pid: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number | undefined;
  readonly error: string | undefined;
  wait(): Promise<CommandResult>;
  kill(): Promise<boolean>;
  disconnect(): Promise<void>;
  sendStdin(data: string | Uint8Array, opts?: CommandRequestOpts): Promise<void>;
  closeStdin(opts?: CommandRequestOpts): Promise<void>;
}

export interface Commands {
  /** Whether envd can close a process's stdin (0.5.2 and later). */
  readonly supportsStdinClose: boolean;
  run(cmd: string, opts?: CommandStartOpts & { background?: false }): Promise<CommandResult>;
  run(cmd: string, opts: CommandStartOpts & { background: true }): Promise<CommandHandle>;
  run(cmd: string, opts?: CommandStartOpts & { background?: boolean }): Promise<CommandHandle | CommandResult>;
  connect(pid: number, opts?: CommandConnectOpts): Promise<CommandHandle>;
  list(opts?: CommandRequestOpts): Promise<ProcessInfo[]>;
  kill(pid: number, opts?: CommandRequestOpts): Promise<boolean>;
  sendStdin(pid: number, data: string | Uint8Array, opts?: CommandRequestOpts): Promise<void>;
  closeStdin(pid: number, opts?: CommandRequestOpts): Promise<void>;
}

export declare const FileType: { readonly FILE: 'file'; readonly DIR: 'dir'; readonly SYMLINK: 'symlink' };
export type FileType = (typeof FileType)[keyof typeof FileType];
export declare const FilesystemEventType: {
  readonly CHMOD: 'chmod';
  readonly CREATE: 'create';
  readonly REMOVE: 'remove';
  readonly RENAME: 'rename';
  readonly WRITE: 'write';
};
export type FilesystemEventType = (typeof FilesystemEventType)[keyof typeof FilesystemEventType];

export interface WriteInfo {
  name: string;
  type?: FileType;
  /** Absolute path. */
  path: string;
  metadata?: Record<string, string>;
}
export interface EntryInfo extends WriteInfo {
  size: number;
  mode: number;
  permissions: string;
  owner: string;
  group: string;
  modifiedTime?: Date;
  symlinkTarget?: string;
}
export type WriteData = string | ArrayBuffer | ArrayBufferView | Blob | ReadableStream;
export interface WriteEntry {
  path: string;
  data: WriteData;
}
export interface FilesystemRequestOpts extends Partial<Pick<ConnectionOpts, 'requestTimeoutMs' | 'signal'>> {
  user?: Username;
}
export interface FilesystemReadOpts extends FilesystemRequestOpts {
  /** Ask for a gzip-encoded transfer (the runtime decompresses it). */
  gzip?: boolean;
  /** Accepted for compatibility; a `'stream'` read hands back the response body itself, so no idle timeout applies to it (abort `signal` or cancel the stream instead). */
  streamIdleTimeoutMs?: number;
}
export interface FilesystemWriteOpts extends FilesystemRequestOpts {
  gzip?: boolean;
  /**
   * `true`: one `application/octet-stream` request per file; `false`: one multipart request.
   * Unset: octet-stream for a single file and for streams the runtime can send as they are
   * read, multipart otherwise (envd before 0.5.7 always gets multipart).
   */
  useOctetStream?: boolean;
  metadata?: Record<string, string>;
}
export interface FilesystemListOpts extends FilesystemRequestOpts {
  /** Levels below `path` to list (default 1). */
  depth?: number;
}
export interface FilesystemEvent {
  /** Path relative to the watched directory. */
  name: string;
  type: FilesystemEventType;
  entry?: EntryInfo;
}
export interface WatchOpts extends FilesystemRequestOpts {
  /** Lifetime of the watch in ms (default 60 000, 0 = unlimited). */
  timeoutMs?: number;
  onExit?: (err?: Error) => void | Promise<void>;
  recursive?: boolean;
  includeEntry?: boolean;
  allowNetworkMounts?: boolean;
}
export interface WatchHandle {
  stop(): Promise<void>;
}

export interface Filesystem {
  read(path: string, opts?: FilesystemReadOpts & { format?: 'text' }): Promise<string>;
  read(path: string, opts: FilesystemReadOpts & { format: 'bytes' }): Promise<Uint8Array>;
  read(path: string, opts: FilesystemReadOpts & { format: 'blob' }): Promise<Blob>;
  read(path: string, opts: FilesystemReadOpts & { format: 'stream' }): Promise<ReadableStream<Uint8Array>>;
  write(path: string, data: WriteData, opts?: FilesystemWriteOpts): Promise<WriteInfo>;
  write(files: WriteEntry[], opts?: FilesystemWriteOpts): Promise<WriteInfo[]>;
  writeFiles(files: WriteEntry[], opts?: FilesystemWriteOpts): Promise<WriteInfo[]>;
  list(path: string, opts?: FilesystemListOpts): Promise<EntryInfo[]>;
  exists(path: string, opts?: FilesystemRequestOpts): Promise<boolean>;
  getInfo(path: string, opts?: FilesystemRequestOpts): Promise<EntryInfo>;
  remove(path: string, opts?: FilesystemRequestOpts): Promise<void>;
  rename(oldPath: string, newPath: string, opts?: FilesystemRequestOpts): Promise<EntryInfo>;
  makeDir(path: string, opts?: FilesystemRequestOpts): Promise<boolean>;
  watchDir(path: string, onEvent: (event: FilesystemEvent) => void | Promise<void>, opts?: WatchOpts): Promise<WatchHandle>;
}

export interface PtyCreateOpts extends Partial<Pick<ConnectionOpts, 'requestTimeoutMs' | 'signal'>> {
  cols: number;
  rows: number;
  onData: (data: Uint8Array) => void | Promise<void>;
  /** Lifetime of the terminal's stream in ms (default 60 000, 0 = unlimited). */
  timeoutMs?: number;
  user?: Username;
  envs?: Record<string, string>;
  cwd?: string;
}
export type PtyConnectOpts = Partial<Pick<PtyCreateOpts, 'onData' | 'timeoutMs'>> &
  Partial<Pick<ConnectionOpts, 'requestTimeoutMs' | 'signal'>>;
export interface Pty {
  create(opts: PtyCreateOpts): Promise<CommandHandle>;
  connect(pid: number, opts?: PtyConnectOpts): Promise<CommandHandle>;
  sendInput(pid: number, data: Uint8Array, opts?: Partial<Pick<ConnectionOpts, 'requestTimeoutMs' | 'signal'>>): Promise<void>;
  resize(pid: number, size: { cols: number; rows: number }, opts?: Partial<Pick<ConnectionOpts, 'requestTimeoutMs' | 'signal'>>): Promise<void>;
  kill(pid: number, opts?: Partial<Pick<ConnectionOpts, 'requestTimeoutMs' | 'signal'>>): Promise<boolean>;
}

export declare class Sandbox {
  protected static readonly defaultTemplate: string;
  protected static readonly defaultMcpTemplate: string;
  /** Options an `E2B` client binds to its subclass. */
  protected static readonly boundOpts?: Omit<ConnectionOpts, 'signal'>;
  readonly sandboxId: string;
  readonly sandboxDomain: string;
  readonly trafficAccessToken: string | undefined;
  readonly commands: Commands;
  readonly files: Filesystem;
  readonly pty: Pty;
  /** @deprecated officially too: run git with `sandbox.commands.run()`. */
  readonly git: Git;
  protected readonly envdPort: number;
  protected readonly mcpPort: number;
  protected readonly connectionConfig: ConnectionConfig;
  protected readonly envdAccessToken?: string;
  private readonly envdApiUrl;
  private readonly envdDirectUrl;
  private mcpToken?;
  /**
   * Attaches to the sandbox these fields describe (what `create`/`connect` pass it, with the
   * connection options); subclasses call it. Use `Sandbox.create` or `Sandbox.connect`.
   */
  constructor(opts: SandboxConnectOpts & {
    sandboxId: string;
    sandboxDomain?: string;
    envdVersion: string;
    envdAccessToken?: string;
    trafficAccessToken?: string;
  });
  protected static resolveOpts<T extends ConnectionOpts>(opts?: T): T | undefined;

  static create<S extends typeof Sandbox>(this: S, opts?: SandboxOpts): Promise<InstanceType<S>>;
  static create<S extends typeof Sandbox>(this: S, template: string, opts?: SandboxOpts): Promise<InstanceType<S>>;
  static connect<S extends typeof Sandbox>(this: S, sandboxId: string, opts?: SandboxConnectOpts): Promise<InstanceType<S>>;
  static list(opts?: SandboxListOpts): SandboxPaginator;
  static kill(sandboxId: string, opts?: SandboxApiOpts): Promise<boolean>;
  static getInfo(sandboxId: string, opts?: SandboxApiOpts): Promise<SandboxInfo>;
  /** @deprecated use `getInfo` */
  static getFullInfo(sandboxId: string, opts?: SandboxApiOpts): Promise<SandboxInfo>;
  static getMetrics(sandboxId: string, opts?: SandboxMetricsOpts): Promise<SandboxMetrics[]>;
  static setTimeout(sandboxId: string, timeoutMs: number, opts?: SandboxApiOpts): Promise<void>;
  static updateNetwork(sandboxId: string, network: SandboxNetworkUpdate, opts?: SandboxApiOpts): Promise<void>;
  protected static createSandbox(template: string, timeoutMs?: number, opts?: SandboxOpts): Promise<{
    sandboxId: string; sandboxDomain?: string; envdVersion: string; envdAccessToken?: string; trafficAccessToken?: string;
  }>;
  protected static connectSandbox(sandboxId: string, opts?: SandboxConnectOpts): Promise<{
    sandboxId: string; sandboxDomain?: string; envdVersion: string; envdAccessToken?: string; trafficAccessToken?: string;
  }>;
  /** Not implemented: the local sandboxd serves no forks (rejects with a `SandboxError`). */
  static fork(sandboxId: string, opts?: SandboxApiOpts): Promise<never>;
  /** Not implemented: the local sandboxd serves no snapshots (rejects with a `SandboxError`). */
  static createSnapshot(sandboxId: string, opts?: SandboxApiOpts): Promise<never>;
  static listSnapshots(opts?: SandboxApiOpts): Promise<never>;
  static deleteSnapshot(snapshotId: string, opts?: SandboxApiOpts): Promise<never>;
  static pause(sandboxId: string, opts?: SandboxPauseOpts): Promise<boolean>;
  /** @deprecated use `pause` */
  static betaPause(sandboxId: string, opts?: SandboxPauseOpts): Promise<boolean>;

  connect(opts?: SandboxConnectOpts): Promise<this>;
  kill(opts?: Pick<SandboxOpts, 'requestTimeoutMs' | 'signal'>): Promise<boolean>;
  setTimeout(timeoutMs: number, opts?: Pick<SandboxOpts, 'requestTimeoutMs' | 'signal'>): Promise<void>;
  getInfo(opts?: Pick<SandboxOpts, 'requestTimeoutMs' | 'signal'>): Promise<SandboxInfo>;
  getMetrics(opts?: SandboxMetricsOpts): Promise<SandboxMetrics[]>;
  pause(opts?: SandboxPauseOpts): Promise<boolean>;
  /** @deprecated use `pause` */
  betaPause(opts?: SandboxPauseOpts): Promise<boolean>;
  isRunning(opts?: Pick<ConnectionOpts, 'requestTimeoutMs' | 'signal'>): Promise<boolean>;
  updateNetwork(network: SandboxNetworkUpdate, opts?: SandboxApiOpts): Promise<void>;
  /** Not implemented: the local sandboxd serves no forks or snapshots. */
  fork(opts?: SandboxApiOpts): Promise<never>;
  createSnapshot(opts?: SandboxApiOpts): Promise<never>;
  listSnapshots(opts?: SandboxApiOpts): Promise<never>;
  getHost(port: number): string;
  uploadUrl(path?: string, opts?: SandboxUrlOpts): Promise<string>;
  downloadUrl(path: string, opts?: SandboxUrlOpts): Promise<string>;
  /** The MCP gateway's URL (sandboxes created with `mcp`). */
  getMcpUrl(): string;
  /** The MCP gateway's access token. */
  getMcpToken(): Promise<string | undefined>;
  private resolveApiOpts;
  private fileUrl;
}
export default Sandbox;

/** The resolved connection options (fields as the official class has them). */
export declare class ConnectionConfig {
  static envdPort: number;
  static integration?: string;
  static readonly sdkUserAgentPrefix = 'e2b-js-sdk/';
  static getRequestSource(): string | undefined;
  static buildUserAgent(requestSource?: string): string;
  static applyUserAgent(headers: Record<string, string>, requestSource?: string): void;
  /** Tags the `User-Agent` of configs made from now on with a wrapping package (`'name/version'`). */
  static setIntegration(integration: string | undefined): void;
  /** Per-call options over options bound to a class; explicitly `undefined` ones fall through. */
  static mergeOpts<T extends ConnectionOpts>(boundOpts: ConnectionOpts | undefined, opts?: T): T | undefined;
  static get domain(): string;
  static get apiUrl(): string | undefined;
  static get sandboxUrl(): string | undefined;
  static get debug(): boolean;
  static get apiKey(): string | undefined;
  readonly debug: boolean;
  readonly domain: string;
  readonly apiUrl: string;
  readonly sandboxUrl?: string;
  readonly logger?: Logger;
  readonly requestTimeoutMs: number;
  readonly retries: number;
  readonly apiKey?: string;
  readonly validateApiKey?: boolean;
  readonly headers?: Record<string, string>;
  readonly proxy?: string;
  /** `E2B_USER_AGENT_SOURCE`, when valid. */
  readonly requestSource?: string;
  constructor(opts?: ConnectionOpts);
  getSignal(requestTimeoutMs?: number, signal?: AbortSignal): AbortSignal | undefined;
  getSandboxUrl(sandboxId: string, opts: { sandboxDomain: string; envdPort: number }): string;
  getSandboxDirectUrl(sandboxId: string, opts: { sandboxDomain: string; envdPort: number }): string;
  getHost(sandboxId: string, port: number, sandboxDomain: string): string;
}

export declare function getSignature(opts: {
  path: string;
  operation: 'read' | 'write';
  user: string | undefined;
  expirationInSeconds?: number;
  envdAccessToken?: string;
}): Promise<{ signature: string; expiration: number | null }>;

export declare class SandboxError extends Error {
  constructor(message?: string);
  statusCode?: number;
}
export declare class TimeoutError extends SandboxError {}
export declare class InvalidArgumentError extends SandboxError {
  constructor(message?: string, stackTrace?: string);
}
export declare class NotEnoughSpaceError extends SandboxError {}
/** @deprecated use FileNotFoundError or SandboxNotFoundError */
export declare class NotFoundError extends SandboxError {}
export declare class FileNotFoundError extends NotFoundError {}
export declare class SandboxNotFoundError extends NotFoundError {}
export declare class AuthenticationError extends Error {
  constructor(message?: string);
}
export declare class TemplateError extends SandboxError {
  constructor(message?: string, stackTrace?: string);
}
export declare class RateLimitError extends SandboxError {}
export declare class ServiceBusyError extends Error {
  constructor(message?: string);
  readonly statusCode: 503;
}
export declare class GitAuthError extends AuthenticationError {}
export declare class GitUpstreamError extends SandboxError {}
export declare class BuildError extends Error {
  constructor(message?: string, stackTrace?: string);
}
export declare class FileUploadError extends BuildError {}
export declare class VolumeError extends Error {
  constructor(message?: string);
}
export declare class VolumeNotFoundError extends VolumeError {}
export declare class VolumePathNotFoundError extends VolumeError {}
export declare class SecretError extends Error {
  constructor(message?: string);
}
export declare class SecretNotFoundError extends SecretError {}
export declare class CommandExitError extends SandboxError implements CommandResult {
  constructor(result: CommandResult);
  readonly exitCode: number;
  readonly error: string | undefined;
  readonly stdout: string;
  readonly stderr: string;
}

/** `'0.0.0.0/0'`: every address, for `allowOut`/`denyOut`. */
export declare const ALL_TRAFFIC: '0.0.0.0/0';
export declare const VolumeFileType: { readonly UNKNOWN: 'unknown'; readonly FILE: 'file'; readonly DIRECTORY: 'directory'; readonly SYMLINK: 'symlink' };
export type VolumeFileType = (typeof VolumeFileType)[keyof typeof VolumeFileType];

export type GitRequestOpts = Partial<Pick<CommandStartOpts, 'envs' | 'user' | 'cwd' | 'timeoutMs' | 'requestTimeoutMs'>>;
export type GitCloneOpts = GitRequestOpts & { path?: string; branch?: string; depth?: number; username?: string; password?: string; dangerouslyStoreCredentials?: boolean };
export type GitInitOpts = GitRequestOpts & { bare?: boolean; initialBranch?: string };
export type GitRemoteAddOpts = GitRequestOpts & { fetch?: boolean; overwrite?: boolean };
export type GitDeleteBranchOpts = GitRequestOpts & { force?: boolean };
export type GitAddOpts = GitRequestOpts & { files?: string[]; all?: boolean };
export type GitCommitOpts = GitRequestOpts & { authorName?: string; authorEmail?: string; allowEmpty?: boolean };
export type GitResetMode = 'soft' | 'mixed' | 'hard' | 'merge' | 'keep';
export type GitResetOpts = GitRequestOpts & { mode?: GitResetMode; target?: string; paths?: string[] };
export type GitRestoreOpts = GitRequestOpts & { paths: string[]; staged?: boolean; worktree?: boolean; source?: string };
export type GitPushOpts = GitRequestOpts & { remote?: string; branch?: string; setUpstream?: boolean; username?: string; password?: string };
export type GitPullOpts = GitRequestOpts & { remote?: string; branch?: string; username?: string; password?: string };
export type GitConfigScope = 'global' | 'local' | 'system';
export type GitConfigOpts = GitRequestOpts & { scope?: GitConfigScope; path?: string };
export type GitDangerouslyAuthenticateOpts = GitRequestOpts & { username: string; password: string; host?: string; protocol?: string };
export type GitStatusLabel = 'conflict' | 'renamed' | 'copied' | 'deleted' | 'added' | 'modified' | 'typechange' | 'untracked' | 'unknown';
export interface GitFileStatus { name: string; status: GitStatusLabel; indexStatus: string; workingTreeStatus: string; staged: boolean; renamedFrom?: string }
export interface GitStatus {
  currentBranch?: string; upstream?: string; ahead: number; behind: number; detached: boolean; fileStatus: GitFileStatus[];
  isClean: boolean; hasChanges: boolean; hasStaged: boolean; hasUntracked: boolean; hasConflicts: boolean;
  totalCount: number; stagedCount: number; unstagedCount: number; untrackedCount: number; conflictCount: number;
}
export interface GitBranches { branches: string[]; currentBranch?: string }
/** `sandbox.git` (deprecated officially too: run git with `sandbox.commands.run()`). */
export declare class Git {
  constructor(commands: Commands);
  clone(url: string, opts?: GitCloneOpts): Promise<CommandResult>;
  init(path: string, opts?: GitInitOpts): Promise<CommandResult>;
  remoteAdd(path: string, name: string, url: string, opts?: GitRemoteAddOpts): Promise<CommandResult>;
  remoteGet(path: string, name: string, opts?: GitRequestOpts): Promise<string | undefined>;
  status(path: string, opts?: GitRequestOpts): Promise<GitStatus>;
  branches(path: string, opts?: GitRequestOpts): Promise<GitBranches>;
  createBranch(path: string, branch: string, opts?: GitRequestOpts): Promise<CommandResult>;
  checkoutBranch(path: string, branch: string, opts?: GitRequestOpts): Promise<CommandResult>;
  deleteBranch(path: string, branch: string, opts?: GitDeleteBranchOpts): Promise<CommandResult>;
  add(path: string, opts?: GitAddOpts): Promise<CommandResult>;
  commit(path: string, message: string, opts?: GitCommitOpts): Promise<CommandResult>;
  reset(path: string, opts?: GitResetOpts): Promise<CommandResult>;
  restore(path: string, opts: GitRestoreOpts): Promise<CommandResult>;
  push(path: string, opts?: GitPushOpts): Promise<CommandResult>;
  pull(path: string, opts?: GitPullOpts): Promise<CommandResult>;
  setConfig(key: string, value: string, opts?: GitConfigOpts): Promise<CommandResult>;
  getConfig(key: string, opts?: GitConfigOpts): Promise<string | undefined>;
  dangerouslyAuthenticate(opts: GitDangerouslyAuthenticateOpts): Promise<CommandResult>;
  configureUser(name: string, email: string, opts?: GitConfigOpts): Promise<CommandResult>;
  private runGit;
  private runShell;
  private getRemoteUrl;
  private resolveRemoteName;
  private withRemoteCredentials;
  private hasUpstream;
}

/** A template's ready command. */
export declare class ReadyCmd {
  constructor(cmd: string);
  getCmd(): string;
}
export declare function waitForPort(port: number): ReadyCmd;
export declare function waitForURL(url: string, statusCode?: number): ReadyCmd;
export declare function waitForProcess(processName: string): ReadyCmd;
export declare function waitForFile(filename: string): ReadyCmd;
export declare function waitForTimeout(timeout: number): ReadyCmd;
export type LogEntryLevel = 'debug' | 'info' | 'warn' | 'error';
export declare class LogEntry {
  readonly timestamp: Date;
  readonly level: LogEntryLevel;
  readonly message: string;
  constructor(timestamp: Date, level: LogEntryLevel, message: string);
  toString(): string;
}
export declare class LogEntryStart extends LogEntry {
  constructor(timestamp: Date, message: string);
}
export declare class LogEntryEnd extends LogEntry {
  constructor(timestamp: Date, message: string);
}
/** Prints build log entries at `minLevel` (default `info`) or above, one line each. */
export declare function defaultBuildLogger(options?: { minLevel?: LogEntryLevel }): (logEntry: LogEntry) => void;

/**
 * Not implemented by e2b-wasm: the local sandboxd serves no volumes. Every member of e2b's
 * class exists and rejects with a `VolumeError` saying so.
 */
export declare class Volume {
  protected static readonly boundOpts?: Omit<ConnectionOpts, 'signal'>;
  static create(name: string, opts?: SandboxApiOpts): Promise<never>;
  static connect(volumeId: string, opts?: SandboxApiOpts): Promise<never>;
  static getInfo(volumeId: string, opts?: SandboxApiOpts): Promise<never>;
  static list(opts?: SandboxApiOpts): Promise<never>;
  static destroy(volumeId: string, opts?: SandboxApiOpts): Promise<never>;
  list(path: string, opts?: SandboxApiOpts): Promise<never>;
  makeDir(path: string, opts?: SandboxApiOpts): Promise<never>;
  getInfo(path: string, opts?: SandboxApiOpts): Promise<never>;
  exists(path: string, opts?: SandboxApiOpts): Promise<never>;
  updateMetadata(path: string, opts?: SandboxApiOpts): Promise<never>;
  readFile(path: string, opts?: SandboxApiOpts): Promise<never>;
  writeFile(path: string, data: unknown, opts?: SandboxApiOpts): Promise<never>;
  remove(path: string, opts?: SandboxApiOpts): Promise<never>;
}
/** Not implemented (no secrets in the local sandboxd) but `iamToken`; the rest rejects with a `SecretError`. */
export declare class Secret {
  protected static readonly boundOpts?: Omit<ConnectionOpts, 'signal'>;
  static iamToken(token: SandboxIamToken): SandboxIamToken;
  static create(...args: unknown[]): Promise<never>;
  static update(...args: unknown[]): Promise<never>;
  static getInfo(...args: unknown[]): Promise<never>;
  static list(...args: unknown[]): Promise<never>;
  static exists(...args: unknown[]): Promise<never>;
  static destroy(...args: unknown[]): Promise<never>;
  static fill(...args: unknown[]): Promise<never>;
}
export declare class SecretPaginator {
  readonly hasNext: boolean;
  readonly nextToken: string | undefined;
  nextItems(): Promise<never>;
}
/**
 * Not implemented: the local sandboxd builds no templates. Every member of e2b's builder exists
 * and rejects with a `BuildError` saying so.
 */
export declare class TemplateBase {
  protected static readonly boundOpts?: Omit<ConnectionOpts, 'signal'>;
  static build(...args: unknown[]): Promise<never>;
  static buildInBackground(...args: unknown[]): Promise<never>;
  static getBuildStatus(...args: unknown[]): Promise<never>;
  static exists(...args: unknown[]): Promise<never>;
  static aliasExists(...args: unknown[]): Promise<never>;
  static assignTags(...args: unknown[]): Promise<never>;
  static removeTags(...args: unknown[]): Promise<never>;
  static getTags(...args: unknown[]): Promise<never>;
  static toJSON(...args: unknown[]): Promise<never>;
  static toDockerfile(...args: unknown[]): Promise<never>;
  [builderStep: string]: unknown;
}
/** `TemplateBase`, also callable without `new` (`Template()`). */
export declare const Template: typeof TemplateBase & (() => TemplateBase);

/** The control plane's REST client; e2b-wasm's own calls are made by the wasm, so `api` is unset. */
export declare class ApiClient {
  readonly api: undefined;
  constructor(config: ConnectionConfig, opts?: { requireApiKey?: boolean });
}
/** A client whose resource classes have `opts` bound (per-call options still win). */
export declare class E2B {
  readonly Sandbox: typeof Sandbox;
  readonly Volume: typeof Volume;
  readonly Template: typeof Template;
  readonly Secret: typeof Secret;
  constructor(opts?: Omit<ConnectionOpts, 'signal'>);
}
