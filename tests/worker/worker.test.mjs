// examples/worker/ in real workerd (wrangler 4.86's local runtime) against a real sandboxd:
// the Worker creates a sandbox with the key from its bindings, runs commands, streams a
// sandbox file through as its response body (checked byte for byte against the official SDK's
// read), maps SDK errors to HTTP statuses, and kills the sandbox.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';

import { NotFoundError, Sandbox } from 'e2b';

import { linkPackage } from '../helpers/examples.mjs';
import { startSandboxd } from '../helpers/sandboxd.mjs';
import { startTestWorker } from '../helpers/workerd.mjs';

const exampleDir = linkPackage('worker');

async function startExample(bindings) {
  const worker = await startTestWorker({ config: `${exampleDir}/wrangler.toml` }, bindings);
  // The Worker's origin, without the trailing slash, for building request URLs.
  return { worker, base: String(await worker.url).replace(/\/$/, '') };
}

describe('the Worker example in workerd', () => {
  let sd;
  let worker;
  let base;
  let sandboxId;
  const opts = () => ({ apiKey: sd.apiKey, apiUrl: sd.apiUrl, sandboxUrl: sd.sandboxUrl });

  before(async () => {
    sd = await startSandboxd();
    ({ worker, base } = await startExample({ E2B_API_KEY: sd.apiKey, E2B_API_URL: sd.apiUrl, E2B_SANDBOX_URL: sd.sandboxUrl }));
  });

  after(async () => {
    await worker?.dispose();
    await sd?.stop();
  });

  test('creates a sandbox with the API key from its bindings', async () => {
    const res = await fetch(`${base}/sandboxes`, { method: 'POST' });
    assert.equal(res.status, 201);
    ({ sandboxId } = await res.json());
    const info = await Sandbox.getInfo(sandboxId, opts());
    assert.equal(info.sandboxId, sandboxId);
  });

  test('runs commands, failing ones included', async () => {
    const ok = await fetch(`${base}/sandboxes/${sandboxId}/commands`, { method: 'POST', body: 'echo hi-$((6*7)); echo oops >&2' });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { exitCode: 0, stdout: 'hi-42\n', stderr: 'oops\n' });
    const failed = await fetch(`${base}/sandboxes/${sandboxId}/commands`, { method: 'POST', body: 'echo partial; exit 3' });
    assert.deepEqual(await failed.json(), { exitCode: 3, stdout: 'partial\n', stderr: '' });
  });

  test('streams a sandbox file through as its response body, byte for byte', async () => {
    // 3 MiB of random bytes (many chunks; every byte value), made in the sandbox.
    const made = await fetch(`${base}/sandboxes/${sandboxId}/commands`, {
      method: 'POST',
      body: 'head -c 3145728 /dev/urandom > /tmp/blob.bin && sha256sum /tmp/blob.bin',
    });
    const { exitCode, stdout } = await made.json();
    assert.equal(exitCode, 0);
    const res = await fetch(`${base}/sandboxes/${sandboxId}/files/tmp/blob.bin`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/octet-stream');
    const body = Buffer.from(await res.arrayBuffer());
    const sandbox = await Sandbox.connect(sandboxId, opts());
    const expected = Buffer.from(await sandbox.files.read('/tmp/blob.bin', { format: 'bytes' }));
    assert.equal(body.length, 3145728);
    assert.ok(body.equals(expected), 'the Worker served exactly the bytes of the sandbox file');
    assert.equal(createHash('sha256').update(body).digest('hex'), stdout.split(' ')[0]);
  });

  test('answers SDK errors with their HTTP status', async () => {
    const missing = await fetch(`${base}/sandboxes/${sandboxId}/files/tmp/no-such-file`);
    assert.equal(missing.status, 404);
    assert.equal((await missing.json()).error, 'FileNotFoundError');
    const noSandbox = await fetch(`${base}/sandboxes/nosuchsandbox/commands`, { method: 'POST', body: 'true' });
    assert.equal(noSandbox.status, 404);
  });

  test('a wrong API key is an AuthenticationError, answered 401', async () => {
    const wrongKey = await startExample({ E2B_API_KEY: 'e2b_wrong', E2B_API_URL: sd.apiUrl, E2B_SANDBOX_URL: sd.sandboxUrl });
    try {
      const res = await fetch(`${wrongKey.base}/sandboxes`, { method: 'POST' });
      assert.equal(res.status, 401);
      assert.equal((await res.json()).error, 'AuthenticationError');
    } finally {
      await wrongKey.worker.dispose();
    }
  });

  test('kills the sandbox', async () => {
    const res = await fetch(`${base}/sandboxes/${sandboxId}`, { method: 'DELETE' });
    assert.equal(res.status, 204);
    await assert.rejects(Sandbox.getInfo(sandboxId, opts()), NotFoundError);
    const again = await fetch(`${base}/sandboxes/${sandboxId}`, { method: 'DELETE' });
    assert.equal(again.status, 404);
  });
});
