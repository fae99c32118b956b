// Built-in templates (`serve --builtin-templates DIR`): a create of `<name>` that the server
// has not built, where `DIR/<name>/e2b.Dockerfile` exists, builds it first (once, however many
// creates ask at the same time) with the start and ready commands of its `e2b.toml`, then
// starts the sandbox. From the attacker's side: a template ID that is a path, or names
// nothing in the dir, builds nothing and reads nothing outside it; a failing build answers a
// 500 without host paths, and a later create tries again.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Sandbox } from 'e2b';
import { startSandboxdForSdk } from '../helpers/sandboxd.mjs';
import { sandboxdApi, stdoutOf as ok, uniqueTag } from './util.mjs';

const tag = uniqueTag();
let sd;
let builtins;

/** `DIR/<name>/` with `files` (path → content). */
function builtin(name, files) {
  const dir = join(builtins, name);
  mkdirSync(dir, { recursive: true });
  for (const [path, content] of Object.entries(files)) writeFileSync(join(dir, path), content);
}

const buildsOf = (name) => sd.logs().split('\n').filter((line) => line === `sandboxd: building ${name} on its first use`).length;

before(async () => {
  builtins = mkdtempSync(join(tmpdir(), 'sandboxd-builtins-'));
  builtin('tiny', {
    'e2b.Dockerfile': `FROM base\nCOPY hello.txt /opt/hello.txt\nRUN echo "built ${tag}" > /opt/built\n`,
    'hello.txt': 'hello from the template dir\n',
    // E2B's CLI keys: the start command, and a ready command that waits for it.
    'e2b.toml': 'start_cmd = "echo started > /tmp/started && sleep 1000"\nready_cmd = "test -f /tmp/started"\n' +
      'cpu_count = 1\nmemory_mb = 1024\n',
  });
  builtin('broken', { 'e2b.Dockerfile': 'FROM base\nRUN echo failing on purpose && exit 3\n' });
  // Outside the built-in dir: a template ID that climbs out must not reach it.
  mkdirSync(join(builtins, '..', `outside-${tag}`), { recursive: true });
  writeFileSync(join(builtins, '..', `outside-${tag}`, 'e2b.Dockerfile'), 'FROM base\nRUN touch /escaped\n');
  sd = await startSandboxdForSdk({ args: ['--builtin-templates', builtins] });
});
after(async () => {
  await sd?.stop();
  rmSync(builtins, { recursive: true, force: true });
  rmSync(join(builtins, '..', `outside-${tag}`), { recursive: true, force: true });
});

describe('a built-in template', () => {
  test('is built on its first create, once for creates at the same time, with its e2b.toml commands', async () => {
    const [a, b] = await Promise.all([Sandbox.create('tiny'), Sandbox.create('tiny')]);
    try {
      assert.equal(buildsOf('tiny'), 1);
      for (const sbx of [a, b]) {
        assert.equal(await ok(sbx, 'cat /opt/built /opt/hello.txt'), `built ${tag}\nhello from the template dir`);
        // The start command ran, and the ready command waited for it.
        assert.equal(await ok(sbx, 'cat /tmp/started'), 'started');
      }
      // Its build log went to sandboxd's log, named.
      assert.match(sd.logs(), /sandboxd: building tiny: .*RUN echo "built/);
    } finally {
      await Promise.all([a.kill(), b.kill()]);
    }
  });

  test("its sandboxes get the template's cpu_count and memory_mb, in the host's cgroup too", async () => {
    const sbx = await Sandbox.create('tiny');
    try {
      const info = await sbx.getInfo();
      assert.deepEqual([info.cpuCount, info.memoryMB], [1, 1024]);
      const instance = readFileSync(join(sd.dataDir, 'runtime', 'instance'), 'utf8').trim();
      const v1 = `/sys/fs/cgroup/memory/sandboxd-${instance}/${sbx.sandboxId}/memory.limit_in_bytes`;
      const v2 = `/sys/fs/cgroup/sandboxd-${instance}/${sbx.sandboxId}/memory.max`;
      const limit = readFileSync(existsSync(v1) ? v1 : v2, 'utf8').trim();
      assert.equal(Number(limit), 1024 * 1024 * 1024);
    } finally {
      await sbx.kill();
    }
  });

  test('is not built again once built', async () => {
    const sbx = await Sandbox.create('tiny');
    await sbx.kill();
    assert.equal(buildsOf('tiny'), 1);
  });

  test('a failing build answers 500 without host paths, and the next create builds again', async () => {
    for (const attempt of [1, 2]) {
      const error = await Sandbox.create('broken').then(
        () => assert.fail('a broken template gave a sandbox'),
        (e) => e,
      );
      assert.match(error.message, /building the template 'broken' on its first use failed/);
      assert.doesNotMatch(error.message, new RegExp(`${sd.dataDir}|${builtins}`));
      assert.equal(buildsOf('broken'), attempt);
    }
    // The reason is in sandboxd's log.
    assert.match(sd.logs(), /failing on purpose/);
  });
});

describe('from the attacker side', () => {
  for (const id of [`../outside-${tag}`, `..%2Foutside-${tag}`, 'TINY', 'tiny/..', '.', 'nothing-here']) {
    test(`a create of ${JSON.stringify(id)} builds nothing and answers 404`, async () => {
      const res = await sandboxdApi(sd, '/sandboxes', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ templateID: id }) });
      assert.equal(res.status, 404, await res.text());
      assert.doesNotMatch(sd.logs(), /outside-|building (\.|TINY|nothing)/);
    });
  }
});
