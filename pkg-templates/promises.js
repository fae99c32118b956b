// Promise and abort plumbing for the wasm: things that need a JS callback and would otherwise
// each cost a Rust closure type.

/** Marks a promise whose outcome nobody needs as handled (no unhandled-rejection report). */
export function ignoreOutcome(promise) {
  promise.catch(() => {});
}

/** Resolves after `ms`; rejects with the signal's reason as soon as it aborts. */
export function sleep(ms, signal) {
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

/** Aborts `controller` with `signal`'s reason once `signal` aborts. */
export function followAbort(signal, controller) {
  if (signal.aborted) controller.abort(signal.reason);
  else signal.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
}

// The reason a deadline aborts with: one object, so that `isDeadline` can tell it from any other.
const deadline = new DOMException('This operation was aborted', 'AbortError');

/**
 * Aborts `controller` after `ms` (unless it already was): `kind` 0 is a request timeout, with the
 * reason `AbortSignal.timeout()` gives; 1 a stream's handshake timeout; 2 a stream's deadline.
 * Returns the timer's id. The reason is made when the timer fires, not for every call.
 */
export function abortAfter(controller, ms, kind) {
  return setTimeout(() => {
    if (controller.signal.aborted) return;
    if (kind === 2) controller.abort(deadline);
    else {
      const message = kind === 0 ? 'The operation was aborted due to timeout' : `Request handshake timed out after ${Math.trunc(ms)}ms`;
      controller.abort(new DOMException(message, 'TimeoutError'));
    }
  }, ms);
}

/** Whether `signal` was aborted by a deadline of `abortAfter`. */
export function isDeadline(signal) {
  return signal.reason === deadline;
}

const readBody = [(r) => r.text(), (r) => r.arrayBuffer().then((b) => new Uint8Array(b)), (r) => r.blob()];
const failed = (failure) => [null, failure];

/**
 * One request of a call: `fetch` is called now (so it has taken a buffer body before the caller's
 * next statement), then the body is read whole as `read` says (0 text, 1 bytes, 2 Blob, 3 not at
 * all). Resolves with `[response, body]`, or `[null, failure]` when `fetch` threw or rejected or
 * the read failed: it never rejects.
 */
export function exchange(url, method, headers, signal, body, read) {
  // Edge runtimes reject `redirect: 'error'`; the official SDK follows redirects too.
  const init = { method, headers, signal, redirect: 'follow' };
  if (body !== undefined) {
    init.body = body;
    // A stream body is sent as it is read; fetch requires saying so.
    if (body instanceof ReadableStream) init.duplex = 'half';
  }
  let response;
  try {
    response = fetch(url, init);
  } catch (failure) {
    return Promise.resolve(failed(failure));
  }
  const reader = readBody[read];
  return response.then((r) => (reader ? reader(r).then((b) => [r, b]) : [r, undefined]), failed).catch(failed);
}

/** `promise.then(f)` (a rejection passes through). */
export function after(promise, f) {
  return promise.then(f);
}

/** Aborts `controller` with `signal`'s reason when `signal` aborts, until the returned function is called. */
export function linkAbort(signal, controller) {
  const onAbort = () => {
    if (!controller.signal.aborted) controller.abort(signal.reason);
  };
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort);
  return () => signal.removeEventListener('abort', onAbort);
}
