// The package's surface against `e2b` 2.51's: the same runtime exports, each class with the same
// static and prototype members (inherited ones included), the same values for the constants and
// enums, and the behaviour of the exports that need no server. None of these tests makes a request.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { memberNames } from '../helpers/members.mjs';
import { implementations } from './implementations.mjs';

const [[, official], [, ours]] = implementations;

const isClass = (value) => typeof value === 'function' && /^class\b/.test(Function.prototype.toString.call(value));

test('the same runtime export names', () => {
  assert.deepEqual(Object.keys(ours).sort(), Object.keys(official).sort());
});

for (const name of Object.keys(official).filter((key) => isClass(official[key]))) {
  test(`${name}: the same static and prototype members`, () => {
    assert.equal(typeof ours[name], 'function');
    assert.deepEqual(memberNames(ours[name], Function.prototype), memberNames(official[name], Function.prototype));
    assert.deepEqual(memberNames(ours[name].prototype, Object.prototype), memberNames(official[name].prototype, Object.prototype));
  });
}

test('constants and string enums have the official values', () => {
  for (const name of ['ALL_TRAFFIC', 'FileType', 'FilesystemEventType', 'VolumeFileType']) {
    assert.deepEqual({ ...ours[name] }, { ...official[name] }, name);
  }
  assert.equal(ours.ALL_TRAFFIC, '0.0.0.0/0');
  assert.equal(ours.default, ours.Sandbox);
});

test('error classes: names, messages, status codes and hierarchy as officially', () => {
  const errorNames = Object.keys(official).filter((key) => isClass(official[key]) && official[key].prototype instanceof Error);
  assert.ok(errorNames.length >= 20, errorNames.join());
  const describe = (sdk, name) => {
    const err = name === 'CommandExitError'
      ? new sdk[name]({ exitCode: 2, error: 'exit status 2', stdout: 'o', stderr: 'e' })
      : new sdk[name]('the message');
    return {
      name: err.name,
      message: err.message,
      statusCode: err.statusCode,
      ancestors: errorNames.filter((other) => err instanceof sdk[other]),
      plainError: err instanceof Error,
    };
  };
  for (const name of errorNames) assert.deepEqual(describe(ours, name), describe(official, name), name);
  assert.equal(new ours.ServiceBusyError('busy').statusCode, 503);
  assert.ok(new ours.GitAuthError('x') instanceof ours.AuthenticationError);
});

test('ready commands and build log entries are built as officially', () => {
  const readyCommands = (sdk) => [
    sdk.waitForPort(8080), sdk.waitForURL('http://localhost:3000/health?a=1'), sdk.waitForURL('http://x', 204),
    sdk.waitForProcess("my app's server"), sdk.waitForFile('/tmp/ready flag'), sdk.waitForTimeout(2500), sdk.waitForTimeout(10),
    new sdk.ReadyCmd('true'),
  ].map((cmd) => [cmd instanceof sdk.ReadyCmd, cmd.getCmd()]);
  assert.deepEqual(readyCommands(ours), readyCommands(official));

  const at = new Date('2026-02-03T04:05:06.789Z');
  const entries = (sdk) => [
    new sdk.LogEntry(at, 'warn', '\u001b[31mred\u001b[0m text'), new sdk.LogEntryStart(at, 'start'), new sdk.LogEntryEnd(at, 'end'),
  ].map((entry) => [entry.toString(), entry.level, entry.message, entry instanceof sdk.LogEntry, { ...entry }]);
  assert.deepEqual(entries(ours), entries(official));
  assert.equal(typeof ours.defaultBuildLogger({ minLevel: 'debug' }), 'function');
});

test('Secret.iamToken and the callable Template behave as officially', () => {
  const token = { audience: 'https://github.com', tokenType: 'oidc' };
  assert.deepEqual(ours.Secret.iamToken(token), official.Secret.iamToken(token));
  assert.notEqual(ours.Secret.iamToken(token), token);
  assert.ok(ours.Template() instanceof ours.TemplateBase);
  assert.ok(new ours.Template() instanceof ours.TemplateBase);
});

test('what the local sandboxd cannot serve rejects with the domain error saying so', async () => {
  await assert.rejects(ours.Volume.create('data'), (err) =>
    err instanceof ours.VolumeError && err.message === 'Volume.create: e2b-wasm does not implement volumes (the local sandboxd serves none)');
  await assert.rejects(ours.Secret.list(), (err) => err instanceof ours.SecretError && /Secret\.list: .*secrets/.test(err.message));
  await assert.rejects(ours.Template.build(ours.Template(), 'alias'), (err) => err instanceof ours.BuildError && /Template(Base)?\.build: .*template builds/.test(err.message));
  await assert.rejects(ours.Template().fromImage('python:3'), ours.BuildError);
  await assert.rejects(new ours.SecretPaginator().nextItems(), ours.SecretError);
  assert.equal(new ours.SecretPaginator().hasNext, false);
});

test('ApiClient requires an API key unless told otherwise, as officially', () => {
  for (const sdk of [official, ours]) {
    assert.throws(() => new sdk.ApiClient(new sdk.ConnectionConfig({ apiKey: undefined }), {}), sdk.AuthenticationError);
    assert.ok(new sdk.ApiClient(new sdk.ConnectionConfig({}), { requireApiKey: false }) instanceof sdk.ApiClient);
  }
});

test('E2B binds its options to subclasses of the resource classes', () => {
  const client = new ours.E2B({ apiKey: 'e2b_bound', domain: 'example.test', signal: AbortSignal.timeout(1000) });
  assert.ok(client.Sandbox.prototype instanceof ours.Sandbox);
  assert.ok(client.Volume.prototype instanceof ours.Volume);
  assert.ok(client.Secret.prototype instanceof ours.Secret);
  assert.ok(client.Template() instanceof ours.TemplateBase);
  assert.deepEqual(client.Sandbox.boundOpts, { apiKey: 'e2b_bound', domain: 'example.test' });
  assert.equal(ours.Sandbox.boundOpts, undefined);
});

test('commands.supportsStdinClose follows the envd version (debug sandboxes: the newest)', async () => {
  for (const sdk of [official, ours]) {
    const sbx = await sdk.Sandbox.create({ debug: true });
    assert.equal(sbx.commands.supportsStdinClose, true);
  }
});

test('public objects carry no wasm-bindgen memory release (free, Symbol.dispose)', async () => {
  const sbx = await ours.Sandbox.create({ debug: true });
  for (const object of [sbx, sbx.commands, sbx.files, sbx.pty, sbx.git, ours.Sandbox.list()]) {
    assert.equal(object.free, undefined);
    assert.equal(object[Symbol.dispose], undefined);
  }
});
