// Upload bodies for `files.write` (files.js). File contents stay JavaScript objects from the caller
// to `fetch`: nothing here copies them into wasm memory. Values made by another realm or a
// polyfill are recognised by what they are, not by `instanceof` alone.

const tag = (v) => Object.prototype.toString.call(v).slice(8, -1);

/** A `ReadableStream`, native or not. */
export function isStream(v) {
  return v instanceof ReadableStream
    || (typeof v === 'object' && v !== null && typeof v.getReader === 'function' && typeof v.tee === 'function' && typeof v.cancel === 'function');
}

/** A stream `fetch` and `pipeThrough` accept: a foreign stream is pumped through a native one. */
function nativeStream(stream) {
  if (stream instanceof ReadableStream) return stream;
  const reader = stream.getReader();
  return new ReadableStream({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

/** The data as a `Blob`: a Blob as it is, a stream buffered by the runtime, anything else wrapped. */
async function toBlob(data) {
  if (data instanceof Blob) return data;
  if (isStream(data)) return new Response(nativeStream(data)).blob();
  if ((tag(data) === 'Blob' || tag(data) === 'File') && typeof data.arrayBuffer === 'function') {
    return new Blob([await data.arrayBuffer()], { type: data.type });
  }
  return new Blob([data]);
}

let fetchStreamsBodies;

/**
 * Whether a `ReadableStream` request body to `url` is sent as it is read. Detected, not assumed:
 * a `fetch` that supports it reads the `duplex` option and does not turn the stream into text
 * (which would give it a `Content-Type`). Browsers that support it do so only over HTTP/2 or
 * later, which they never speak over plain `http:`, so there a stream is buffered instead.
 */
export function streamsRequestBodies(url) {
  if (fetchStreamsBodies === undefined) {
    let duplexRead = false;
    try {
      const init = { method: 'POST', body: new ReadableStream(), get duplex() { duplexRead = true; return 'half'; } };
      fetchStreamsBodies = !new Request('http://localhost/', init).headers.has('Content-Type') && duplexRead;
    } catch {
      fetchStreamsBodies = false;
    }
  }
  // A page has a document, a worker importScripts (Deno 1 has a window, and streams fine).
  const inBrowser = typeof document !== 'undefined' || typeof importScripts === 'function';
  return fetchStreamsBodies && !(inBrowser && url.startsWith('http:'));
}

/** Data `fetch` sends as it is: a string, an `ArrayBuffer` or a view of one, a native Blob. */
const sendable = (data) => typeof data === 'string' || data instanceof ArrayBuffer || ArrayBuffer.isView(data)
  || data instanceof Blob;

/**
 * The body of one octet-stream upload, `[body, streamed]`, or a promise of it when it has to be
 * prepared first. A stream is sent as it is (when `streaming`); strings, buffers and Blobs as
 * they are (`fetch` copies a buffer when it is called, which is before `write` returns: no Blob
 * round trip, which costs a third of the throughput); anything else as a Blob. `gzip`
 * compresses on the way with `CompressionStream`.
 */
export function uploadBody(data, gzip, streaming) {
  if (gzip) return gzipBody(data, streaming);
  if (streaming && isStream(data)) return [nativeStream(data), true];
  if (sendable(data)) return [data, false];
  return toBlob(data).then((blob) => [blob, false]);
}

async function gzipBody(data, streaming) {
  const source = isStream(data) ? nativeStream(data) : (await toBlob(data)).stream();
  const compressed = source.pipeThrough(new CompressionStream('gzip'));
  return streaming ? [compressed, true] : [await new Response(compressed).blob(), false];
}

/** The body of one multipart upload, `[form, false]`: a part named `file` per `[data, filename]`. */
export async function formData(files) {
  const form = new FormData();
  for (const [data, name] of files) form.append('file', await toBlob(data), name);
  return [form, false];
}
