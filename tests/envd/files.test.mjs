// files.* of the official SDK: write/read/list/exists/getInfo/rename/remove/makeDir, metadata,
// permissions, the error cases (missing path, directory as file, full disk), and that envd still
// ends with its parent after acting as the user.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { FileNotFoundError, FileType, InvalidArgumentError, NotEnoughSpaceError } from 'e2b';
import { startEnvd } from '../helpers/envd.mjs';

let envd, sbx;
before(async () => {
  envd = await startEnvd({ smallDiskKiB: 256 });
  sbx = envd.sandbox();
});
after(() => envd?.stop());

test('write one file, read it as text, bytes and stream', async () => {
  const info = await sbx.files.write('dir1/a.txt', 'héllo wörld');
  assert.deepEqual({ ...info }, { path: '/home/user/dir1/a.txt', name: 'a.txt', type: 'file', metadata: undefined });
  assert.equal(await sbx.files.read('dir1/a.txt'), 'héllo wörld');
  assert.deepEqual(await sbx.files.read('/home/user/dir1/a.txt', { format: 'bytes' }), new TextEncoder().encode('héllo wörld'));
  const stream = await sbx.files.read('dir1/a.txt', { format: 'stream' });
  assert.equal(await new Response(stream).text(), 'héllo wörld');
  assert.equal(await sbx.files.read('dir1/a.txt', { gzip: true }), 'héllo wörld');
});

test('write several files in one request', async () => {
  const infos = await sbx.files.write([
    { path: 'multi/x.txt', data: 'x' },
    { path: '/home/user/multi/deep/y.bin', data: new Uint8Array([0, 1, 2, 255]) },
  ]);
  assert.deepEqual(infos.map((i) => i.path), ['/home/user/multi/x.txt', '/home/user/multi/deep/y.bin']);
  assert.deepEqual(await sbx.files.read('multi/deep/y.bin', { format: 'bytes' }), new Uint8Array([0, 1, 2, 255]));
});

test('uploaded files and created directories belong to the user with 0644/0755', async () => {
  await sbx.files.write('owned/f.txt', 'x');
  const f = await sbx.files.getInfo('owned/f.txt');
  assert.equal(f.owner, 'user');
  assert.equal(f.group, 'user');
  assert.equal(f.permissions, '-rw-r--r--');
  assert.equal(f.mode, 0o644);
  const d = await sbx.files.getInfo('owned');
  assert.equal(d.type, FileType.DIR);
  assert.equal(d.permissions, 'drwxr-xr-x');
  assert.equal(d.owner, 'user');
  assert.ok(d.size > 0);
});

test('large files round-trip byte for byte (streamed both ways)', async () => {
  const data = new Uint8Array(5 * 1024 * 1024).map((_, i) => (i * 7919) % 251);
  await sbx.files.write('big.bin', data);
  const back = await sbx.files.read('big.bin', { format: 'bytes' });
  assert.equal(back.length, data.length);
  assert.ok(Buffer.from(back).equals(Buffer.from(data)));
  const sum = await sbx.commands.run('sha256sum big.bin | cut -d" " -f1');
  const { createHash } = await import('node:crypto');
  assert.equal(sum.stdout.trim(), createHash('sha256').update(data).digest('hex'));
});

test('empty files read back empty', async () => {
  await sbx.files.write('empty.txt', '');
  assert.equal(await sbx.files.read('empty.txt'), '');
});

test('list with depth is name-sorted pre-order under the requested path', async () => {
  await sbx.commands.run('mkdir -p tree/b/c tree/a && echo 1 > tree/z.txt && echo 2 > tree/b/c/deep.txt && ln -s /home/user/tree/b tree/link');
  const one = await sbx.files.list('tree');
  assert.deepEqual(one.map((e) => e.name), ['a', 'b', 'link', 'z.txt']);
  const link = one.find((e) => e.name === 'link');
  assert.equal(link.type, FileType.DIR);
  assert.equal(link.symlinkTarget, '/home/user/tree/b');
  assert.ok(link.permissions.startsWith('L'));
  const three = await sbx.files.list('tree', { depth: 3 });
  assert.deepEqual(three.map((e) => e.path), [
    '/home/user/tree/a',
    '/home/user/tree/b',
    '/home/user/tree/b/c',
    '/home/user/tree/b/c/deep.txt',
    '/home/user/tree/link',
    '/home/user/tree/z.txt',
  ]);
  await assert.rejects(sbx.files.list('tree/z.txt'), InvalidArgumentError);
  await assert.rejects(sbx.files.list('no/such/dir'), FileNotFoundError);
});

test('exists, getInfo, rename, remove, makeDir', async () => {
  await sbx.files.write('ops/src.txt', 'content');
  assert.equal(await sbx.files.exists('ops/src.txt'), true);
  assert.equal(await sbx.files.exists('ops/none.txt'), false);
  const info = await sbx.files.getInfo('ops/src.txt');
  assert.equal(info.size, 7);
  assert.equal(info.path, '/home/user/ops/src.txt');
  assert.ok(info.modifiedTime instanceof Date);
  const moved = await sbx.files.rename('ops/src.txt', 'ops/new/dst.txt');
  assert.equal(moved.path, '/home/user/ops/new/dst.txt');
  assert.equal(await sbx.files.exists('ops/src.txt'), false);
  assert.equal(await sbx.files.read('ops/new/dst.txt'), 'content');
  await assert.rejects(sbx.files.rename('ops/missing', 'ops/x'), FileNotFoundError);
  assert.equal(await sbx.files.makeDir('ops/made/deep'), true);
  assert.equal(await sbx.files.makeDir('ops/made/deep'), false);
  await assert.rejects(sbx.files.makeDir('ops/new/dst.txt'), InvalidArgumentError);
  await sbx.files.remove('ops');
  assert.equal(await sbx.files.exists('ops'), false);
  await sbx.files.remove('ops/never-existed');
});

test('missing paths and directories read as files are clear errors', async () => {
  await assert.rejects(sbx.files.read('nope.txt'), (e) => e instanceof FileNotFoundError && /nope\.txt' does not exist/.test(e.message));
  await assert.rejects(sbx.files.read('/home/user'), (e) => e instanceof InvalidArgumentError && /is a directory/.test(e.message));
  await assert.rejects(sbx.files.getInfo('/nope'), FileNotFoundError);
  await sbx.files.makeDir('a-dir');
  await assert.rejects(sbx.files.write('a-dir', 'x'), (e) => e instanceof InvalidArgumentError && /is a directory/.test(e.message));
});

test('operations run as the user: /root is off limits, root may use it', async () => {
  await assert.rejects(sbx.files.list('/root'), /permission_denied|Permission denied/);
  await assert.rejects(sbx.files.read('/etc/shadow'), /Permission denied|403/);
  await sbx.files.write('/root/by-root.txt', 'r', { user: 'root' });
  const info = await sbx.files.getInfo('/root/by-root.txt', { user: 'root' });
  assert.equal(info.owner, 'root');
});

test('an upload where the user cannot write creates the parents and the file for the user, as E2B\'s envd', async () => {
  await sbx.files.makeDir('/home/root-only', { user: 'root' });
  await assert.rejects(sbx.files.makeDir('/home/root-only/by-user'), /permission_denied|Permission denied/);
  const written = await sbx.files.write('/home/root-only/new/deep/f.txt', 'handed over');
  assert.equal(written.path, '/home/root-only/new/deep/f.txt');
  for (const [path, permissions] of [['/home/root-only/new', 'drwxr-xr-x'], ['/home/root-only/new/deep', 'drwxr-xr-x'], ['/home/root-only/new/deep/f.txt', '-rw-r--r--']]) {
    const info = await sbx.files.getInfo(path);
    assert.deepEqual([info.owner, info.group, info.permissions], ['user', 'user', permissions], path);
  }
  assert.equal((await sbx.files.getInfo('/home/root-only')).owner, 'root', 'an existing parent keeps its owner');
  assert.equal(await sbx.files.read('/home/root-only/new/deep/f.txt'), 'handed over');
});

test('metadata is stored with the file and replaced by the next upload', async () => {
  const w = await sbx.files.write('meta.txt', 'm', { metadata: { owner: 'me', stage: 'one' } });
  assert.deepEqual(w.metadata, { owner: 'me', stage: 'one' });
  assert.deepEqual((await sbx.files.getInfo('meta.txt')).metadata, { owner: 'me', stage: 'one' });
  await sbx.files.write('meta.txt', 'm2');
  assert.equal((await sbx.files.getInfo('meta.txt')).metadata, undefined);
});

test('a full disk answers NotEnoughSpaceError and leaves no partial file', async () => {
  await sbx.files.write('small/keep.txt', 'original');
  await assert.rejects(sbx.files.write('small/keep.txt', new Uint8Array(512 * 1024)), NotEnoughSpaceError);
  assert.equal(await sbx.files.read('small/keep.txt'), 'original');
  await assert.rejects(sbx.files.write('small/new.bin', new Uint8Array(512 * 1024)), NotEnoughSpaceError);
  assert.equal(await sbx.files.exists('small/new.bin'), false);
  const left = await sbx.commands.run('ls -A /home/user/small');
  assert.equal(left.stdout, 'keep.txt\n');
});

test('overwriting keeps the mode of the replaced file', async () => {
  await sbx.files.write('script.sh', '#!/bin/sh\necho v1\n');
  await sbx.commands.run('chmod 755 script.sh');
  await sbx.files.write('script.sh', '#!/bin/sh\necho v2\n');
  assert.equal((await sbx.commands.run('./script.sh')).stdout, 'v2\n');
});

test('envd still ends with the parent that started it after reads and writes as the user', async () => {
  // Acting as the user changes a thread's filesystem ids, which makes the kernel forget that
  // thread's parent-death signal; envd must re-arm it, or it outlives `unshare --kill-child`.
  const own = await startEnvd();
  const pid = own.envdPid();
  const s = own.sandbox();
  await s.files.write('small.txt', 'small');
  assert.equal(await s.files.read('small.txt'), 'small');
  await own.stop(); // kills unshare only
  const alive = () => {
    try {
      return !/State:\s+Z/.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
    } catch {
      return false;
    }
  };
  for (let i = 0; i < 40 && alive(); i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(alive(), false, `envd (host pid ${pid}) is still running after its parent was killed`);
});
