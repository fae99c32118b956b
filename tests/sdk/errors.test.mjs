// The error classes: same names, hierarchy and constructor behaviour in both packages.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { implementations } from './implementations.mjs';

const hierarchy = {
  SandboxError: 'Error',
  TimeoutError: 'SandboxError',
  InvalidArgumentError: 'SandboxError',
  NotEnoughSpaceError: 'SandboxError',
  NotFoundError: 'SandboxError',
  FileNotFoundError: 'NotFoundError',
  SandboxNotFoundError: 'NotFoundError',
  AuthenticationError: 'Error',
  TemplateError: 'SandboxError',
  RateLimitError: 'SandboxError',
  CommandExitError: 'SandboxError',
};

for (const [name, sdk] of implementations) {
  describe(`${name}: error classes`, () => {
    test('every class is exported with the official parent and name', () => {
      for (const [cls, parent] of Object.entries(hierarchy)) {
        const Class = sdk[cls];
        assert.equal(typeof Class, 'function', cls);
        assert.equal(Object.getPrototypeOf(Class.prototype).constructor.name, parent, cls);
        if (cls === 'CommandExitError') continue;
        const err = new Class('msg');
        assert.equal(err.name, cls);
        assert.equal(err.message, 'msg');
        assert.ok(err instanceof Error);
      }
    });

    test('CommandExitError exposes its result', () => {
      const err = new sdk.CommandExitError({ exitCode: 2, error: 'exit status 2', stdout: 'o', stderr: 'e' });
      assert.deepEqual([err.exitCode, err.error, err.stdout, err.stderr, err.message], [2, 'exit status 2', 'o', 'e', 'exit status 2']);
    });

    test('Sandbox is the default export too', () => {
      // Node loads the official package's CommonJS build, whose default is its exports object.
      const defaultExport = name === 'e2b' ? sdk.default.default : sdk.default;
      assert.equal(defaultExport, sdk.Sandbox);
    });
  });
}

describe('e2b-wasm: a throwing fetch', () => {
  const ours = implementations.find(([name]) => name === 'e2b-wasm')[1];

  test('a replaced fetch that throws makes the call reject with what it threw, not throw', async () => {
    const original = globalThis.fetch;
    const thrown = new TypeError('replaced fetch threw');
    // The SDK calls `fetch` within the call (it looks it up on the global object each time).
    globalThis.fetch = () => { throw thrown; };
    let call;
    try {
      call = ours.Sandbox.getInfo('any', { apiKey: `e2b_${'0'.repeat(40)}`, apiUrl: 'http://127.0.0.1:9' });
    } finally {
      globalThis.fetch = original;
    }
    await assert.rejects(call, (err) => err === thrown);
  });
});
