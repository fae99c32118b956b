// File contents never pass through the wasm: moving 256 MiB files through e2b-wasm (download as
// a stream, upload from a Blob and from a stream) grows its linear memory by less than 8 MiB.
// The memory is read from the wasm-bindgen glue's module namespace: `initSync()` on an already
// initialised module returns its exports, `memory` included (no public API for it).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';

import { startSandboxdForSdk } from '../helpers/sandboxd.mjs';
import { Sandbox } from '../../pkg/node.js';
import { initSync } from '../../pkg/e2b_wasm.js';

const MiB = 1024 * 1024;
const SIZE = 256 * MiB;
const { memory } = initSync();

let sd, sbx;
before(async () => {
  sd = await startSandboxdForSdk();
  sbx = await Sandbox.create({ timeoutMs: 600_000 });
});
after(async () => {
  await sbx?.kill();
  await sd?.stop();
});

function chunks(hash) {
  return Array.from({ length: SIZE / MiB }, () => {
    const chunk = randomBytes(MiB);
    hash.update(chunk);
    return chunk;
  });
}

async function sandboxSha256(path) {
  return (await sbx.commands.run(`sha256sum ${path} | cut -c1-64`, { user: 'root' })).stdout.trim();
}

test('256 MiB down and up (stream, Blob, stream) grow wasm memory by less than 8 MiB', async (t) => {
  // Warm up every path once, so what is measured is growth with size, not first use.
  await sbx.files.write('/tmp/warm.bin', new Blob(['warm']), { user: 'root' });
  await new Response(await sbx.files.read('/tmp/warm.bin', { format: 'stream', user: 'root' })).text();
  await sbx.commands.run(`head -c ${SIZE} /dev/urandom > /tmp/down.bin`, { user: 'root' });
  const before = memory.buffer.byteLength;

  const down = createHash('sha256');
  for await (const chunk of await sbx.files.read('/tmp/down.bin', { format: 'stream', user: 'root' })) down.update(chunk);
  assert.equal(down.digest('hex'), await sandboxSha256('/tmp/down.bin'));

  const blobHash = createHash('sha256');
  await sbx.files.write('/tmp/up-blob.bin', new Blob(chunks(blobHash)), { user: 'root' });
  assert.equal(await sandboxSha256('/tmp/up-blob.bin'), blobHash.digest('hex'));

  const streamHash = createHash('sha256');
  const parts = chunks(streamHash);
  const stream = new ReadableStream({
    pull(controller) {
      const next = parts.shift();
      if (next) controller.enqueue(next);
      else controller.close();
    },
  });
  await sbx.files.write('/tmp/up-stream.bin', stream, { user: 'root' });
  assert.equal(await sandboxSha256('/tmp/up-stream.bin'), streamHash.digest('hex'));

  const after = memory.buffer.byteLength;
  t.diagnostic(`wasm memory: ${before} -> ${after} bytes (+${((after - before) / MiB).toFixed(2)} MiB) for 768 MiB moved`);
  assert.ok(after - before < 8 * MiB, `grew by ${after - before} bytes`);
});

// Every awaited promise is continued through one JS function that hands back a boxed
// continuation by address (transport/task.rs): one never freed would stay in wasm memory for
// good. Thousands of calls that answer, fail or are refused, and commands whose callbacks return,
// resolve or reject, must not grow the linear memory past where warm-up left it. The commands'
// output stays small: the envelope decoder's room follows the largest frame, whose size depends
// on timing. One 64 KiB page of slack takes allocator jitter; a leak of 128 bytes a continuation
// grows it by megabytes.
test('15 000 calls and streams, failures included, leave wasm memory as it was', async (t) => {
  const round = async () => {
    for (let i = 0; i < 1000; i++) {
      assert.equal(await sbx.files.exists('/tmp'), true);
      assert.equal(await sbx.files.exists('/tmp/missing'), false);
      await assert.rejects(sbx.files.read('/tmp/missing'), { name: 'FileNotFoundError' });
    }
    for (let i = 0; i < 20; i++) {
      let lines = 0;
      await sbx.commands.run('seq 1 200', { onStdout: async (d) => { lines += d.split('\n').length - 1; } });
      assert.equal(lines, 200);
      await sbx.commands.run('seq 1 200', { onStdout: () => {} });
    }
    await assert.rejects(sbx.commands.run('echo x', { onStdout: () => Promise.reject(new Error('callback refused')) }),
      { message: 'callback refused' });
  };
  await round();
  const before = memory.buffer.byteLength;
  for (let i = 0; i < 4; i++) await round();
  const after = memory.buffer.byteLength;
  t.diagnostic(`wasm memory: ${before} -> ${after} bytes over 12 000 calls and 164 commands`);
  assert.ok(after - before <= 64 * 1024, `grew by ${after - before} bytes`);
});
