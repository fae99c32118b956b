// ConnectionConfig: the same resolution, defaults, URL helpers and validation in both packages.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { implementations } from './implementations.mjs';

const FIELDS = ['debug', 'domain', 'apiUrl', 'sandboxUrl', 'requestTimeoutMs', 'retries', 'apiKey'];

/** Runs `fn` with `vars` set (`undefined` = unset), restoring the environment after. */
function withEnv(vars, fn) {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(vars)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  try {
    return fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

for (const [name, sdk] of implementations) {
  const { ConnectionConfig } = sdk;

  describe(`${name}: ConnectionConfig`, () => {
    test('options win over the environment; defaults fill the rest', () => {
      const env = { E2B_DOMAIN: 'env.dev', E2B_API_KEY: 'e2b_env', E2B_API_URL: undefined, E2B_SANDBOX_URL: undefined, E2B_DEBUG: undefined };
      const c = withEnv(env, () => new ConnectionConfig({ requestTimeoutMs: 5, apiHeaders: { 'X-A': '1' } }));
      const picked = Object.fromEntries(FIELDS.map((f) => [f, c[f]]));
      assert.deepEqual(picked, {
        debug: false,
        domain: 'env.dev',
        apiUrl: 'https://api.env.dev',
        sandboxUrl: undefined,
        requestTimeoutMs: 5,
        retries: 3,
        apiKey: 'e2b_env',
      });
      assert.equal(c.headers['X-A'], '1');
      assert.match(c.headers['User-Agent'], /^e2b-js-sdk\/2\.51\.0/);
      assert.equal(ConnectionConfig.envdPort, 49983);
      const own = withEnv(env, () => new ConnectionConfig({ domain: 'opt.dev', debug: true, retries: 0 }));
      assert.deepEqual([own.domain, own.apiUrl, own.debug, own.retries], ['opt.dev', 'http://localhost:3000', true, 0]);
    });

    test('sandbox URLs and hosts', () => {
      const c = withEnv({ E2B_SANDBOX_URL: undefined, E2B_DEBUG: undefined }, () => new ConnectionConfig({ domain: 'my.dev' }));
      assert.equal(c.getHost('abc', 8080, undefined), '8080-abc.my.dev');
      assert.equal(c.getHost('abc', 8080, 'x.dev'), '8080-abc.x.dev');
      assert.equal(c.getSandboxUrl('abc', { sandboxDomain: 'e2b.app', envdPort: 49983 }), 'https://sandbox.e2b.app');
      assert.equal(c.getSandboxUrl('abc', { sandboxDomain: 'x.dev', envdPort: 49983 }), 'https://49983-abc.x.dev');
      assert.equal(c.getSandboxDirectUrl('abc', { sandboxDomain: 'e2b.app', envdPort: 49983 }), 'https://49983-abc.e2b.app');
      const debug = withEnv({ E2B_SANDBOX_URL: undefined }, () => new ConnectionConfig({ debug: true }));
      assert.equal(debug.getHost('abc', 3000, 'x.dev'), 'localhost:3000');
      assert.equal(debug.getSandboxUrl('abc', { sandboxDomain: 'x.dev', envdPort: 49983 }), 'http://localhost:49983');
      const fixed = new ConnectionConfig({ sandboxUrl: 'http://127.0.0.1:9' });
      assert.equal(fixed.getSandboxUrl('abc', { sandboxDomain: 'x.dev', envdPort: 49983 }), 'http://127.0.0.1:9');
    });

    test('getSignal combines the request timeout and the caller signal', () => {
      const c = new ConnectionConfig();
      assert.equal(c.getSignal(0, undefined), undefined);
      assert.ok(c.getSignal() instanceof AbortSignal, 'the configured requestTimeoutMs applies');
      const controller = new AbortController();
      assert.equal(c.getSignal(0, controller.signal), controller.signal);
      const combined = c.getSignal(60_000, controller.signal);
      assert.ok(combined instanceof AbortSignal);
      assert.equal(combined.aborted, false);
      controller.abort(new Error('stop'));
      assert.equal(combined.aborted, true);
      assert.equal(combined.reason.message, 'stop');
    });

    test('an invalid retries count is an InvalidArgumentError', () => {
      for (const retries of [-1, 1.5]) {
        assert.throws(() => new ConnectionConfig({ retries }), (err) => {
          assert.ok(err instanceof sdk.InvalidArgumentError);
          assert.equal(err.message, `Invalid retries=${retries}: expected a non-negative integer.`);
          return true;
        });
      }
    });
  });
}
