// The upload-body rules of files.write (pkg-templates/files.js, as built into pkg/) in this
// runtime and in the situations Node can stand in for: when a stream is sent as it is read, when
// it falls back to a Blob, gzip, multipart forms, and data from another realm or a polyfill.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';

import { formData, isStream, streamsRequestBodies, uploadBody } from '../../pkg/files.js';

const streamOf = (...parts) => new ReadableStream({
  start(c) {
    for (const p of parts) c.enqueue(new TextEncoder().encode(p));
    c.close();
  },
});
const text = async (body) => new Response(body).text();

/** Runs `f` with `name` defined on the global object, as in a browser page or worker. */
async function withGlobal(name, value, f) {
  globalThis[name] = value;
  try {
    return await f();
  } finally {
    delete globalThis[name];
  }
}

test('Node streams request bodies; browsers only over https', async () => {
  assert.equal(streamsRequestBodies('http://127.0.0.1:3000'), true);
  for (const scope of ['document', 'importScripts']) {
    await withGlobal(scope, scope === 'document' ? {} : () => {}, () => {
      assert.equal(streamsRequestBodies('http://127.0.0.1:3000'), false, `${scope}, http`);
      assert.equal(streamsRequestBodies('https://sandbox.e2b.app'), true, `${scope}, https`);
    });
  }
});

test('a stream is sent as it is when streaming, else collected into a Blob', async () => {
  const [streamed, isStreamed] = await uploadBody(streamOf('a', 'b'), false, true);
  assert.ok(streamed instanceof ReadableStream);
  assert.equal(isStreamed, true);
  assert.equal(await text(streamed), 'ab');
  const [blob, blobStreamed] = await uploadBody(streamOf('c', 'd'), false, false);
  assert.ok(blob instanceof Blob);
  assert.equal(blobStreamed, false);
  assert.equal(await blob.text(), 'cd');
});

test('strings, buffers and Blobs are sent as they are, without waiting', () => {
  const bytes = new Uint8Array([104, 105]);
  for (const data of [new Blob(['as is']), 'ü', bytes, bytes.buffer, new DataView(bytes.buffer, 1), Buffer.from('hi')]) {
    const prepared = uploadBody(data, false, true);
    assert.ok(Array.isArray(prepared), 'ready without waiting');
    assert.deepEqual(prepared, [data, false]);
  }
});

test('gzip compresses on the way, streamed or buffered', async () => {
  const [streamed, isStreamed] = await uploadBody('zip me', true, true);
  assert.equal(isStreamed, true);
  assert.equal(gunzipSync(Buffer.from(await new Response(streamed).arrayBuffer())).toString(), 'zip me');
  const [blob, blobStreamed] = await uploadBody(streamOf('zip ', 'me'), true, false);
  assert.equal(blobStreamed, false);
  assert.equal(gunzipSync(Buffer.from(await blob.arrayBuffer())).toString(), 'zip me');
});

test('a multipart form has a part named file per entry', async () => {
  const [form, streamed] = await formData([['one', 'a/1.txt'], [streamOf('tw', 'o'), '/abs/2.txt']]);
  assert.equal(streamed, false);
  const parts = form.getAll('file');
  assert.deepEqual(parts.map((p) => p.name), ['a/1.txt', '/abs/2.txt']);
  assert.deepEqual(await Promise.all(parts.map((p) => p.text())), ['one', 'two']);
});

test('streams and Blobs from another implementation are recognised and adopted', async () => {
  const native = streamOf('for', 'eign');
  const reader = native.getReader();
  const foreign = { getReader: () => reader, tee() {}, cancel: () => reader.cancel() };
  assert.equal(isStream(foreign), true);
  assert.equal(isStream({ getReader() {} }), false);
  assert.equal(isStream(null), false);
  const [body, streamed] = await uploadBody(foreign, false, true);
  assert.ok(body instanceof ReadableStream, 'pumped through a native stream fetch accepts');
  assert.equal(streamed, true);
  assert.equal(await text(body), 'foreign');
  const blobLike = { [Symbol.toStringTag]: 'Blob', type: 'text/plain', arrayBuffer: async () => new TextEncoder().encode('blob-like').buffer };
  const [blob] = await uploadBody(blobLike, false, false);
  assert.ok(blob instanceof Blob);
  assert.deepEqual([await blob.text(), blob.type], ['blob-like', 'text/plain']);
});
