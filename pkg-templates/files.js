// `sandbox.files`' request/response calls: `read` and `write` (envd's `/files`, plain HTTP whose
// bodies are JavaScript objects at both ends: the response's own `text()`/`arrayBuffer()`/
// `blob()`/`body`, the caller's string, buffer, Blob or stream as the request body) and the
// Filesystem service's unary RPCs in Connect's JSON codec, as the official SDK sends them
// (`exists`, `getInfo`, `list`, `makeDir`, `rename`, `remove`): JSON over `fetch` needs nothing
// the runtime lacks. The wasm maps their failures (`SandboxCore.filesFailure`, `fetchFailure`,
// `rpcAnswer`, `rpcError`, `rpcFetchFailure`: envd's HTTP table, Connect's codes and the
// `/health` probe, one copy for these calls and the streams) and keeps `watchDir`, a server
// stream. Values made by another realm or a polyfill are recognised by what they are, not by
// `instanceof` alone; the body helpers are exported for their unit test
// (tests/sdk/files-bodies.test.mjs).
import { InvalidArgumentError, TemplateError } from '%ERRORS_MODULE%';
import { log, versionNumber } from './api.js';

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

/** envd versions: uploads as `application/octet-stream`, and with metadata. */
const OCTET_STREAM_UPLOADS = versionNumber('0.5.7');
const UPLOAD_METADATA = versionNumber('0.6.2');
const NO_WRITE_INFO = 'Expected to receive information about written file';

/**
 * What the calls on one sandbox's files start from: `baseUrl` (envd's API URL), `headers`
 * (envd's own), `version`, `defaultUser` (named when the caller names none), `requestTimeoutMs`,
 * `logger` and `core` (the wasm's `SandboxCore`, for failures).
 */
export class FilesAccess {
  constructor(fields) {
    Object.assign(this, fields);
    // As the wasm's envd calls take it: a number, else the default.
    if (typeof this.requestTimeoutMs !== 'number') this.requestTimeoutMs = 60_000;
    const base = this.baseUrl.replace(/\/+$/, '');
    this.filesUrl = `${base}/files`;
    this.rpcUrl = `${base}/filesystem.Filesystem/`;
    this.rpcHeaders = { ...this.headers, 'Content-Type': 'application/json', 'Connect-Protocol-Version': '1' };
  }
  /** `<envd>/files?path=…&username=…`, each present only when given. */
  url(path, user) {
    const params = [['path', path], ['username', user ?? this.defaultUser]].filter(([, v]) => v !== undefined);
    return `${this.filesUrl}${params.map(([k, v], i) => `${i ? '&' : '?'}${k}=${encodeURIComponent(v)}`).join('')}`;
  }
  supports(version) { return versionNumber(this.version) >= version; }
}

const string = (v) => (typeof v === 'string' ? v : undefined);
/** An object, as option bags and JSON answers hold them (`typeof`, so null-prototype ones count). */
const isObject = (v) => typeof v === 'object' && v !== null;

/**
 * A call's abort signal: `timeoutMs` (the call's `requestTimeoutMs`, else the sandbox's; 0 = none)
 * aborts it with `message`, as `AbortSignal.timeout()` would, and so does the caller's `signal`.
 * `end()` stops the timer; the caller's signal keeps aborting (a streamed body, then).
 */
function callSignal(access, opts, message) {
  const call = typeof opts?.requestTimeoutMs === 'number' ? opts.requestTimeoutMs : access.requestTimeoutMs;
  const timeoutMs = call > 0 ? call : undefined;
  const controller = new AbortController();
  const timer = timeoutMs === undefined ? undefined
    : setTimeout(() => controller.abort(new DOMException(message(timeoutMs), 'TimeoutError')), timeoutMs);
  const user = opts?.signal instanceof AbortSignal ? opts.signal : undefined;
  return { signal: user ? AbortSignal.any([user, controller.signal]) : controller.signal, end: () => clearTimeout(timer) };
}
/** `files.read`'s formats besides the default `'text'`. */
const FORMATS = ['bytes', 'blob', 'stream'];
const REQUEST_TIMEOUT = () => 'The operation was aborted due to timeout';
const HANDSHAKE_TIMEOUT = (ms) => `Request handshake timed out after ${Math.trunc(ms)}ms`;
const NO_TIMEOUT = { requestTimeoutMs: 0 };

/**
 * `fetch`, then the body: `read(response)` of a 2xx answer, the text of any other, which fails
 * the call with envd's error. A failure of either maps as the official
 * `handleEnvdApiFetchError` does (in the wasm). Resolves with `[response, body]`.
 */
async function exchange(access, url, init, read) {
  let response, body;
  try {
    response = await fetch(url, init);
    body = await (response.ok ? read(response) : response.text());
  } catch (failure) {
    return access.core.fetchFailure(failure);
  }
  if (!response.ok) throw access.core.filesFailure(response.status, response.statusText, body);
  return [response, body];
}

/**
 * `files.read(path, { format, gzip, user, requestTimeoutMs, signal })`: `'text'` (default),
 * `'bytes'`, `'blob'`, or `'stream'` — the response body itself, whose handshake alone the
 * request timeout bounds.
 */
export async function filesRead(access, path, opts) {
  const format = FORMATS.includes(opts?.format) ? opts.format : 'text';
  const stream = format === 'stream';
  const call = callSignal(access, opts, stream ? HANDSHAKE_TIMEOUT : REQUEST_TIMEOUT);
  // Without `gzip`, ask for the bytes as they are: Node's fetch would otherwise accept gzip and
  // inflate it at 8-14 MB/s. Browsers ignore the header (it is theirs to set).
  const headers = { ...access.headers, 'Accept-Encoding': opts?.gzip === true ? 'gzip' : 'identity' };
  const read = stream ? () => undefined : format === 'text' ? (r) => r.text()
    : format === 'bytes' ? async (r) => new Uint8Array(await r.arrayBuffer()) : (r) => r.blob();
  try {
    const url = access.url(string(path) ?? '', string(opts?.user));
    const [response, body] = await exchange(access, url, { method: 'GET', headers, signal: call.signal }, read);
    if (stream) return response.body ?? new Blob().stream();
    // An empty file is a plain empty Blob, without the response's content type.
    if (format === 'blob' && response.headers.get('content-length') === '0') return new Blob();
    return body;
  } finally {
    call.end();
  }
}

/** The first metadata entry envd would refuse, as the official message: keys are HTTP tokens, values printable US-ASCII. */
function metadataProblem(metadata) {
  for (const [key, value] of metadata) {
    const quoted = JSON.stringify(key);
    if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(key)) {
      return `Invalid metadata key ${quoted}: keys must be non-empty and use only HTTP token characters (letters, digits and !#$%&'*+-.^_\`|~).`;
    }
    if (!/^[\x20-\x7e]*$/.test(value)) return `Invalid metadata value for key ${quoted}: values must be printable US-ASCII.`;
  }
}

/**
 * `files.write(path, data, opts?)` → `WriteInfo`; `files.write(files, opts?)` → `WriteInfo[]`.
 * Octet-stream (one request per file, in parallel) when asked for, when gzip is, or — option
 * unset — for the single-file form and when some data is a stream the runtime can send as it is
 * read; otherwise one multipart request for all files.
 */
export async function filesWrite(access, pathOrFiles, dataOrOpts, singleOpts) {
  let single, files, opts;
  if (typeof pathOrFiles === 'string') {
    if (Array.isArray(dataOrOpts)) {
      throw new Error('Cannot specify both path and array of files. You have to specify either path and data for a single file or an array for multiple files.');
    }
    [single, files, opts] = [pathOrFiles, [[undefined, dataOrOpts]], singleOpts];
  } else if (Array.isArray(pathOrFiles)) {
    [files, opts] = [pathOrFiles.map((f) => [string(f?.path), f?.data]), dataOrOpts];
  } else {
    throw new Error('Path or files are required');
  }
  if (files.length === 0) return [];
  // Header values are what `String(value)` makes of them.
  const metadata = isObject(opts?.metadata) ? Object.entries(opts.metadata).map(([k, v]) => [k, String(v)]) : [];
  const problem = metadataProblem(metadata);
  if (problem) throw new InvalidArgumentError(problem);
  if (metadata.length && !access.supports(UPLOAD_METADATA)) throw new TemplateError('File metadata requires envd 0.6.2 or later.');
  const gzip = opts?.gzip === true;
  const user = string(opts?.user);
  const streaming = streamsRequestBodies(access.baseUrl);
  // The official SDK sends a single file as multipart unless asked otherwise; envd writes it
  // the same either way, and the raw body is twice as fast to send as a form.
  const byDefault = single !== undefined || (streaming && files.some(([, data]) => isStream(data)));
  const octetStream = ((typeof opts?.useOctetStream === 'boolean' ? opts.useOctetStream : byDefault) || gzip)
    && access.supports(OCTET_STREAM_UPLOADS);
  const headers = { ...access.headers };
  if (octetStream) headers['Content-Type'] = 'application/octet-stream';
  for (const [key, value] of metadata) headers[`X-Metadata-${key}`] = value;
  if (octetStream && gzip) headers['Content-Encoding'] = 'gzip';
  const requests = octetStream
    ? files.map(([path, data]) => [access.url(path ?? single, user), uploadBody(data, gzip, streaming)])
    : [[access.url(single, user), formData(files.map(([path, data]) => [data, path ?? single]))]];
  const post = async (url, [body, streamed]) => {
    // A streamed body has no request timeout: only the caller's signal ends it.
    const call = callSignal(access, streamed ? { ...opts, ...NO_TIMEOUT } : opts, REQUEST_TIMEOUT);
    const init = { method: 'POST', headers, body, signal: call.signal };
    // A stream body is sent as it is read; fetch requires saying so.
    if (body instanceof ReadableStream) init.duplex = 'half';
    try {
      const [, text] = await exchange(access, url, init, (r) => r.text());
      // A 2xx answer that is not JSON fails with `JSON.parse`'s `SyntaxError`, as the official
      // SDK's `response.json()` does.
      return writeInfos(text ? JSON.parse(text) : undefined);
    } finally {
      call.end();
    }
  };
  // A body ready now is sent now: `fetch` takes a buffer's bytes before `write` returns.
  const sent = requests.map(([url, prepared]) => (Array.isArray(prepared) ? post(url, prepared) : prepared.then((p) => post(url, p))));
  const infos = sent.length === 1 ? await sent[0] : (await Promise.all(sent)).flat(1);
  return single !== undefined && infos.length === 1 ? infos[0] : infos;
}

/** The written files an upload answered with; `{}` metadata becomes `undefined`, as officially. */
function writeInfos(infos) {
  if (!Array.isArray(infos) || infos.length === 0) throw new Error(NO_WRITE_INFO);
  for (const info of infos) {
    const { metadata } = info;
    info.metadata = isObject(metadata) && Object.keys(metadata).length ? metadata : undefined;
  }
  return infos;
}

/** `Basic` credentials of `user` (UTF-8, as Node's `Buffer` encodes them for the official SDK). */
function basicAuth(user) {
  return `Basic ${btoa(Array.from(new TextEncoder().encode(`${user}:`), (b) => String.fromCharCode(b)).join(''))}`;
}

/** A Filesystem RPC answer that does not decode, as protobuf-es (the official client) fails it. */
class Undecodable extends Error {}

/** How protobuf-es shows a value in its decoding errors. */
const shown = (v) => (v === null ? 'null' : Array.isArray(v) ? `Array(${v.length})` : typeof v === 'object' ? 'object'
  : typeof v === 'string' ? JSON.stringify(v) : String(v));

/**
 * A Filesystem RPC (`filesystem.<method>Request` → `<method>Response`) acting as `opts.user`:
 * resolves with what `decode` makes of its answer, or with `false` when it fails with the Connect
 * code `falseOn`; rejects with the official error.
 */
async function rpc(access, method, message, opts, decode, falseOn) {
  const url = access.rpcUrl + method;
  if (access.logger) log(access.logger, 'info', `Request: POST ${url}`);
  const user = string(opts?.user) ?? access.defaultUser;
  // `fetch` only reads the headers: the sandbox's own object goes as it is unless a user is named.
  const headers = user ? { ...access.rpcHeaders, Authorization: basicAuth(user) } : access.rpcHeaders;
  const call = callSignal(access, opts, REQUEST_TIMEOUT);
  let response, text;
  try {
    response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(message), signal: call.signal });
    text = await response.text();
  } catch (failure) {
    return access.core.rpcFetchFailure(failure, call.signal);
  } finally {
    call.end();
  }
  const type = response.headers.get('content-type');
  // Anything but a plain JSON 200 is the wasm's to judge (errors, other content types).
  if (response.status !== 200 || type !== 'application/json') {
    if ((await access.core.rpcAnswer(response.status, type ?? undefined, text, falseOn)) === false) return false;
  }
  try {
    let answer;
    try {
      answer = JSON.parse(text);
    } catch (e) {
      throw new Undecodable(e.message);
    }
    if (!isObject(answer) || Array.isArray(answer)) {
      throw new Undecodable(`cannot decode message filesystem.${method}Response from JSON: ${shown(answer)}`);
    }
    return decode(answer);
  } catch (e) {
    if (e instanceof Undecodable) return access.core.rpcError('unknown', e.message);
    throw e;
  }
}

// By name or number (an unknown name reads as unspecified, as protobuf-es reads it); no
// prototype, so that no other name an answer carries finds anything.
const FILE_TYPES = { __proto__: null, FILE_TYPE_FILE: 'file', FILE_TYPE_DIRECTORY: 'dir', FILE_TYPE_SYMLINK: 'symlink', 1: 'file', 2: 'dir', 3: 'symlink' };
const INTEGER = /^-?\d+$/;
// RFC 3339 as protojson writes timestamps: UTC or an offset, 0-9 fraction digits.
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/i;

/**
 * The official `EntryInfo` of an entry in protobuf's JSON form (fields at their defaults left
 * out or `null`, 64-bit sizes as strings, enums by name, timestamps as RFC 3339), each field
 * checked as protobuf-es would: the modified time a `Date` floored to the millisecond, empty
 * metadata `undefined`.
 */
function entryInfo(e) {
  if (!isObject(e) || Array.isArray(e)) throw new Undecodable(`cannot decode message filesystem.EntryInfo from JSON: ${shown(e)}`);
  const metadata = field(e, 'metadata', isStringMap, undefined);
  const modified = field(e, 'modifiedTime', isTimestamp, undefined);
  return {
    name: field(e, 'name', isString, ''), type: FILE_TYPES[field(e, 'type', isEnum, undefined)], path: field(e, 'path', isString, ''),
    size: Number(field(e, 'size', isInteger, 0)), mode: Number(field(e, 'mode', isUint32, 0)),
    permissions: field(e, 'permissions', isString, ''), owner: field(e, 'owner', isString, ''), group: field(e, 'group', isString, ''),
    // `Date.parse` reads at most three fraction digits: the rest are cut first (floored, as officially).
    modifiedTime: modified === undefined ? undefined : new Date(Date.parse(modified.replace(/(\.\d{3})\d+/, '$1'))),
    symlinkTarget: field(e, 'symlinkTarget', isString, undefined),
    metadata: metadata && Object.keys(metadata).length ? metadata : undefined,
  };
}

/** Entry field `name` of `e`: `fallback` when left out (or `null`), else what passes `ok`. */
function field(e, name, ok, fallback) {
  const value = e[name];
  if (value === undefined || value === null) return fallback;
  if (!ok(value)) throw new Undecodable(`cannot decode field filesystem.EntryInfo.${name} from JSON: ${shown(value)}`);
  return value;
}
const isString = (v) => typeof v === 'string';
const isEnum = (v) => typeof v === 'string' || Number.isInteger(v);
const isInteger = (v) => (typeof v === 'number' && Number.isInteger(v)) || (typeof v === 'string' && INTEGER.test(v));
const isUint32 = (v) => isInteger(v) && v >= 0 && v <= 0xffffffff;
const isTimestamp = (v) => typeof v === 'string' && RFC3339.test(v) && !Number.isNaN(Date.parse(v));
const isStringMap = (v) => isObject(v) && !Array.isArray(v) && Object.values(v).every(isString);

const pathArg = (path) => string(path) ?? '';

// The calls return `rpc`'s promise itself: no promise of their own around it.

/** `files.list(path, { depth })`: entries down to `depth` levels (default 1), of the types the SDK knows. */
export function filesList(access, path, opts) {
  let levels;
  try {
    const depth = typeof opts?.depth === 'number' ? opts.depth : undefined;
    if (depth < 1) throw new InvalidArgumentError('depth should be at least one');
    // As an unsigned 32-bit field takes it.
    levels = depth === undefined ? 1 : Math.min(Math.trunc(depth) || 0, 0xffffffff);
  } catch (e) {
    return Promise.reject(e);
  }
  return rpc(access, 'ListDir', { path: pathArg(path), depth: levels }, opts, ({ entries }) => {
    if (entries !== undefined && entries !== null && !Array.isArray(entries)) {
      throw new Undecodable(`cannot decode field filesystem.ListDirResponse.entries from JSON: expected Array, got ${shown(entries)}`);
    }
    return (entries ?? []).map(entryInfo).filter((e) => e.type);
  });
}

/** The entry of a Stat or Move answer, `undefined` if it has none (an answer of a call that does not return it is checked all the same). */
const checkedEntry = (answer) => (answer.entry === null || answer.entry === undefined ? undefined : entryInfo(answer.entry));
/** What `missing` says when an answer has no entry. */
const entryOrFail = (missing) => (answer) => {
  const entry = checkedEntry(answer);
  if (!entry) throw new Error(missing);
  return entry;
};
/** `true` for an answer that checks out. */
const present = (answer) => {
  checkedEntry(answer);
  return true;
};

/** `files.exists(path)`: `false` for a missing path. */
export function filesExists(access, path, opts) {
  return rpc(access, 'Stat', { path: pathArg(path) }, opts, present, 'not_found');
}

export function filesGetInfo(access, path, opts) {
  const decode = entryOrFail('Expected to receive information about the file or directory');
  return rpc(access, 'Stat', { path: pathArg(path) }, opts, decode);
}

/** `files.makeDir(path)`: `true` when created (with parents), `false` when it already existed. */
export function filesMakeDir(access, path, opts) {
  return rpc(access, 'MakeDir', { path: pathArg(path) }, opts, present, 'already_exists');
}

/** `files.rename(oldPath, newPath)`: the entry at its new path. */
export function filesRename(access, oldPath, newPath, opts) {
  const decode = entryOrFail('Expected to receive information about moved object');
  return rpc(access, 'Move', { source: pathArg(oldPath), destination: pathArg(newPath) }, opts, decode);
}

/** `files.remove(path)`, recursive; a missing path is not an error. */
export function filesRemove(access, path, opts) {
  return rpc(access, 'Remove', { path: pathArg(path) }, opts, () => undefined);
}
