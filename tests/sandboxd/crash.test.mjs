// kill -9 of sandboxd with sandboxes running, then a restart on the same data dir: nothing of
// the old run may be left on the host, and the data dir must make sense to the new run
// (sandboxes that were running come back as filesystem-paused and resume with their files).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Sandbox, SandboxNotFoundError } from 'e2b';
import { startSandboxdForSdk } from '../helpers/sandboxd.mjs';
import { listAll } from './util.mjs';

test('crash and restart leak nothing and keep the data dir consistent', async () => {
  const first = await startSandboxdForSdk();
  const kept = await Sandbox.create({ metadata: { role: 'kept' } });
  await kept.files.write('/home/user/survives.txt', 'written before the crash');
  const busy = await Sandbox.create({ metadata: { role: 'busy' } });
  await busy.commands.run('sleep 600', { background: true, timeoutMs: 0 });
  const paused = await Sandbox.create({ metadata: { role: 'paused' } });
  await paused.pause();
  assert.ok(first.leaks().length > 0, 'a running sandboxd owns host resources');

  await first.crash();

  const second = await startSandboxdForSdk({ dataDir: first.dataDir });
  try {
    assert.equal(second.apiKey, first.apiKey, 'the stored key survives');
    // The old run's sandboxes have no processes any more; nothing else of the old run survives
    // the restart's cleanup, so the only owned resources are the new sandboxd process itself.
    const leftovers = second.leaks().filter((l) => !l.startsWith(`process ${second.pid}:`));
    assert.deepEqual(leftovers, []);

    const listed = await listAll({});
    assert.deepEqual(
      listed.map((s) => [s.metadata.role, s.state]).sort(),
      [['busy', 'paused'], ['kept', 'paused'], ['paused', 'paused']],
    );
    const resumed = await Sandbox.connect(kept.sandboxId);
    assert.equal(await resumed.files.read('/home/user/survives.txt'), 'written before the crash');
    const rebooted = await Sandbox.connect(busy.sandboxId);
    const sleeping = await rebooted.commands.run('pgrep -x sleep || echo none');
    assert.equal(sleeping.stdout, 'none\n', 'processes of the crashed run are gone');

    assert.equal(await Sandbox.kill(busy.sandboxId), true);
    await assert.rejects(Sandbox.getInfo(busy.sandboxId), SandboxNotFoundError);
  } finally {
    await second.stop();
  }
});

test('Ctrl-C kills running sandboxes and leaves nothing behind', async () => {
  const sd = await startSandboxdForSdk();
  await Promise.all([Sandbox.create(), Sandbox.create()]);
  await sd.stop({ keepDataDir: true });
  const again = await startSandboxdForSdk({ dataDir: sd.dataDir });
  try {
    assert.deepEqual(await listAll({}), []);
  } finally {
    await again.stop();
  }
});
