// sandbox.files through both SDKs against a real sandboxd: every read format and write data
// type, unicode, binary and empty files, many files in one write, metadata, listing with
// depth, the metadata/directory operations with their return values, and each error case.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { startSandboxdForSdk } from '../helpers/sandboxd.mjs';
import { implementations } from './implementations.mjs';

let sd;
before(async () => {
  sd = await startSandboxdForSdk();
});
after(async () => {
  await sd?.stop();
});

const UNICODE = 'héllo wörld — ünïcödé ✓ 日本語 😀\n\u0000 end';
const encode = (s) => new TextEncoder().encode(s);
/** Every byte value, then some more: not valid UTF-8, with NULs and high bytes. */
const BINARY = Uint8Array.from({ length: 1000 }, (_, i) => (i * 37 + (i >> 8)) % 256);

/** The content of `path` read in every format, as bytes. */
async function readAllFormats(sbx, path) {
  const text = await sbx.files.read(path);
  const bytes = await sbx.files.read(path, { format: 'bytes' });
  const blob = await sbx.files.read(path, { format: 'blob' });
  const stream = await sbx.files.read(path, { format: 'stream' });
  assert.equal(typeof text, 'string');
  assert.ok(bytes instanceof Uint8Array);
  assert.ok(blob instanceof Blob);
  assert.ok(stream instanceof ReadableStream);
  return {
    text,
    bytes,
    blob: new Uint8Array(await blob.arrayBuffer()),
    stream: new Uint8Array(await new Response(stream).arrayBuffer()),
  };
}

/** What a promise rejected with (fails when it resolves). */
async function rejection(promise) {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  assert.fail('expected a rejection');
}

for (const [name, sdk] of implementations) {
  describe(`${name}: files`, () => {
    let sbx;
    before(async () => {
      sbx = await sdk.Sandbox.create();
    });
    after(async () => {
      await sbx?.kill();
    });

    test('unicode text round-trips in every read format', async () => {
      const info = await sbx.files.write('uni/ünï.txt', UNICODE);
      assert.deepEqual({ ...info }, { path: '/home/user/uni/ünï.txt', name: 'ünï.txt', type: 'file', metadata: undefined });
      const got = await readAllFormats(sbx, '/home/user/uni/ünï.txt');
      assert.equal(got.text, UNICODE);
      for (const bytes of [got.bytes, got.blob, got.stream]) assert.deepEqual(bytes, encode(UNICODE));
      assert.equal(await sbx.files.read('uni/ünï.txt', { gzip: true }), UNICODE);
      const odd = 'uni/sp ace&x=1#h?q+plus%20 \'quote\'.txt';
      assert.equal((await sbx.files.write(odd, 'odd')).path, `/home/user/${odd}`);
      assert.equal(await sbx.files.read(odd), 'odd');
      assert.equal((await sbx.files.getInfo(odd)).name, odd.slice(4));
      assert.deepEqual((await sbx.files.write([{ path: `${odd}.2`, data: 'two' }])).map((i) => i.path), [`/home/user/${odd}.2`]);
    });

    test('binary content round-trips from every data type', async () => {
      const stream = new ReadableStream({
        start(c) {
          c.enqueue(BINARY.slice(0, 333));
          c.enqueue(BINARY.slice(333));
          c.close();
        },
      });
      const padded = new Uint8Array(BINARY.length + 8);
      padded.set(BINARY, 4);
      const sources = {
        uint8: BINARY,
        arraybuffer: BINARY.slice().buffer,
        view: new DataView(padded.buffer, 4, BINARY.length),
        blob: new Blob([BINARY.slice(0, 10), BINARY.slice(10)]),
        stream,
      };
      for (const [kind, data] of Object.entries(sources)) {
        const info = await sbx.files.write(`bin/${kind}.bin`, data);
        assert.equal(info.path, `/home/user/bin/${kind}.bin`, kind);
        const got = await readAllFormats(sbx, `bin/${kind}.bin`);
        for (const format of ['bytes', 'blob', 'stream']) assert.deepEqual(got[format], BINARY, `${kind} as ${format}`);
      }
      const sum = await sbx.commands.run('cat bin/*.bin | sha256sum | cut -c1-64');
      const { createHash } = await import('node:crypto');
      const expected = createHash('sha256');
      for (let i = 0; i < 5; i++) expected.update(BINARY);
      assert.equal(sum.stdout.trim(), expected.digest('hex'));
    });

    test('streams upload as octet-stream (one request each) or, with it off, buffered into one multipart request', async () => {
      const streamOf = (...parts) => new ReadableStream({
        start(c) {
          for (const p of parts) c.enqueue(encode(p));
          c.close();
        },
      });
      const infos = await sbx.files.write([
        { path: 'streams/a.txt', data: streamOf('al', 'pha') },
        { path: 'streams/b.txt', data: streamOf('beta') },
        { path: 'streams/c.txt', data: 'gamma' },
      ]);
      assert.deepEqual(infos.map((i) => i.name), ['a.txt', 'b.txt', 'c.txt']);
      const buffered = await sbx.files.write('streams/d.txt', streamOf('del', 'ta ✓'), { useOctetStream: false });
      assert.equal(buffered.path, '/home/user/streams/d.txt');
      const out = await sbx.commands.run('cat streams/a.txt streams/b.txt streams/c.txt streams/d.txt');
      assert.equal(out.stdout, 'alphabetagammadelta ✓');
    });

    test('the data is taken when write is called: changing the buffer afterwards changes nothing', async () => {
      for (const useOctetStream of [undefined, true, false]) {
        const data = BINARY.slice();
        const written = sbx.files.write('snap/copy.bin', data, { useOctetStream });
        data.fill(0);
        await written;
        assert.deepEqual(await sbx.files.read('snap/copy.bin', { format: 'bytes' }), BINARY, `useOctetStream: ${useOctetStream}`);
      }
    });

    test('empty files read back empty in every format', async () => {
      await sbx.files.write('empty.txt', '');
      const got = await readAllFormats(sbx, 'empty.txt');
      assert.equal(got.text, '');
      for (const format of ['bytes', 'blob', 'stream']) assert.equal(got[format].length, 0, format);
      const blob = await sbx.files.read('empty.txt', { format: 'blob' });
      assert.deepEqual([blob.size, blob.type], [0, '']);
      assert.equal((await sbx.files.getInfo('empty.txt')).size, 0);
    });

    test('many small files in one write come back in order', async () => {
      const files = Array.from({ length: 300 }, (_, i) => ({ path: `many/d${i % 7}/f${i}.txt`, data: `file ${i} ✓` }));
      const infos = await sbx.files.write(files);
      assert.equal(infos.length, 300);
      assert.deepEqual(infos.map((i) => i.path), files.map((f) => `/home/user/${f.path}`));
      assert.ok(infos.every((i) => i.type === 'file' && i.metadata === undefined));
      const out = await sbx.commands.run('for i in 0 150 299; do cat many/d$((i % 7))/f$i.txt; echo; done; find many -type f | wc -l');
      assert.equal(out.stdout, 'file 0 ✓\nfile 150 ✓\nfile 299 ✓\n300\n');
      const one = await sbx.files.writeFiles([{ path: 'many/single.txt', data: 'one' }]);
      assert.ok(Array.isArray(one), 'the array form always answers an array');
      assert.deepEqual(one.map((i) => i.name), ['single.txt']);
      assert.deepEqual(await sbx.files.write([]), []);
    });

    test('octet-stream and gzip uploads write the same bytes', async () => {
      await sbx.files.write('up/octet.txt', UNICODE, { useOctetStream: true });
      await sbx.files.write('up/gzip.bin', BINARY, { gzip: true });
      const infos = await sbx.files.write([{ path: 'up/g1.txt', data: 'one' }, { path: 'up/g2.txt', data: new Blob(['two']) }], { gzip: true });
      assert.deepEqual(infos.map((i) => i.name), ['g1.txt', 'g2.txt']);
      assert.equal(await sbx.files.read('up/octet.txt'), UNICODE);
      assert.deepEqual(await sbx.files.read('up/gzip.bin', { format: 'bytes' }), BINARY);
      assert.equal(await sbx.files.read('up/g2.txt'), 'two');
    });

    test('writes replace files, create parents and carry metadata', async () => {
      await sbx.files.write('meta/deep/er/f.txt', 'first');
      const info = await sbx.files.write('meta/deep/er/f.txt', 'second', { metadata: { Owner: 'team-a', 'build.id': '42' } });
      assert.deepEqual(info.metadata, { owner: 'team-a', 'build.id': '42' });
      assert.equal(await sbx.files.read('meta/deep/er/f.txt'), 'second');
      assert.deepEqual((await sbx.files.getInfo('meta/deep/er/f.txt')).metadata, { owner: 'team-a', 'build.id': '42' });
      const cleared = await sbx.files.write('meta/deep/er/f.txt', 'third');
      assert.equal(cleared.metadata, undefined);
      const err = await rejection(sbx.files.write('meta/x.txt', 'x', { metadata: { 'bad key': 'v' } }));
      assert.ok(err instanceof sdk.InvalidArgumentError);
      assert.match(err.message, /^Invalid metadata key "bad key": keys must be non-empty/);
      const value = await rejection(sbx.files.write('meta/x.txt', 'x', { metadata: { k: 'naïve' } }));
      assert.equal(value.message, 'Invalid metadata value for key "k": values must be printable US-ASCII.');
      assert.equal(await sbx.files.exists('meta/x.txt'), false, 'refused before any request');
    });

    test('user selects the owner and the home that relative paths resolve against', async () => {
      const info = await sbx.files.write('owned-by-root.txt', 'r', { user: 'root' });
      assert.equal(info.path, '/root/owned-by-root.txt');
      const entry = await sbx.files.getInfo('/root/owned-by-root.txt', { user: 'root' });
      assert.deepEqual([entry.owner, entry.group], ['root', 'root']);
      assert.equal(await sbx.files.read('owned-by-root.txt', { user: 'root' }), 'r');
      assert.equal(await sbx.files.exists('owned-by-root.txt'), false, 'relative to /home/user by default');
      assert.ok(await rejection(sbx.files.read('x', { user: 'nobody-such' })) instanceof sdk.AuthenticationError);
      assert.ok(await rejection(sbx.files.list('.', { user: 'nobody-such' })) instanceof sdk.AuthenticationError);
    });

    test('list walks to the requested depth with full entry info', async () => {
      await sbx.commands.run('mkdir -p tree/b/c tree/a && printf 12345 > tree/z.txt && echo 2 > tree/b/c/deep.txt && ln -s /home/user/tree/b tree/link && ln -s /nowhere tree/dangling');
      const one = await sbx.files.list('tree');
      assert.deepEqual(one.map((e) => e.name), ['a', 'b', 'link', 'z.txt'], 'dangling links (unknown type) are left out');
      const file = one.find((e) => e.name === 'z.txt');
      assert.deepEqual(
        { ...file, modifiedTime: undefined },
        { name: 'z.txt', type: sdk.FileType.FILE, path: '/home/user/tree/z.txt', size: 5, mode: 0o644, permissions: '-rw-r--r--', owner: 'user', group: 'user', modifiedTime: undefined, symlinkTarget: undefined, metadata: undefined },
      );
      assert.ok(file.modifiedTime instanceof Date);
      assert.ok(Math.abs(file.modifiedTime.getTime() - Date.now()) < 10 * 60_000, 'a plausible modification time');
      const link = one.find((e) => e.name === 'link');
      assert.deepEqual([link.type, link.symlinkTarget], [sdk.FileType.DIR, '/home/user/tree/b']);
      assert.equal(one.find((e) => e.name === 'a').type, 'dir');
      const three = await sbx.files.list('/home/user/tree', { depth: 3 });
      assert.deepEqual(three.map((e) => e.path), [
        '/home/user/tree/a',
        '/home/user/tree/b',
        '/home/user/tree/b/c',
        '/home/user/tree/b/c/deep.txt',
        '/home/user/tree/link',
        '/home/user/tree/z.txt',
      ]);
      const zero = await rejection(sbx.files.list('tree', { depth: 0 }));
      assert.ok(zero instanceof sdk.InvalidArgumentError);
      assert.equal(zero.message, 'depth should be at least one');
      assert.ok(await rejection(sbx.files.list('no-such-dir')) instanceof sdk.FileNotFoundError);
      assert.ok(await rejection(sbx.files.list('tree/z.txt')) instanceof sdk.InvalidArgumentError);
    });

    test('exists, getInfo, makeDir, rename and remove return the official values', async () => {
      assert.equal(await sbx.files.makeDir('ops/a/b'), true);
      assert.equal(await sbx.files.makeDir('ops/a/b'), false);
      assert.equal(await sbx.files.exists('ops/a/b'), true);
      assert.equal(await sbx.files.exists('ops/missing'), false);
      const dir = await sbx.files.getInfo('ops/a');
      assert.deepEqual([dir.type, dir.name, dir.path, dir.permissions, dir.owner], ['dir', 'a', '/home/user/ops/a', 'drwxr-xr-x', 'user']);
      await sbx.files.write('ops/a/f.txt', 'content');
      const moved = await sbx.files.rename('ops/a/f.txt', 'ops/moved/g.txt');
      assert.deepEqual([moved.name, moved.path, moved.type, moved.size], ['g.txt', '/home/user/ops/moved/g.txt', 'file', 7]);
      assert.equal(await sbx.files.read('ops/moved/g.txt'), 'content');
      assert.equal(await sbx.files.exists('ops/a/f.txt'), false);
      assert.equal(await sbx.files.remove('ops'), undefined);
      assert.equal(await sbx.files.exists('ops'), false);
      assert.equal(await sbx.files.remove('ops/never-existed'), undefined, 'removing a missing path succeeds');
    });

    test('each failure is the official error class', async () => {
      await sbx.files.write('errs/file.txt', 'x');
      const cases = [
        ['read a missing file', () => sbx.files.read('errs/missing.txt'), sdk.FileNotFoundError],
        ['read a missing file as a stream', () => sbx.files.read('errs/missing.txt', { format: 'stream' }), sdk.FileNotFoundError],
        ['read a directory', () => sbx.files.read('errs'), sdk.InvalidArgumentError],
        ['read a directory as a blob', () => sbx.files.read('errs', { format: 'blob' }), sdk.InvalidArgumentError],
        ['write where a parent is a file', () => sbx.files.write('errs/file.txt/child', 'x'), sdk.SandboxError],
        ['write onto a directory', () => sbx.files.write('errs', 'x'), sdk.InvalidArgumentError],
        ['getInfo of a missing path', () => sbx.files.getInfo('errs/missing'), sdk.FileNotFoundError],
        ['rename a missing path', () => sbx.files.rename('errs/missing', 'errs/other'), sdk.FileNotFoundError],
        ['makeDir over a file', () => sbx.files.makeDir('errs/file.txt'), sdk.InvalidArgumentError],
        ['makeDir under a file', () => sbx.files.makeDir('errs/file.txt/sub'), sdk.SandboxError],
      ];
      for (const [what, call, Class] of cases) {
        const err = await rejection(call());
        assert.ok(err instanceof Class, `${what}: ${err?.name}: ${err?.message}`);
      }
      const parent = await rejection(sbx.files.write('errs/file.txt/child', 'x'));
      assert.match(parent.message, /^500: /, 'an envd I/O error keeps its status in the message');
      assert.equal((await rejection(sbx.files.read('errs/missing.txt'))).message, "path '/home/user/errs/missing.txt' does not exist");
      assert.equal(await sbx.files.read('errs/file.txt'), 'x', 'failed writes leave existing files alone');
    });

    test('a stream that fails mid-upload rejects and leaves no half-written file', async () => {
      await sbx.files.write('broken/keep.txt', 'old content');
      const failing = () => {
        let sent = 0;
        return new ReadableStream({
          pull(c) {
            if (sent++ < 50) c.enqueue(new Uint8Array(64 * 1024).fill(120));
            else c.error(new Error('source broke'));
          },
        });
      };
      const err = await rejection(sbx.files.write('broken/keep.txt', failing()));
      assert.equal(err.name, 'TypeError');
      assert.equal(err.cause?.message, 'source broke');
      await rejection(sbx.files.write('broken/new.txt', failing()));
      assert.equal(await sbx.files.read('broken/keep.txt'), 'old content');
      // envd notices the broken upload on its own and removes its staging file.
      let listing;
      for (let i = 0; i < 50; i++) {
        listing = (await sbx.commands.run('ls -A broken')).stdout;
        if (listing === 'keep.txt\n') break;
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.equal(listing, 'keep.txt\n', 'no new, partial or staging file');
    });

    test('write argument misuse is a plain Error before any request', async () => {
      const noPath = await rejection(sbx.files.write(undefined, 'x'));
      assert.deepEqual([noPath.constructor, noPath.message], [Error, 'Path or files are required']);
      const both = await rejection(sbx.files.write('p.txt', [{ path: 'q', data: 'x' }]));
      assert.equal(both.constructor, Error);
      assert.match(both.message, /^Cannot specify both path and array of files/);
      assert.equal(await sbx.files.exists('p.txt'), false);
    });

    test('requestTimeoutMs bounds whole calls but only the handshake of a stream; a signal ends a stream any time', async () => {
      await sbx.commands.run('head -c 16777216 /dev/urandom > /tmp/t.bin', { user: 'root' });
      for (const call of [
        () => sbx.files.read('/tmp/t.bin', { user: 'root', format: 'bytes', requestTimeoutMs: 1 }),
        () => sbx.files.write('/tmp/t2.bin', new Uint8Array(16 << 20), { user: 'root', requestTimeoutMs: 1 }),
      ]) {
        const err = await rejection(call());
        assert.deepEqual([err.name, err.message], ['TimeoutError', 'The operation was aborted due to timeout']);
      }
      // A walk of /usr takes envd far longer than 1 ms, so the timeout always wins.
      const rpc = await rejection(sbx.files.list('/usr', { depth: 10, requestTimeoutMs: 1 }));
      assert.ok(rpc instanceof sdk.TimeoutError);
      assert.match(rpc.message, /^\[canceled\] The operation was aborted due to timeout: /);

      const stream = await sbx.files.read('/tmp/t.bin', { format: 'stream', user: 'root', requestTimeoutMs: 2000 });
      await new Promise((r) => setTimeout(r, 2500)); // past the request timeout before reading
      assert.equal((await new Response(stream).arrayBuffer()).byteLength, 16 << 20);

      const controller = new AbortController();
      const aborted = await sbx.files.read('/tmp/t.bin', { format: 'stream', user: 'root', signal: controller.signal });
      const reader = aborted.getReader();
      await reader.read();
      controller.abort(new Error('caller stopped'));
      const err = await rejection((async () => { while (!(await reader.read()).done); })());
      assert.equal(err.message, 'caller stopped');
    });

    test('an aborted signal fails reads and writes with its reason', async () => {
      const aborted = AbortSignal.abort(new Error('stop here'));
      for (const call of [
        () => sbx.files.read('errs/file.txt', { signal: aborted }),
        () => sbx.files.read('errs/file.txt', { format: 'stream', signal: aborted }),
        () => sbx.files.write('never.txt', 'x', { signal: aborted }),
      ]) {
        const err = await rejection(call());
        assert.equal(err.message, 'stop here');
      }
    });
  });
}

describe('e2b-wasm: upload requests', () => {
  const ours = implementations.find(([name]) => name === 'e2b-wasm')[1];

  test('a single file goes as octet-stream unless useOctetStream is false; an array as one multipart request', async () => {
    const sbx = await ours.Sandbox.create();
    const original = globalThis.fetch;
    const sent = [];
    // The SDK looks `fetch` up on the global object at each call; this records what it sends.
    globalThis.fetch = (url, init) => {
      if (init?.method === 'POST' && new URL(url).pathname === '/files') {
        sent.push(init.body instanceof FormData ? 'multipart' : init.headers['Content-Type']);
      }
      return original(url, init);
    };
    try {
      await sbx.files.write('form/a.bin', BINARY);
      await sbx.files.write('form/b.txt', 'text');
      await sbx.files.write('form/c.bin', new Blob([BINARY]));
      await sbx.files.write('form/d.bin', BINARY, { useOctetStream: false });
      await sbx.files.write([{ path: 'form/e.txt', data: 'e' }, { path: 'form/f.txt', data: 'f' }]);
    } finally {
      globalThis.fetch = original;
    }
    assert.deepEqual(sent, ['application/octet-stream', 'application/octet-stream', 'application/octet-stream', 'multipart', 'multipart']);
    const out = await sbx.commands.run('cat form/b.txt form/e.txt form/f.txt; cmp form/a.bin form/c.bin && cmp form/a.bin form/d.bin && echo same');
    assert.equal(out.stdout, 'textefsame\n');
    await sbx.kill();
  });
});
