// files.watchDir through both SDKs against a real sandboxd: events in order with the official
// types, recursive watches, entries, stop(), onExit exactly once (clean stop, timeout,
// a throwing onEvent, the caller's signal, a sandbox killed under the watch) and the errors.
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

/** Waits (at most ~10 s) until `list` has an item matching `pred`. */
async function until(list, pred) {
  for (let i = 0; i < 200 && !list.some(pred); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(list.some(pred), `nothing matching in ${JSON.stringify(list)}`);
}

/** An `onExit` that records its calls, and a promise of the first one. */
function exitRecorder() {
  const calls = [];
  let resolve;
  const first = new Promise((r) => (resolve = r));
  const onExit = (...args) => {
    calls.push(args);
    resolve(args);
  };
  return { calls, first, onExit };
}

const kinds = (events) => events.map((e) => `${e.type}:${e.name}`);

for (const [name, sdk] of implementations) {
  describe(`${name}: watchDir`, () => {
    let sbx;
    before(async () => {
      sbx = await sdk.Sandbox.create();
    });
    after(async () => {
      await sbx?.kill().catch(() => {});
    });

    test('events of direct children arrive in order with the official types', async () => {
      await sbx.files.makeDir('w1');
      const events = [];
      const exit = exitRecorder();
      const handle = await sbx.files.watchDir('w1', (e) => events.push(e), { onExit: exit.onExit });
      await sbx.commands.run('echo a > w1/f.txt && chmod 600 w1/f.txt && mv w1/f.txt w1/g.txt && rm w1/g.txt && mkdir w1/sub && echo x > w1/sub/grandchild');
      await until(events, (e) => e.name === 'sub');
      assert.deepEqual(kinds(events), [
        'create:f.txt', 'write:f.txt', 'chmod:f.txt', 'rename:f.txt', 'create:g.txt', 'remove:g.txt', 'create:sub',
      ]);
      const { CREATE, WRITE, CHMOD, RENAME, REMOVE } = sdk.FilesystemEventType;
      assert.deepEqual([CREATE, WRITE, CHMOD, RENAME, REMOVE], ['create', 'write', 'chmod', 'rename', 'remove']);
      assert.ok(events.every((e) => Object.keys(e).join() === 'name,type,entry' && e.entry === undefined));
      assert.equal(await handle.stop(), undefined);
      const [reason] = await exit.first;
      assert.ok(reason instanceof sdk.TimeoutError, 'stopping ends the stream as cancelled');
      assert.match(reason.message, /^\[canceled\] This operation was aborted/);
      await sbx.files.write('w1/after-stop.txt', 'x');
      await new Promise((r) => setTimeout(r, 500));
      assert.ok(!events.some((e) => e.name === 'after-stop.txt'), 'no event after stop()');
      assert.equal(exit.calls.length, 1);
    });

    test('a recursive watch reports nested paths relative to the watched directory', async () => {
      await sbx.files.makeDir('w2');
      const events = [];
      const handle = await sbx.files.watchDir('w2', (e) => events.push(e), { recursive: true });
      await sbx.files.makeDir('w2/new/deeper');
      await sbx.files.write('w2/new/deeper/file.txt', 'hi');
      await until(events, (e) => e.name === 'new/deeper/file.txt' && e.type === 'write');
      await handle.stop();
      assert.ok(events.some((e) => e.name === 'new' && e.type === 'create'));
    });

    test('includeEntry attaches the EntryInfo of created and written files', async () => {
      await sbx.files.makeDir('w3');
      const events = [];
      const handle = await sbx.files.watchDir('w3', (e) => events.push(e), { includeEntry: true });
      await sbx.files.write('w3/e.txt', 'entry');
      await until(events, (e) => e.type === 'write');
      await handle.stop();
      const created = events.find((e) => e.type === 'create');
      assert.deepEqual([created.entry.name, created.entry.path, created.entry.type], ['e.txt', '/home/user/w3/e.txt', 'file']);
      assert.ok(created.entry.modifiedTime instanceof Date);
    });

    test('user picks the home a relative watch path resolves against', async () => {
      await sbx.files.makeDir('watched', { user: 'root' });
      const events = [];
      const handle = await sbx.files.watchDir('watched', (e) => events.push(e), { user: 'root' });
      await sbx.files.write('/root/watched/mine.txt', 'x', { user: 'root' });
      await until(events, (e) => e.name === 'mine.txt' && e.type === 'write');
      await handle.stop();
      assert.equal(await sbx.files.exists('watched'), false, 'not under /home/user');
    });

    test('onEvent is awaited: events reach it one at a time', async () => {
      await sbx.files.makeDir('w4');
      const seen = [];
      let running = 0;
      let overlapped = false;
      const handle = await sbx.files.watchDir('w4', async (e) => {
        overlapped ||= running++ > 0;
        await new Promise((r) => setTimeout(r, 20));
        seen.push(e.name);
        running--;
      });
      await sbx.commands.run('for i in 1 2 3 4 5; do touch w4/n$i; done');
      await until(seen, (n) => n === 'n5');
      await handle.stop();
      assert.deepEqual(seen.filter((n, i) => seen.indexOf(n) === i), ['n1', 'n2', 'n3', 'n4', 'n5']);
      assert.equal(overlapped, false);
    });

    test('onExit gets the timeout, a throwing onEvent\'s error, or the signal\'s cancellation', async () => {
      await sbx.files.makeDir('w5');
      const timeout = exitRecorder();
      await sbx.files.watchDir('w5', () => {}, { timeoutMs: 300, onExit: timeout.onExit });
      const [expired] = await timeout.first;
      assert.ok(expired instanceof sdk.TimeoutError);
      assert.match(expired.message, /^\[deadline_exceeded\] .*'timeoutMs'/);

      const boom = new Error('onEvent failed');
      const thrown = exitRecorder();
      await sbx.files.watchDir('w5', () => { throw boom; }, { onExit: thrown.onExit });
      await sbx.files.write('w5/trigger.txt', 'x');
      assert.equal((await thrown.first)[0], boom);

      const controller = new AbortController();
      const aborted = exitRecorder();
      await sbx.files.watchDir('w5', () => {}, { signal: controller.signal, onExit: aborted.onExit });
      controller.abort();
      const [cancelled] = await aborted.first;
      assert.ok(cancelled instanceof sdk.TimeoutError);
      assert.match(cancelled.message, /^\[canceled\]/);

      const failingExit = exitRecorder();
      const handle = await sbx.files.watchDir('w5', () => {}, {
        onExit: (...args) => {
          failingExit.onExit(...args);
          throw new Error('ignored');
        },
      });
      await handle.stop();
      await failingExit.first;
      for (const recorder of [timeout, thrown, aborted, failingExit]) assert.equal(recorder.calls.length, 1);
    });

    test('watching a missing path or a file fails with the official classes', async () => {
      const missing = await sbx.files.watchDir('no-such-dir', () => {}).catch((e) => e);
      assert.ok(missing instanceof sdk.FileNotFoundError, `${missing?.name}: ${missing?.message}`);
      await sbx.files.write('plain.txt', 'x');
      const notDir = await sbx.files.watchDir('plain.txt', () => {}).catch((e) => e);
      assert.ok(notDir instanceof sdk.InvalidArgumentError, `${notDir?.name}: ${notDir?.message}`);
    });

    test('a sandbox killed under a watch ends it with TimeoutError', async () => {
      const victim = await sdk.Sandbox.create();
      const exit = exitRecorder();
      await victim.files.watchDir('.', () => {}, { onExit: exit.onExit });
      await sdk.Sandbox.kill(victim.sandboxId);
      const [reason] = await exit.first;
      assert.ok(reason instanceof sdk.TimeoutError, `${reason?.name}: ${reason?.message}`);
      assert.equal(exit.calls.length, 1);
    });
  });
}
