// Packages built on `e2b` (`@e2b/code-interpreter`, `@e2b/desktop`) extend `Sandbox` and use its
// public constructor and protected members to reach their own server inside the sandbox. The
// same subclass, written against `e2b`'s members, runs here on both SDKs against sandboxd.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { useSandboxd } from '../helpers/sandboxd.mjs';
import { implementations } from './implementations.mjs';
import { ECHO_SERVER, SERVER_PORT, makeServerSandbox, startServerIn } from './server-sandbox.mjs';

useSandboxd();

for (const [name, sdk] of implementations) {
  describe(`${name}: subclassing Sandbox`, () => {
    const ServerSandbox = makeServerSandbox(sdk.Sandbox);

    test('create() builds the subclass through its constructor, with the official fields', async () => {
      const sbx = await ServerSandbox.create({ timeoutMs: 120_000, requestTimeoutMs: 20_000 });
      try {
        assert.ok(sbx instanceof ServerSandbox && sbx instanceof sdk.Sandbox);
        for (const key of ['sandboxId', 'envdVersion', 'envdAccessToken', 'apiKey', 'apiUrl', 'sandboxUrl', 'headers']) {
          assert.ok(sbx.constructedWith.includes(key), `constructor options lack ${key}`);
        }
        assert.ok(sbx.connectionConfig instanceof sdk.ConnectionConfig);
        assert.equal(sbx.connectionConfig.requestTimeoutMs, 20_000);
        assert.equal(sbx.connectionConfig.apiUrl, process.env.E2B_API_URL);
        assert.equal(sbx.connectionConfig.requestSource, undefined);
        assert.match(sbx.envdAccessToken, /^[0-9a-f]{64}$/);
        assert.equal(sbx.envdApiUrl, process.env.E2B_SANDBOX_URL);
        assert.equal(sbx.mcpToken, undefined);
        assert.equal(sbx.serverUrl, process.env.E2B_SANDBOX_URL);
        assert.ok(sbx.connectionConfig.getSignal() instanceof AbortSignal);
        assert.equal(sbx.connectionConfig.getSignal(0), undefined);

        await startServerIn(sbx, ECHO_SERVER, SERVER_PORT);
        const seen = await sbx.echo({ code: 'x = 1' });
        assert.equal(seen.method, 'POST');
        assert.equal(seen.path, '/execute');
        assert.deepEqual(JSON.parse(seen.body), { code: 'x = 1' });
        // The sandbox-side server receives the access token the subclass read from `this`.
        assert.equal(seen.headers['x-access-token'], sbx.envdAccessToken);
      } finally {
        await sbx.kill();
      }
    });

    test('the public constructor attaches to a running sandbox from its fields alone', async () => {
      const first = await ServerSandbox.create({ timeoutMs: 120_000 });
      try {
        const info = await first.getInfo();
        const attached = new ServerSandbox({
          sandboxId: first.sandboxId,
          envdVersion: info.envdVersion,
          envdAccessToken: first.envdAccessToken,
          sandboxDomain: first.sandboxDomain,
          apiKey: process.env.E2B_API_KEY,
          requestTimeoutMs: 15_000,
        });
        assert.equal(attached.sandboxId, first.sandboxId);
        assert.equal(attached.connectionConfig.requestTimeoutMs, 15_000);
        await attached.files.write('/tmp/from-attached.txt', 'written through the constructor');
        assert.equal(await first.files.read('/tmp/from-attached.txt'), 'written through the constructor');
        const run = await attached.commands.run('id -un');
        assert.equal(run.stdout.trim(), 'user');
        assert.equal((await attached.getInfo()).sandboxId, first.sandboxId);
        assert.equal(await attached.isRunning(), true);
        await attached.kill();
        assert.equal(await first.isRunning(), false);
      } finally {
        await first.kill();
      }
    });

    test('a constructor without the access token is refused by envd, not by the client', async () => {
      const sbx = await ServerSandbox.create({ timeoutMs: 60_000 });
      try {
        const info = await sbx.getInfo();
        const anonymous = new ServerSandbox({ sandboxId: sbx.sandboxId, envdVersion: info.envdVersion });
        await assert.rejects(anonymous.commands.run('true'), (err) => err instanceof Error && /nauthori|401|token/i.test(err.message));
      } finally {
        await sbx.kill();
      }
    });

    test('ConnectionConfig statics: mergeOpts keeps bound options under per-call ones', () => {
      const { ConnectionConfig } = sdk;
      assert.deepEqual(ConnectionConfig.mergeOpts({ apiKey: 'a', domain: 'd' }, { apiKey: 'b', domain: undefined }), { apiKey: 'b', domain: 'd' });
      const perCall = { apiKey: 'c' };
      assert.equal(ConnectionConfig.mergeOpts(undefined, perCall), perCall);
      assert.equal(ConnectionConfig.sdkUserAgentPrefix, 'e2b-js-sdk/');
      assert.equal(ConnectionConfig.apiUrl, process.env.E2B_API_URL);
      assert.equal(ConnectionConfig.debug, false);
      ConnectionConfig.setIntegration('my-wrapper/1.0.0');
      try {
        assert.match(new ConnectionConfig().headers['User-Agent'], /^e2b-js-sdk\/2\.51\.0 .*my-wrapper\/1\.0\.0$/);
      } finally {
        ConnectionConfig.setIntegration(undefined);
      }
      assert.doesNotMatch(new ConnectionConfig().headers['User-Agent'], /my-wrapper/);
    });
  });
}
