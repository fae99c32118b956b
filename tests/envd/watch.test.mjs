// files.watchDir of the official SDK: non-recursive and recursive watches, upload events.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { FileNotFoundError, FilesystemEventType, InvalidArgumentError } from 'e2b';
import { startEnvd } from '../helpers/envd.mjs';

let envd, sbx;
before(async () => {
  envd = await startEnvd();
  sbx = envd.sandbox();
});
after(() => envd?.stop());

/** Waits until `events` has an item matching `pred`. */
async function until(events, pred) {
  for (let i = 0; i < 100; i++) {
    if (events.some(pred)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`no matching event in ${JSON.stringify(events)}`);
}

test('a watch reports changes of direct children with their names', async () => {
  await sbx.files.makeDir('w1');
  const events = [];
  const handle = await sbx.files.watchDir('w1', (e) => events.push(e));
  await sbx.commands.run('echo a > w1/f.txt && chmod 600 w1/f.txt && mv w1/f.txt w1/g.txt && rm w1/g.txt && mkdir -p w1/sub && echo x > w1/sub/ignored');
  await until(events, (e) => e.name === 'g.txt' && e.type === FilesystemEventType.REMOVE);
  await handle.stop();
  const seen = events.map((e) => `${e.type}:${e.name}`);
  for (const want of ['create:f.txt', 'write:f.txt', 'chmod:f.txt', 'rename:f.txt', 'create:g.txt', 'remove:g.txt', 'create:sub']) {
    assert.ok(seen.includes(want), `${want} in ${seen}`);
  }
  assert.ok(!seen.some((s) => s.includes('ignored')), 'non-recursive watches do not see grandchildren');
});

test('a recursive watch follows new subdirectories and reports root-relative names', async () => {
  await sbx.files.makeDir('w2');
  const events = [];
  const handle = await sbx.files.watchDir('w2', (e) => events.push(e), { recursive: true });
  await sbx.files.makeDir('w2/new/deeper');
  await sbx.files.write('w2/new/deeper/file.txt', 'hi');
  await until(events, (e) => e.name === 'new/deeper/file.txt' && e.type === FilesystemEventType.WRITE);
  await handle.stop();
  assert.ok(events.some((e) => e.name === 'new' && e.type === FilesystemEventType.CREATE));
});

test('an upload is seen as CREATE, CHMOD, WRITE of its real name, never its staging name', async () => {
  await sbx.files.makeDir('w3');
  const events = [];
  const handle = await sbx.files.watchDir('w3', (e) => events.push(e));
  await sbx.files.write('w3/up.txt', 'first');
  await until(events, (e) => e.type === FilesystemEventType.WRITE);
  await sbx.files.write('w3/up.txt', 'second');
  await until(events, (e) => e.type === FilesystemEventType.WRITE && events.filter((x) => x.type === FilesystemEventType.WRITE).length === 2);
  await handle.stop();
  assert.deepEqual(events.map((e) => `${e.type}:${e.name}`), [
    'create:up.txt', 'chmod:up.txt', 'write:up.txt',
    'create:up.txt', 'chmod:up.txt', 'write:up.txt',
  ]);
  assert.equal(await sbx.files.read('w3/up.txt'), 'second');
});

test('watching a missing path or a file fails clearly', async () => {
  await assert.rejects(sbx.files.watchDir('no-such-dir', () => {}), FileNotFoundError);
  await sbx.files.write('plain.txt', 'x');
  await assert.rejects(sbx.files.watchDir('plain.txt', () => {}), InvalidArgumentError);
});
