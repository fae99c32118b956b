// JS helpers of the wasm's calls: promise and abort plumbing (each would cost a Rust closure
// type), and what every call builds (its request, entries), cheaper in one call from the wasm.

/** Marks a promise whose outcome nobody needs as handled (no unhandled-rejection report). */
export function ignoreOutcome(promise) {
  promise.catch(() => {});
}

/** `[promise, settle]`: `settle(value, true)` resolves the promise, `settle(reason, false)` rejects it. */
export function deferred() {
  let settle;
  const promise = new Promise((resolve, reject) => {
    settle = (value, ok) => (ok ? resolve : reject)(value);
  });
  return [promise, settle];
}

// The wasm's one continuation function (transport/task.rs): `resume(id, value, ok)` runs what
// waits under `id` and returns (or throws) what settles the promise `resumeOn` returned.
let resume;

/** Installs the wasm's continuation function, once. */
export function setResume(f) {
  resume = f;
}

/** `resume(id, value, true)` when `promise` fulfils, `resume(id, reason, false)` when it rejects. */
export function resumeOn(promise, id) {
  return promise.then((value) => resume(id, value, true), (reason) => resume(id, reason, false));
}

/**
 * Aborts `controller` after `ms`, unless it already was, as a request timeout (`kind` 0, the
 * reason of `AbortSignal.timeout()`), a stream's handshake timeout (1) or its deadline (2, which
 * marks the controller `deadline`). Returns the timer's id; the reason is made only if it fires.
 */
export function abortAfter(controller, ms, kind) {
  return setTimeout(() => {
    if (controller.signal.aborted) return;
    if (kind === 2) {
      controller.deadline = true;
      controller.abort();
    } else {
      const message = kind === 0 ? 'The operation was aborted due to timeout' : `Request handshake timed out after ${Math.trunc(ms)}ms`;
      controller.abort(new DOMException(message, 'TimeoutError'));
    }
  }, ms);
}

/**
 * One request: `fetch` is called now (taking a buffer body before the caller's next statement),
 * then the body read as `read` says (0 text, 1 bytes, 2 not at all). Resolves with
 * `[response, body]`, or `[null, failure]` when anything failed; never rejects.
 */
export async function exchange(url, method, headers, signal, body, read) {
  // Redirects are followed (the default), as officially. An `undefined` body is none.
  try {
    const r = await fetch(url, { method, headers, signal, body });
    if (read === 2) return [r];
    return [r, read === 0 ? await r.text() : new Uint8Array(await r.arrayBuffer())];
  } catch (failure) {
    return [null, failure];
  }
}

/** Aborts `controller` with `signal`'s reason when `signal` aborts, until the returned function runs. */
export function linkAbort(signal, controller) {
  // Aborting an aborted controller does nothing.
  const onAbort = () => controller.abort(signal.reason);
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort);
  return () => signal.removeEventListener('abort', onAbort);
}

// By envd's `FileType` number; unspecified is `undefined`.
const TYPES = [, 'file', 'dir', 'symlink'];

/** The official `EntryInfo` (`modifiedMs` becomes a `Date`; absent values stay `undefined`). */
export function entryInfo(name, type, path, size, mode, permissions, owner, group, modifiedMs, symlinkTarget, metadata) {
  return {
    name, type: TYPES[type], path, size, mode, permissions, owner, group,
    modifiedTime: modifiedMs === undefined ? undefined : new Date(modifiedMs), symlinkTarget, metadata,
  };
}
