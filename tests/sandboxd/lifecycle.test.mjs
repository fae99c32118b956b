// Control-plane lifecycle through the official `e2b` SDK, configured only by the three
// environment variables: create, getInfo, list, setTimeout, expiry, kill, pause/connect.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { Sandbox, SandboxNotFoundError, AuthenticationError } from 'e2b';
import { envdPidOf, startSandboxdForSdk } from '../helpers/sandboxd.mjs';
import { waitUntil, listAll, uniqueTag } from './util.mjs';

let sd;
before(async () => {
  sd = await startSandboxdForSdk();
});
after(async () => {
  await sd?.stop();
});

describe('create and inspect', () => {
  test('create keeps metadata, env vars and the timeout; getInfo reports them', async () => {
    const tag = uniqueTag();
    const before = Date.now();
    const sbx = await Sandbox.create({ metadata: { suite: tag, kind: 'first' }, envs: { GREETING: 'hello from create' }, timeoutMs: 120_000 });
    try {
      assert.match(sbx.sandboxId, /^i[a-z0-9]{20}$/);
      const info = await sbx.getInfo();
      assert.equal(info.sandboxId, sbx.sandboxId);
      assert.equal(info.name, 'base');
      assert.deepEqual(info.metadata, { suite: tag, kind: 'first' });
      assert.equal(info.state, 'running');
      const lifetime = info.endAt.getTime() - info.startedAt.getTime();
      assert.ok(lifetime > 110_000 && lifetime <= 121_000, `endAt - startedAt = ${lifetime} ms`);
      assert.ok(info.startedAt.getTime() >= before - 1000);

      const out = await sbx.commands.run('echo "$GREETING"; whoami; pwd');
      assert.equal(out.stdout, 'hello from create\nuser\n/home/user\n');
    } finally {
      await sbx.kill();
    }
  });

  test('an unknown template gets E2B\'s 404 and creates nothing', async () => {
    const running = (await listAll({ state: ['running'] })).length;
    await assert.rejects(Sandbox.create('no-such-template'), (err) => {
      assert.match(err.message, /404: template 'no-such-template' not found/);
      return true;
    });
    assert.equal((await listAll({ state: ['running'] })).length, running);
  });

  test('unknown sandboxes: getInfo throws SandboxNotFoundError, kill returns false', async () => {
    await assert.rejects(Sandbox.getInfo('inosuchsandbox0000000'), SandboxNotFoundError);
    assert.equal(await Sandbox.kill('inosuchsandbox0000000'), false);
    await assert.rejects(Sandbox.connect('inosuchsandbox0000000'), SandboxNotFoundError);
  });

  test('a wrong API key is refused with AuthenticationError', async () => {
    const wrongKey = `e2b_${'0'.repeat(40)}`;
    await assert.rejects(Sandbox.create({ apiKey: wrongKey }), AuthenticationError);
    await assert.rejects(Sandbox.list({ apiKey: wrongKey }).nextItems(), AuthenticationError);
    const res = await fetch(`${sd.apiUrl}/v2/sandboxes`);
    assert.equal(res.status, 401);
    assert.deepEqual(await res.json(), { code: 401, message: 'authorization header is missing' });
  });
});

describe('list', () => {
  test('filters by metadata and state, and pages one sandbox at a time', async () => {
    const tag = uniqueTag();
    const sandboxes = [];
    try {
      for (let i = 0; i < 3; i++) {
        sandboxes.push(await Sandbox.create({ metadata: { suite: tag, index: String(i) } }));
      }
      const other = await Sandbox.create({ metadata: { suite: `${tag}-other` } });
      sandboxes.push(other);
      assert.equal(await sandboxes[0].pause(), true);

      const all = await listAll({ metadata: { suite: tag } });
      assert.deepEqual(all.map((s) => s.sandboxId).sort(), sandboxes.slice(0, 3).map((s) => s.sandboxId).sort());
      assert.deepEqual(all.map((s) => s.metadata.index), ['2', '1', '0'], 'newest first');

      const running = await listAll({ metadata: { suite: tag }, state: ['running'] });
      assert.deepEqual(running.map((s) => s.metadata.index), ['2', '1']);
      const paused = await listAll({ metadata: { suite: tag }, state: ['paused'] });
      assert.deepEqual(paused.map((s) => [s.metadata.index, s.state]), [['0', 'paused']]);

      const pageSizes = [];
      const paginator = Sandbox.list({ query: { metadata: { suite: tag } }, limit: 1 });
      const paged = [];
      while (paginator.hasNext) {
        const items = await paginator.nextItems();
        pageSizes.push(items.length);
        paged.push(...items.map((s) => s.sandboxId));
      }
      assert.deepEqual(pageSizes, [1, 1, 1]);
      assert.deepEqual(paged, all.map((s) => s.sandboxId));

      const ascending = await listAll({ metadata: { suite: tag } }, 'asc');
      assert.deepEqual(ascending.map((s) => s.metadata.index), ['0', '1', '2']);

      const special = await Sandbox.create({ metadata: { 'a b&c': 'x=y%z' } });
      sandboxes.push(special);
      const found = await listAll({ metadata: { 'a b&c': 'x=y%z' } });
      assert.deepEqual(found.map((s) => s.sandboxId), [special.sandboxId]);
    } finally {
      await Promise.all(sandboxes.map((s) => s.kill()));
    }
  });
});

describe('timeouts', () => {
  test('setTimeout counts from now and may shorten', async () => {
    const sbx = await Sandbox.create({ timeoutMs: 600_000 });
    try {
      await sbx.setTimeout(60_000);
      const { endAt } = await sbx.getInfo();
      const left = endAt.getTime() - Date.now();
      assert.ok(left > 50_000 && left <= 61_000, `${left} ms left`);
    } finally {
      await sbx.kill();
    }
  });

  test('a short timeout ends the sandbox; it is then gone everywhere', async () => {
    const sbx = await Sandbox.create({ timeoutMs: 2_000 });
    assert.equal(await sbx.isRunning(), true);
    await waitUntil(async () => !(await sbx.isRunning()), 30_000, 'sandbox still running after its timeout');
    await assert.rejects(sbx.getInfo(), SandboxNotFoundError);
    const listed = await listAll({});
    assert.ok(!listed.some((s) => s.sandboxId === sbx.sandboxId));
    assert.equal(await Sandbox.kill(sbx.sandboxId), false);
  });

  test('timeouts above the 24 h limit and malformed bodies are refused with 400', async () => {
    const tooLong = 25 * 3600 * 1000;
    await assert.rejects(Sandbox.create({ timeoutMs: tooLong }), /400: Timeout cannot be greater than 24 hours/);
    const sbx = await Sandbox.create();
    try {
      await assert.rejects(sbx.setTimeout(tooLong), /400: Timeout cannot be greater than 24 hours/);
      const res = await fetch(`${sd.apiUrl}/v2/sandboxes`, {
        method: 'POST',
        headers: { 'X-API-Key': sd.apiKey, 'Content-Type': 'application/json' },
        body: '{"templateID": ',
      });
      assert.equal(res.status, 400);
      const body = await res.json();
      assert.equal(body.code, 400);
      assert.match(body.message, /invalid request body/);
    } finally {
      await sbx.kill();
    }
  });

  test('connect never shortens the timeout', async () => {
    const sbx = await Sandbox.create({ timeoutMs: 600_000 });
    try {
      const before = (await sbx.getInfo()).endAt.getTime();
      const again = await Sandbox.connect(sbx.sandboxId, { timeoutMs: 30_000 });
      assert.equal(again.sandboxId, sbx.sandboxId);
      assert.ok((await sbx.getInfo()).endAt.getTime() >= before);
    } finally {
      await sbx.kill();
    }
  });
});

describe('kill, pause and resume', () => {
  test('kill ends the sandbox: isRunning false, commands fail, getInfo not found', async () => {
    const sbx = await Sandbox.create();
    assert.equal(await sbx.isRunning(), true);
    assert.equal(await sbx.kill(), true);
    assert.equal(await sbx.isRunning(), false);
    await assert.rejects(sbx.getInfo(), SandboxNotFoundError);
    await assert.rejects(sbx.commands.run('true'));
    assert.equal(await sbx.kill(), false);
  });

  test('pause freezes; connect resumes with the file and the background process intact', async () => {
    const sbx = await Sandbox.create({ timeoutMs: 300_000 });
    try {
      await sbx.files.write('/home/user/kept.txt', 'written before pause');
      const bg = await sbx.commands.run('sleep 600', { background: true, timeoutMs: 0 });
      assert.equal(await sbx.pause(), true);
      assert.equal(await sbx.pause(), false, 'a second pause reports "already paused"');
      assert.equal((await sbx.getInfo()).state, 'paused');
      assert.equal(await sbx.isRunning(), false);

      const resumed = await Sandbox.connect(sbx.sandboxId);
      assert.equal(await resumed.isRunning(), true);
      assert.equal((await resumed.getInfo()).state, 'running');
      assert.equal(await resumed.files.read('/home/user/kept.txt'), 'written before pause');
      const procs = await resumed.commands.list();
      assert.ok(procs.some((p) => p.pid === bg.pid), `pid ${bg.pid} not in ${JSON.stringify(procs)}`);
      const alive = await resumed.commands.run(`kill -0 ${bg.pid} && echo alive`);
      assert.equal(alive.stdout, 'alive\n');
    } finally {
      await Sandbox.kill(sbx.sandboxId);
    }
  });

  test('a filesystem-only pause keeps files and resumes through connect', async () => {
    const sbx = await Sandbox.create({ timeoutMs: 300_000 });
    try {
      await sbx.files.write('/home/user/disk.txt', 'on disk');
      assert.equal(await sbx.pause({ keepMemory: false }), true);
      const resumed = await sbx.connect();
      assert.equal(await resumed.files.read('/home/user/disk.txt'), 'on disk');
      assert.equal((await resumed.commands.run('echo ok')).stdout, 'ok\n');
    } finally {
      await Sandbox.kill(sbx.sandboxId);
    }
  });

  test('traffic resumes a paused sandbox created with autoResume', async () => {
    const sbx = await Sandbox.create({ lifecycle: { onTimeout: 'pause', autoResume: true } });
    try {
      await sbx.files.write('/home/user/wake.txt', 'awake');
      assert.equal(await sbx.pause(), true);
      assert.equal((await sbx.getInfo()).state, 'paused');
      assert.equal(await sbx.files.read('/home/user/wake.txt'), 'awake');
      assert.equal((await sbx.getInfo()).state, 'running');
      assert.deepEqual((await sbx.getInfo()).lifecycle, { onTimeout: 'pause', autoResume: true });
    } finally {
      await Sandbox.kill(sbx.sandboxId);
    }
  });

  test('a timeout with onTimeout "pause" pauses instead of killing', async () => {
    const sbx = await Sandbox.create({ timeoutMs: 2_000, lifecycle: { onTimeout: 'pause' } });
    try {
      await sbx.files.write('/home/user/auto.txt', 'auto');
      await waitUntil(async () => (await sbx.getInfo()).state === 'paused', 30_000, 'not paused after timeout');
      const resumed = await Sandbox.connect(sbx.sandboxId);
      assert.equal(await resumed.files.read('/home/user/auto.txt'), 'auto');
    } finally {
      await Sandbox.kill(sbx.sandboxId);
    }
  });
});

describe('sandboxes that end on their own', () => {
  test('a sandbox whose envd dies is removed and reported gone', async () => {
    const sbx = await Sandbox.create();
    const envdPid = envdPidOf(sbx.sandboxId);
    assert.ok(envdPid, 'envd of the sandbox not found on the host');
    process.kill(envdPid, 'SIGKILL');
    await waitUntil(async () => !(await listAll({})).some((s) => s.sandboxId === sbx.sandboxId), 30_000, 'still listed');
    await assert.rejects(sbx.getInfo(), SandboxNotFoundError);
    assert.equal(await sbx.isRunning(), false);
  });
});

describe('metrics', () => {
  test('samples come from the sandbox and appear within seconds', async () => {
    const sbx = await Sandbox.create();
    try {
      let metrics = [];
      await waitUntil(async () => (metrics = await sbx.getMetrics()).length > 0, 30_000, 'no metrics');
      const [m] = metrics;
      assert.equal(m.cpuCount, 2);
      assert.equal(m.memTotal, 512 * 1024 * 1024);
      assert.ok(m.memUsed > 0 && m.memUsed < m.memTotal);
      assert.ok(m.diskTotal > 0);
      const past = await sbx.getMetrics({ start: new Date(0), end: new Date(1000) });
      assert.deepEqual(past, []);

      const res = await fetch(`${sd.apiUrl}/sandboxes/metrics?sandbox_ids=${sbx.sandboxId},inosuchsandbox0000000`, {
        headers: { 'X-API-Key': sd.apiKey },
      });
      const { sandboxes } = await res.json();
      assert.deepEqual(Object.keys(sandboxes), [sbx.sandboxId]);
      assert.equal(sandboxes[sbx.sandboxId].memTotal, 512 * 1024 * 1024);
    } finally {
      await sbx.kill();
    }
  });
});
