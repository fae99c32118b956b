// Issue 12's limits, attacked from inside a sandbox and checked on the host: a cap on the
// processes of all sandboxes together, sandboxes frozen by a memory pause dying with a killed
// sandboxd, envd's log bounded and served, and `diskSizeMB` enforced on the writable layer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { Sandbox } from 'e2b';
import { startSandboxd } from '../helpers/sandboxd.mjs';
import { waitUntil } from '../sandboxd/util.mjs';

const instanceOf = (sd) => readFileSync(join(sd.dataDir, 'runtime', 'instance'), 'utf8').trim();

/** Host PIDs of the processes in sandbox `id`'s cgroup (any hierarchy). */
function hostPids(sd, id) {
  const mark = `sandboxd-${instanceOf(sd)}/${id}`;
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cgroup`, 'utf8').includes(mark);
      } catch {
        return false;
      }
    });
}

// Forks children that sleep `seconds` until fork fails, prints how many it made and holds on
// to them for as long (envd ends a command's children with the command).
const forkUntilRefused = (seconds) =>
  `python3 -c "
import os, sys, time
n = 0
try:
    while n < 5000:
        if os.fork() == 0:
            time.sleep(${seconds})
            os._exit(0)
        n += 1
except OSError:
    pass
print(n)
sys.stdout.flush()
time.sleep(${seconds})
"`;

test('fork bombs in two sandboxes stop at the instance-wide process cap; the host can still fork', async () => {
  const sd = await startSandboxd({ args: ['--max-processes', '300'] });
  Object.assign(process.env, sd.env);
  try {
    const [a, b] = await Promise.all([Sandbox.create(), Sandbox.create()]);
    // The instance's cgroup: under the pids hierarchy (v1) or the unified one (v2).
    const v1 = `/sys/fs/cgroup/pids/sandboxd-${instanceOf(sd)}/pids.max`;
    const capFile = existsSync(v1) ? v1 : `/sys/fs/cgroup/sandboxd-${instanceOf(sd)}/pids.max`;
    const current = () => Number(readFileSync(capFile.replace('pids.max', 'pids.current'), 'utf8'));
    assert.equal(readFileSync(capFile, 'utf8').trim(), '300', 'the cap is set on the host cgroup');

    // Each sandbox alone may have 4096 processes; together they must stop at 300.
    const bombs = [a, b].map((s) =>
      s.commands.run(forkUntilRefused(10), { timeoutMs: 60_000 }).then(
        (r) => Number(r.stdout),
        () => 0,
      ),
    );
    await waitUntil(() => current() >= 290, 30_000, `the bombs did not reach the cap (${current()})`);
    assert.ok(current() <= 300, `host pids.current ${current()}`);
    // The host is not starved meanwhile.
    assert.equal(execFileSync('echo', ['host forks']).toString(), 'host forks\n');
    const [first, second] = await Promise.all(bombs);
    assert.ok(first + second < 300, `together ${first} + ${second}`);
    assert.ok(first + second > 200, `together ${first} + ${second}`);

    // Once the sleepers are gone, both sandboxes work again.
    await waitUntil(() => current() < 50, 30_000, 'the sleepers did not exit');
    assert.equal((await a.commands.run('echo ok')).stdout, 'ok\n');
    assert.equal((await b.commands.run('echo ok')).stdout, 'ok\n');
  } finally {
    await sd.stop();
  }
});

test('a memory-paused sandbox dies within seconds of kill -9 of sandboxd', async () => {
  const sd = await startSandboxd();
  Object.assign(process.env, sd.env);
  const sbx = await Sandbox.create();
  await sbx.commands.run('sleep 600', { background: true, timeoutMs: 0 });
  await sbx.pause({ keepMemory: true });
  const pids = hostPids(sd, sbx.sandboxId);
  assert.ok(pids.length >= 2, `sandbox processes on the host: ${pids}`);

  await sd.crash();
  const alive = () => pids.filter((p) => existsSync(`/proc/${p}`));
  await waitUntil(() => alive().length === 0, 5_000, `frozen sandbox processes outlived sandboxd: ${alive()}`);
  assert.deepEqual(hostPids(sd, sbx.sandboxId), []);

  // The next start finds the sandbox filesystem-paused and cleans the rest up.
  const again = await startSandboxd({ dataDir: sd.dataDir });
  await again.stop();
});
