// code-interpreter-v1 from a warm pool: the execution server (and Python's kernel) started
// before any create, while the sandbox had no access token yet. A claim gives the sandbox its
// token through envd; the server asks envd on each /execute, so the claimed sandbox must refuse
// a request without it, and the create must be as fast as a pooled `base`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';

import { Sandbox } from '@e2b/code-interpreter';
import { waitUntil } from '../sandboxd/util.mjs';
import { rawExecute, startCodeInterpreterSandboxd } from './util.mjs';

const TEMPLATE_NAME = 'code-interpreter-v1';

let sd;

before(async () => {
  // The pool asks for the template first, so it also builds it when the data dir has none.
  sd = await startCodeInterpreterSandboxd(['--warm-pool', `${TEMPLATE_NAME}=1`], { firstUse: false });
});

after(async () => {
  await sd?.stop();
});

test('a pooled sandbox is claimed at once, runs code at once, and needs its token', async () => {
  const ready = new RegExp(`warm pool of ${TEMPLATE_NAME}: (i[a-z0-9]{20}) is ready`);
  await waitUntil(() => ready.test(sd.logs()), 600_000, 'the pool did not fill');
  const pooledId = ready.exec(sd.logs())[1];

  let started = Date.now();
  const sbx = await Sandbox.create({ envs: { CLAIMED_WITH: 'envs' } });
  const createMs = Date.now() - started;
  try {
    assert.equal(sbx.sandboxId, pooledId);
    assert.ok(createMs < 2000, `create took ${createMs} ms`);
    started = Date.now();
    const first = await sbx.runCode('import os\nos.environ.get("CLAIMED_WITH")');
    // The kernel was already running: no kernel start in the first cell.
    assert.ok(Date.now() - started < 2000, `the first runCode took ${Date.now() - started} ms`);
    // The create's envs reach the kernel that was started before them.
    assert.equal(first.text, 'envs');

    const marker = `/tmp/pwned-${randomBytes(4).toString('hex')}`;
    const res = await rawExecute(sbx, `open("${marker}", "w").write("x")`, {});
    assert.equal(res.status, 401);
    assert.equal(await sbx.files.exists(marker), false);
  } finally {
    await sbx.kill();
  }
});
