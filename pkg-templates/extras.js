// The rest of e2b 2.51's exports, around templates, volumes and secrets: the ready commands and
// build-log helpers work as officially; Template, Volume and Secret have every member of e2b's
// classes but reject, since the local sandboxd serves no template builds, volumes or secrets.
// A module of its own, free of side effects, so bundlers leave it out of `import { Sandbox }`.
import { BuildError, VolumeError, SecretError } from '%ERRORS_MODULE%';

import { requireApiKey } from './api.js';
import { ClientFactory, defineUnserved, shellQuote } from './internal.js';
import { Sandbox } from './sandbox.js';

/** A template's ready command (`Template().setReadyCmd(...)`). */
export class ReadyCmd {
  constructor(cmd) { this.cmd = cmd; }
  getCmd() { return this.cmd; }
}
export const waitForPort = (port) => new ReadyCmd(`[ -n "$(ss -Htuln sport = :${port})" ]`);
export const waitForURL = (url, statusCode = 200) => new ReadyCmd(`curl -s -o /dev/null -w "%{http_code}" ${shellQuote(url)} | grep -q "${statusCode}"`);
export const waitForProcess = (processName) => new ReadyCmd(`pgrep ${shellQuote(processName)} > /dev/null`);
export const waitForFile = (filename) => new ReadyCmd(`[ -f ${shellQuote(filename)} ]`);
export const waitForTimeout = (timeout) => new ReadyCmd(`sleep ${Math.max(1, Math.floor(timeout / 1000))}`);

// ANSI escape sequences (colours, cursor moves) that build logs carry.
const ANSI = /[\u001B\u009B][[\]()#;?]*(?:(?:(?:;[-a-zA-Z\d/#&.:=?%@~_]+)*|[a-zA-Z\d]+(?:;[-a-zA-Z\d/#&.:=?%@~_]*)*)?\u0007|(?:\d{1,4}(?:;\d{0,4})*)?[\dA-PR-TZcf-nq-uy=><~])/g;
/** One line of a template build's log. */
export class LogEntry {
  constructor(timestamp, level, message) {
    this.timestamp = timestamp;
    this.level = level;
    this.message = message.replace(ANSI, '');
  }
  toString() { return `[${this.timestamp.toISOString()}] [${this.level}] ${this.message}`; }
}
export class LogEntryStart extends LogEntry {
  constructor(timestamp, message) { super(timestamp, 'debug', message); }
}
export class LogEntryEnd extends LogEntry {
  constructor(timestamp, message) { super(timestamp, 'debug', message); }
}
const LOG_LEVELS = ['debug', 'info', 'warn', 'error'];
/** A build log printer: entries at `minLevel` (default `info`) or above, one line each. */
export function defaultBuildLogger(options) {
  const min = LOG_LEVELS.indexOf(options?.minLevel ?? 'info');
  return (entry) => {
    if (!(entry instanceof LogEntryStart || entry instanceof LogEntryEnd) && LOG_LEVELS.indexOf(entry.level) >= min) console.log(entry.toString());
  };
}

/**
 * A class whose calls the local sandboxd cannot serve, so e2b-wasm does not implement them:
 * every member of e2b's class exists and rejects with `Failure` saying so.
 */
function unserved(name, Base, Failure, what, statics, methods) {
  const cls = { [name]: class extends Base {} }[name];
  defineUnserved(cls, name, statics, Failure, what);
  defineUnserved(cls.prototype, name, methods, Failure, what);
  return cls;
}
export const Volume = /* @__PURE__ */ unserved('Volume', ClientFactory, VolumeError, 'volumes', 'create connect getInfo list destroy',
  'list makeDir getInfo exists updateMetadata readFile writeFile remove');
export const Secret = /* @__PURE__ */ unserved('Secret', class extends ClientFactory {
  /** An IAM token to register with `Sandbox.create({ iam: { tokens } })`. */
  static iamToken(token) { return { ...token }; }
}, SecretError, 'secrets', 'create update getInfo list exists destroy fill', '');
export const SecretPaginator = /* @__PURE__ */ unserved('SecretPaginator', class {
  get hasNext() { return false; }
  get nextToken() { return undefined; }
  updatePagination() {}
}, SecretError, 'secrets', '', 'nextItems');
export const TemplateBase = /* @__PURE__ */ unserved('TemplateBase', ClientFactory, BuildError, 'template builds',
  'toJSON toDockerfile build buildInBackground getBuildStatus exists aliasExists assignTags removeTags getTags',
  'fromDebianImage fromUbuntuImage fromFedoraImage fromAlpineImage fromArchImage fromPythonImage fromNodeImage fromBunImage '
  + 'fromBaseImage fromImage fromTemplate fromDockerfile fromAWSRegistry fromGCPRegistry copy copyItems remove rename makeDir '
  + 'makeSymlink runCmd setWorkdir setUser pipInstall npmInstall bunInstall aptInstall addMcpServer gitClone setStartCmd '
  + 'setReadyCmd setEnvs skipCache betaDevContainerPrebuild betaSetDevContainerStart collectStackTrace toJSON toDockerfile '
  + 'build instructionsWithHashes serialize');

/** `cls` callable without `new` (`Template()`), its statics bound to it, as e2b's `Template`. */
function callableTemplate(cls) {
  return new Proxy(cls, {
    apply: (target, _thisArg, args) => new target(...args),
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      return prop === 'prototype' || typeof value !== 'function' ? value : value.bind(target);
    },
  });
}
export const Template = /* @__PURE__ */ callableTemplate(TemplateBase);

/** The REST client of the control plane; e2b-wasm makes its calls in api.js, so `api` is unset. */
export class ApiClient {
  constructor(config, opts = {}) {
    if (opts.requireApiKey ?? true) requireApiKey(config);
    this.api = undefined;
  }
}

/** A client whose `Sandbox`, `Volume`, `Secret` and `Template` have `opts` bound. */
export class E2B {
  constructor(opts) {
    const boundOpts = { ...opts };
    delete boundOpts.signal;
    const bind = (Base) => class extends Base { static boundOpts = boundOpts; };
    this.Sandbox = bind(Sandbox);
    this.Volume = bind(Volume);
    this.Template = callableTemplate(bind(TemplateBase));
    this.Secret = bind(Secret);
  }
}
