// The surface of `e2b-wasm/code-interpreter` against `@e2b/code-interpreter` 2.8's: the same
// runtime exports (the official package's own plus everything of its core package, as ours has
// everything of e2b-wasm), the code-interpreter classes with the same members, and what needs no
// server. None of these tests makes a request.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import * as core from '../../pkg/node.js';
import { memberNames } from '../helpers/members.mjs';
import { implementations } from './implementations.mjs';

const [[, official], [, ours]] = implementations;

test('the same runtime export names, a superset of e2b-wasm', () => {
  assert.deepEqual(Object.keys(ours).sort(), Object.keys(official).sort());
  for (const name of Object.keys(core)) assert.ok(name in ours, name);
});

test('Sandbox and E2B have the official static and prototype members', () => {
  for (const name of ['Sandbox', 'E2B']) {
    assert.deepEqual(memberNames(ours[name], Function.prototype), memberNames(official[name], Function.prototype), name);
    assert.deepEqual(memberNames(ours[name].prototype, Object.prototype), memberNames(official[name].prototype, Object.prototype), name);
  }
});

test("Sandbox extends e2b-wasm's, is the default export, and defaults to code-interpreter-v1", () => {
  assert.ok(ours.Sandbox.prototype instanceof core.Sandbox);
  assert.equal(ours.default, ours.Sandbox);
  assert.equal(ours.Sandbox.defaultTemplate, official.Sandbox.defaultTemplate);
  assert.equal(ours.Sandbox.defaultTemplate, 'code-interpreter-v1');
  assert.equal(core.Sandbox.defaultTemplate, 'base');
  // Everything else is the core package's own object, not a copy.
  for (const name of Object.keys(core).filter((key) => !['Sandbox', 'E2B', 'default'].includes(key))) assert.equal(ours[name], core[name], name);
});

test('E2B binds its options to a code-interpreter Sandbox, and the other resources as the core E2B', () => {
  const shape = (sdk) => {
    const client = new sdk.E2B({ apiKey: 'e2b_bound', domain: 'example.test', signal: AbortSignal.timeout(1000) });
    return {
      keys: Object.keys(client),
      sandbox: client.Sandbox.prototype instanceof sdk.Sandbox,
      boundOpts: client.Sandbox.boundOpts,
      volume: client.Volume.prototype instanceof sdk.Volume,
      secret: client.Secret.prototype instanceof sdk.Secret,
      template: client.Template() instanceof sdk.TemplateBase,
    };
  };
  assert.deepEqual(shape(ours), shape(official));
  assert.equal(ours.Sandbox.boundOpts, undefined);
});

test('runCode with both a context and a language rejects with InvalidArgumentError before any request', async () => {
  for (const sdk of [official, ours]) {
    // A debug sandbox: nothing listens at its URL, so only a check before the request can answer.
    const sbx = await sdk.Sandbox.create({ debug: true });
    await assert.rejects(
      sbx.runCode('1', { language: 'python', context: { id: 'c', language: 'python', cwd: '/' } }),
      (err) => err instanceof sdk.InvalidArgumentError && err.message === 'You can provide context or language, but not both at the same time.',
    );
  }
});
