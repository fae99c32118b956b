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
