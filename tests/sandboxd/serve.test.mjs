// `sandboxd serve` itself: where the API key comes from, and what a start prints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { Sandbox, AuthenticationError } from 'e2b';
import { startSandboxd } from '../helpers/sandboxd.mjs';

const keyOf = (c) => `e2b_${c.repeat(40)}`;

test('the first start creates an e2b_ key in the data dir, prints it, and a restart keeps it', async () => {
  const sd = await startSandboxd();
  try {
    const stored = readFileSync(join(sd.dataDir, 'api-key'), 'utf8').trim();
    assert.match(stored, /^e2b_[0-9a-f]{40}$/);
    assert.equal(statSync(join(sd.dataDir, 'api-key')).mode & 0o777, 0o600);
    assert.match(sd.logs(), new RegExp(`E2B_API_KEY=${stored}`));
    assert.match(sd.logs(), new RegExp(`E2B_API_URL=${sd.apiUrl} E2B_SANDBOX_URL=${sd.sandboxUrl}`));
  } finally {
    await sd.stop({ keepDataDir: true });
  }
  const again = await startSandboxd({ dataDir: sd.dataDir });
  try {
    assert.equal(again.apiKey, sd.apiKey);
    assert.doesNotMatch(again.logs(), /created an API key/);
  } finally {
    await again.stop();
  }
});

for (const [how, options] of [
  ['--api-key', { apiKey: keyOf('a') }],
  ['E2B_API_KEY', { env: { E2B_API_KEY: keyOf('b') } }],
]) {
  test(`${how} replaces the stored key for that run`, async () => {
    const sd = await startSandboxd(options);
    try {
      assert.equal(existsSync(join(sd.dataDir, 'api-key')), false, 'a given key is not written to disk');
      Object.assign(process.env, sd.env);
      const sbx = await Sandbox.create();
      assert.equal((await sbx.commands.run('echo ok')).stdout, 'ok\n');
      await sbx.kill();
      await assert.rejects(Sandbox.list({ apiKey: keyOf('c') }).nextItems(), AuthenticationError);
    } finally {
      await sd.stop();
    }
  });
}
