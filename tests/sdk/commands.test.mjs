// Commands through both SDKs against a real sandboxd: foreground and background runs, output
// callbacks, exit codes, stdin, reconnecting, listing, killing, timeouts and a sandbox killed
// while a command streams.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { startSandboxdForSdk } from '../helpers/sandboxd.mjs';
import { implementations } from './implementations.mjs';
import { defineCommandTests } from './command-cases.mjs';

let sd;
before(async () => {
  sd = await startSandboxdForSdk();
});
after(async () => {
  await sd?.stop();
});

defineCommandTests('sandboxd', (sdk) => sdk.Sandbox.create());

for (const [name, sdk] of implementations) {
  const { Sandbox } = sdk;

  describe(`${name}: a sandbox killed mid-stream`, () => {
    test('the running command fails with TimeoutError', async () => {
      const sbx = await Sandbox.create();
      const handle = await sbx.commands.run('sleep 60', { background: true });
      await Sandbox.kill(sbx.sandboxId);
      await assert.rejects(handle.wait(), (err) => {
        assert.ok(err instanceof sdk.TimeoutError, `${err.name}: ${err.message}`);
        return true;
      });
      await assert.rejects(sbx.commands.run('true'), (err) => err instanceof sdk.SandboxError);
    });
  });
}
