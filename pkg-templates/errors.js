// The official e2b error classes: same names, hierarchy and messages, so `instanceof`, `name`
// and `message` behave as users of the e2b package expect. Created from Rust via makeError.

export class SandboxError extends Error {
  constructor(message) {
    super(message);
    this.name = 'SandboxError';
    this.statusCode = undefined;
  }
}
export class TimeoutError extends SandboxError {
  constructor(message) { super(message); this.name = 'TimeoutError'; }
}
export class InvalidArgumentError extends SandboxError {
  constructor(message, stackTrace) {
    super(message);
    this.name = 'InvalidArgumentError';
    if (stackTrace) this.stack = stackTrace;
  }
}
export class NotEnoughSpaceError extends SandboxError {
  constructor(message) { super(message); this.name = 'NotEnoughSpaceError'; }
}
/** @deprecated use FileNotFoundError or SandboxNotFoundError */
export class NotFoundError extends SandboxError {
  constructor(message) { super(message); this.name = 'NotFoundError'; }
}
export class FileNotFoundError extends NotFoundError {
  constructor(message) { super(message); this.name = 'FileNotFoundError'; }
}
export class SandboxNotFoundError extends NotFoundError {
  constructor(message) { super(message); this.name = 'SandboxNotFoundError'; }
}
export class AuthenticationError extends Error {
  constructor(message) { super(message); this.name = 'AuthenticationError'; }
}
export class TemplateError extends SandboxError {
  constructor(message, stackTrace) {
    super(message);
    this.name = 'TemplateError';
    if (stackTrace) this.stack = stackTrace;
  }
}
export class RateLimitError extends SandboxError {
  constructor(message) { super(message); this.name = 'RateLimitError'; this.statusCode = 429; }
}
export class ServiceBusyError extends Error {
  constructor(message) { super(message); this.statusCode = 503; this.name = 'ServiceBusyError'; }
}
/** @deprecated like `sandbox.git`: run git with `sandbox.commands.run()`. */
export class GitAuthError extends AuthenticationError {
  constructor(message) { super(message); this.name = 'GitAuthError'; }
}
/** @deprecated like `sandbox.git`: run git with `sandbox.commands.run()`. */
export class GitUpstreamError extends SandboxError {
  constructor(message) { super(message); this.name = 'GitUpstreamError'; }
}
export class BuildError extends Error {
  constructor(message, stackTrace) {
    super(message);
    this.name = 'BuildError';
    if (stackTrace) this.stack = stackTrace;
  }
}
export class FileUploadError extends BuildError {
  constructor(message, stackTrace) { super(message, stackTrace); this.name = 'FileUploadError'; }
}
export class VolumeError extends Error {
  constructor(message) { super(message); this.name = 'VolumeError'; }
}
export class VolumeNotFoundError extends VolumeError {
  constructor(message) { super(message); this.name = 'VolumeNotFoundError'; }
}
export class VolumePathNotFoundError extends VolumeError {
  constructor(message) { super(message); this.name = 'VolumePathNotFoundError'; }
}
export class SecretError extends Error {
  constructor(message) { super(message); this.name = 'SecretError'; }
}
export class SecretNotFoundError extends SecretError {
  constructor(message) { super(message); this.name = 'SecretNotFoundError'; }
}

export class CommandExitError extends SandboxError {
  constructor(result) {
    super(result.error);
    this.result = result;
    this.name = 'CommandExitError';
  }
  get exitCode() { return this.result.exitCode; }
  get error() { return this.result.error; }
  get stdout() { return this.result.stdout; }
  get stderr() { return this.result.stderr; }
}

const classes = {
  Plain: Error, Sandbox: SandboxError, Timeout: TimeoutError, InvalidArgument: InvalidArgumentError,
  NotEnoughSpace: NotEnoughSpaceError, NotFound: NotFoundError, FileNotFound: FileNotFoundError,
  SandboxNotFound: SandboxNotFoundError, Authentication: AuthenticationError, Template: TemplateError, RateLimit: RateLimitError,
};

export function makeError(kind, message) {
  return new classes[kind](message);
}

export function makeCommandExitError(result) {
  return new CommandExitError(result);
}
