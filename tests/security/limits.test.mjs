// Issue 12's limits, attacked from inside a sandbox and checked on the host: a cap on the
// processes of all sandboxes together, sandboxes frozen by a memory pause dying with a killed
// sandboxd, envd's log bounded and served, and `diskSizeMB` enforced on the writable layer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { NotEnoughSpaceError } from 'e2b';
import { startSandboxd } from '../helpers/sandboxd.mjs';
import { createSandbox, startSuiteSandboxd } from '../helpers/test-template.mjs';
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
  const sd = await startSuiteSandboxd({ args: ['--max-processes', '300'] });
  try {
    const [a, b] = await Promise.all([createSandbox(), createSandbox()]);
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
  const sd = await startSuiteSandboxd();
  const sbx = await createSandbox();
  await sbx.commands.run('sleep 600', { background: true, timeoutMs: 0 });
  await sbx.pause({ keepMemory: true });
  const pids = hostPids(sd, sbx.sandboxId);
  assert.ok(pids.length >= 2, `sandbox processes on the host: ${pids}`);

  await sd.crash();
  const alive = () => pids.filter((p) => existsSync(`/proc/${p}`));
  await waitUntil(() => alive().length === 0, 15_000, `frozen sandbox processes outlived sandboxd: ${alive()}`);
  assert.deepEqual(hostPids(sd, sbx.sandboxId), []);
  // Its disk image (and the spare ones) are unmounted too, without waiting for a restart.
  const mounted = () => readFileSync('/proc/self/mountinfo', 'utf8').includes(sd.dataDir);
  await waitUntil(() => !mounted(), 15_000, 'layer images stayed mounted after the crash');

  // The next start finds the sandbox filesystem-paused and cleans the rest up.
  const again = await startSandboxd({ dataDir: sd.dataDir });
  await again.stop();
});

/** Bytes allocated under `dir` on the host disk (`du -x`: not inside the layers mounted there). */
const hostDiskUsage = (dir) => Number(execFileSync('du', ['-sx', '--block-size=1', dir]).toString().split('\t')[0]);
const rssBytes = (pid) => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;

test("1 GiB aimed at envd's stdout as root leaves host disk and sandboxd's memory bounded; the log is served", async () => {
  const sd = await startSuiteSandboxd();
  try {
    const sbx = await createSandbox();
    const [diskBefore, rssBefore] = [hostDiskUsage(sd.dataDir), rssBytes(sd.pid)];
    // envd's stdout is not a file the sandbox can grow: with its own user namespace, even its
    // root cannot open /proc/1/fd/1 (envd's memory and descriptors belong to the host's
    // namespace); were it opened, the bytes would land in a bounded ring in sandboxd.
    const flood = await sbx.commands.run(
      `yes "flood $(head -c 1000 /dev/zero | tr '\\0' x)" | (head -c 1073741824 > /proc/1/fd/1) 2>&1; echo written`,
      { user: 'root', timeoutMs: 300_000 },
    );
    assert.match(flood.stdout, /Permission denied[^]*written\n$/, 'sandbox root opened envd\'s stdout');
    const [diskAfter, rssAfter] = [hostDiskUsage(sd.dataDir), rssBytes(sd.pid)];
    assert.ok(diskAfter - diskBefore < 16 << 20, `host disk of the data dir grew by ${diskAfter - diskBefore} bytes`);
    assert.ok(rssAfter - rssBefore < 64 << 20, `sandboxd's RSS grew by ${rssAfter - rssBefore} bytes`);
    assert.equal((await sbx.commands.run('echo still works')).stdout, 'still works\n');

    const get = async (path) => {
      const res = await fetch(new URL(path, sd.apiUrl), { headers: { 'X-API-Key': sd.apiKey } });
      assert.equal(res.status, 200, path);
      return res.json();
    };
    const v2 = await get(`/v2/sandboxes/${sbx.sandboxId}/logs?direction=backward&limit=5`);
    assert.ok(v2.logs.length >= 1 && v2.logs.length <= 5);
    assert.deepEqual(Object.keys(v2.logs[0]).sort(), ['fields', 'level', 'message', 'timestamp']);
    const v1 = await get(`/sandboxes/${sbx.sandboxId}/logs`);
    assert.ok(v1.logs.length <= 1000 && v1.logs.length === v1.logEntries.length);
    const line = JSON.parse(v1.logs.at(-1).line);
    assert.equal(line.level, 'info');
    const kept = await get(`/v2/sandboxes/${sbx.sandboxId}/logs?limit=1000&search=flood`);
    const keptBytes = kept.logs.reduce((n, l) => n + l.message.length, 0);
    assert.ok(keptBytes <= 256 * 1024, `the ring keeps ${keptBytes} bytes`);

    // A fresh sandbox's log holds the runtime's start-up lines and envd's own line.
    const other = await createSandbox();
    const boot = await get(`/v2/sandboxes/${other.sandboxId}/logs`);
    const messages = boot.logs.map((l) => l.message);
    assert.ok(messages.some((m) => m.startsWith(`starting sandbox ${other.sandboxId}`)), messages.join('\n'));
    assert.ok(messages.includes('envd is ready'), messages.join('\n'));
    assert.equal((await fetch(new URL('/v2/sandboxes/nope/logs', sd.apiUrl), { headers: { 'X-API-Key': sd.apiKey } })).status, 404);
    assert.equal((await fetch(new URL(`/v2/sandboxes/${other.sandboxId}/logs?direction=up`, sd.apiUrl), { headers: { 'X-API-Key': sd.apiKey } })).status, 400);
  } finally {
    await sd.stop();
  }
});

test('diskSizeMB bounds the writable layer: ENOSPC inside, 507 on upload, the host disk untouched', async () => {
  const sd = await startSuiteSandboxd({ args: ['--sandbox-disk-mb', '128'] });
  try {
    const sbx = await createSandbox();
    const diskBefore = hostDiskUsage(sd.dataDir);
    const size = await sbx.commands.run("df -m --output=size / | tail -1");
    const sizeMb = Number(size.stdout.trim());
    assert.ok(sizeMb > 100 && sizeMb <= 128, `df inside says ${sizeMb} MiB`);

    // Root writing 400 MiB gets ENOSPC at the sandbox's size, not the host's.
    const dd = await sbx.commands.run('dd if=/dev/urandom of=/root/big bs=1M count=400 2>&1', { user: 'root', timeoutMs: 120_000 }).catch((e) => e);
    assert.notEqual(dd.exitCode, 0);
    assert.match(dd.stdout, /No space left on device/);
    assert.ok(hostDiskUsage(sd.dataDir) - diskBefore < 140 << 20, `host disk grew by ${hostDiskUsage(sd.dataDir) - diskBefore}`);
    const metrics = await sbx.getMetrics();
    assert.ok(metrics.length === 0 || metrics.at(-1).diskTotal === 128 << 20);

    // An upload past the free space: 507, and no half-written file.
    await sbx.commands.run('rm /root/big', { user: 'root' });
    await assert.rejects(sbx.files.write('/home/user/upload.bin', new Uint8Array(200 << 20).fill(1)), NotEnoughSpaceError);
    assert.equal(await sbx.files.exists('/home/user/upload.bin'), false);
    assert.ok(hostDiskUsage(sd.dataDir) - diskBefore < 140 << 20);

    // The space is there again once freed, and a disk pause keeps the layer (and its size).
    await sbx.files.write('/home/user/small.txt', 'fits');
    assert.equal(await sbx.pause({ keepMemory: false }), true);
    const layerMounts = () => sd.leaks().filter((l) => l.startsWith('mount:') && l.includes(`/layers/${sbx.sandboxId}/`));
    assert.deepEqual(layerMounts(), [], 'a paused layer is not mounted');
    const resumed = await sbx.connect();
    assert.equal(await resumed.files.read('/home/user/small.txt'), 'fits');
    assert.equal(Number((await resumed.commands.run("df -m --output=size / | tail -1")).stdout.trim()), sizeMb);
  } finally {
    await sd.stop();
  }
});
