// 256 MiB files through both SDKs: downloads read as a stream, uploads from a stream and from
// a Blob, compared by SHA-256 (never buffer against buffer). And what streaming must keep: a
// download nobody reads stops the server early (backpressure), and cancelling it closes the
// file on the server (the connection is released). envd is watched from the host, in /proc.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

import { startSandboxdForSdk } from '../helpers/sandboxd.mjs';
import { implementations } from './implementations.mjs';

const MiB = 1024 * 1024;
const SIZE = 256 * MiB;

let sd;
before(async () => {
  sd = await startSandboxdForSdk();
});
after(async () => {
  await sd?.stop();
});

/** `SIZE` random bytes as a stream of 1 MiB chunks; `hash` sees every chunk sent. */
function randomStream(hash) {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent === SIZE) return controller.close();
      const chunk = randomBytes(MiB);
      hash.update(chunk);
      sent += chunk.length;
      controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
    },
  });
}

async function sandboxSha256(sbx, path) {
  const out = await sbx.commands.run(`sha256sum ${path} | cut -c1-64; stat -c %s ${path}`, { user: 'root' });
  const [sum, size] = out.stdout.trim().split('\n');
  return { sum, size: Number(size) };
}

/** The host pid of the sandbox's envd (its command line names the sandbox). */
function envdPid(sandboxId) {
  const cmdline = (pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      return '';
    }
  };
  const pid = readdirSync('/proc').find((p) => /^\d+$/.test(p) && cmdline(p).includes(sandboxId) && cmdline(p).includes('envd'));
  assert.ok(pid, 'envd process found');
  return pid;
}

/** Read offsets of every descriptor envd has open on `path`. */
function openOffsets(pid, path) {
  return readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`) !== path) return [];
      return [Number(/pos:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))[1])];
    } catch {
      return []; // closed while we looked
    }
  });
}

/** Polls `probe` until it returns something other than `undefined` (at most ~20 s). */
async function eventually(probe) {
  for (let i = 0; i < 100; i++) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail('condition not reached');
}

for (const [name, sdk] of implementations) {
  describe(`${name}: 256 MiB files`, () => {
    let sbx;
    before(async () => {
      sbx = await sdk.Sandbox.create({ timeoutMs: 600_000 });
      await sbx.commands.run(`head -c ${SIZE} /dev/urandom > /tmp/big.bin`, { user: 'root' });
    });
    after(async () => {
      await sbx?.kill();
    });

    test('download as a stream: same SHA-256 as in the sandbox', async () => {
      const stream = await sbx.files.read('/tmp/big.bin', { format: 'stream', user: 'root' });
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of stream) {
        hash.update(chunk);
        size += chunk.length;
      }
      const expected = await sandboxSha256(sbx, '/tmp/big.bin');
      assert.deepEqual({ sum: hash.digest('hex'), size }, expected);
    });

    test('upload from a stream: same SHA-256 in the sandbox', async () => {
      const hash = createHash('sha256');
      const info = await sbx.files.write('/tmp/up-stream.bin', randomStream(hash), { user: 'root' });
      assert.equal(info.path, '/tmp/up-stream.bin');
      assert.deepEqual(await sandboxSha256(sbx, '/tmp/up-stream.bin'), { sum: hash.digest('hex'), size: SIZE });
    });

    test('upload from a Blob: same SHA-256 in the sandbox', async () => {
      const hash = createHash('sha256');
      const chunks = Array.from({ length: SIZE / MiB }, () => {
        const chunk = randomBytes(MiB);
        hash.update(chunk);
        return chunk;
      });
      await sbx.files.write('/tmp/up-blob.bin', new Blob(chunks), { user: 'root' });
      assert.deepEqual(await sandboxSha256(sbx, '/tmp/up-blob.bin'), { sum: hash.digest('hex'), size: SIZE });
      await sbx.commands.run('rm /tmp/up-blob.bin /tmp/up-stream.bin', { user: 'root' });
    });

    test('an unread download stops the server early; cancelling it closes the file there', async () => {
      const pid = envdPid(sbx.sandboxId);
      const stream = await sbx.files.read('/tmp/big.bin', { format: 'stream', user: 'root' });
      const reader = stream.getReader();
      assert.ok((await reader.read()).value.length > 0);
      // Once the buffers between envd and us are full, envd's read offset stops moving.
      let last = -1;
      const stalledAt = await eventually(() => {
        const [offset] = openOffsets(pid, '/tmp/big.bin');
        const stalled = offset === last ? offset : undefined;
        last = offset;
        return stalled;
      });
      assert.ok(stalledAt < SIZE / 4, `envd read ${stalledAt} bytes ahead of a reader that stopped`);
      await reader.cancel();
      await eventually(() => (openOffsets(pid, '/tmp/big.bin').length === 0 ? true : undefined));
    });
  });
}
