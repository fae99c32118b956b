// Command output on its fast path (envd reads what piled up in a widened pipe as one event; the
// SDK decodes text with the runtime's TextDecoder), through both SDKs against a real sandboxd:
// large and concurrent stdout/stderr arrive byte-exact, code points split across reads are
// joined exactly as the official SDK joins them, a paused reader holds the command back
// without growing envd or sandboxd on the host, and a command killed mid-stream ends its
// stream cleanly.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

import { envdPidOf, startSandboxdForSdk } from '../helpers/sandboxd.mjs';
import { implementations } from './implementations.mjs';

const MiB = 1024 * 1024;
const sha256 = (text) => createHash('sha256').update(text, 'utf8').digest('hex');
const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

let sd;
const sandboxes = {};
before(async () => {
  sd = await startSandboxdForSdk();
  for (const [name, sdk] of implementations) sandboxes[name] = await sdk.Sandbox.create();
});
after(async () => {
  for (const sbx of Object.values(sandboxes)) await sbx.kill();
  await sd?.stop();
});

for (const [name, sdk] of implementations) {
  describe(`${name}: command output`, () => {
    test('32 MB on stdout and 8 MB on stderr at once, multi-byte text, arrive byte-exact', async () => {
      const sbx = sandboxes[name];
      // Lines of 1-, 2-, 3- and 4-byte characters: chunk boundaries fall inside code points.
      await sbx.commands.run(
        "yes 'a€ñ😀 line of output' | head -n 1300000 > /tmp/out.txt; " +
          "yes 'é err 😀' | head -n 700000 > /tmp/err.txt; sha256sum /tmp/out.txt /tmp/err.txt > /tmp/sums",
      );
      const [outSum, errSum] = (await sbx.commands.run('cat /tmp/sums')).stdout.split('\n').map((l) => l.split(' ')[0]);
      const out = [];
      const err = [];
      const r = await sbx.commands.run('cat /tmp/out.txt & cat /tmp/err.txt >&2; wait', {
        onStdout: (d) => out.push(d),
        onStderr: (d) => err.push(d),
        timeoutMs: 0,
      });
      assert.equal(sha256(r.stdout), outSum, 'stdout is the file, byte for byte');
      assert.equal(sha256(r.stderr), errSum, 'stderr is the file, byte for byte');
      assert.equal(out.join(''), r.stdout);
      assert.equal(err.join(''), r.stderr);
      assert.ok(out.length > 1 && err.length > 1, 'both came in several chunks');
    });

    test('a code point split across reads arrives whole; invalid bytes become U+FFFD', async () => {
      const sbx = sandboxes[name];
      // Each printf is its own read and event in envd (the sleeps empty the pipe in between).
      const pieces = ["\\xef\\xbb\\xbfbom", '\\xe2\\x82', '\\xac \\xf0\\x9f', '\\x98', '\\x80 a\\xffb', '\\xe2\\x82'];
      const chunks = [];
      const r = await sbx.commands.run(pieces.map((p) => `printf '${p}'`).join('; sleep 0.2; '), {
        onStdout: (d) => chunks.push(d),
      });
      // TextDecoder in stream mode, as the official SDK decodes: the leading BOM is dropped,
      // the unfinished sequence at the end is one U+FFFD.
      assert.equal(r.stdout, 'bom€ 😀 a\uFFFDb\uFFFD');
      assert.deepEqual(chunks, ['bom', '€ ', '😀 a\uFFFDb', '\uFFFD']);
    });

    test('a command killed mid-stream ends its stream cleanly', async () => {
      const sbx = sandboxes[name];
      let received = '';
      let flowing;
      const started = new Promise((resolve) => { flowing = resolve; });
      const handle = await sbx.commands.run('yes', {
        background: true,
        onStdout: (d) => {
          received += d;
          if (received.length > 4 * MiB) flowing();
        },
      });
      await started;
      assert.equal(await handle.kill(), true);
      await assert.rejects(handle.wait(), (e) => {
        assert.ok(e instanceof sdk.CommandExitError, `${e.name}: ${e.message}`);
        assert.equal(e.exitCode, -1);
        assert.equal(e.error, 'signal: killed');
        return true;
      });
      assert.ok(['', 'y'].includes(received.replaceAll('y\n', '')), 'only whole lines of yes, the last maybe cut');
      assert.equal(handle.stdout, received);
      const pids = (await sbx.commands.list()).map((p) => p.pid);
      assert.ok(!pids.includes(handle.pid), 'the killed command is gone');
      assert.equal((await sbx.commands.run('echo still serving')).stdout, 'still serving\n');
    });
  });
}

describe('e2b-wasm: a paused reader', () => {
  // Ours awaits each onStdout before it reads on (the official SDK does not wait for its
  // callbacks), so a callback that pauses stops the stream all the way back to the command.
  test('holds a 256 MiB command back while envd and sandboxd stay small on the host', async () => {
    const sbx = sandboxes['e2b-wasm'];
    const envdPid = envdPidOf(sbx.sandboxId);
    assert.ok(envdPid, 'envd of the sandbox not found on the host');
    const idle = { envd: rssKiB(envdPid), sandboxd: rssKiB(sd.pid) };
    const size = 256 * MiB;
    let received = 0;
    let paused = false;
    const during = [];
    const r = await sbx.commands.run(`yes 0123456789abcdef | head -c ${size}; echo done >&2`, {
      timeoutMs: 0,
      onStdout: async (d) => {
        received += d.length;
        if (!paused && received > 16 * MiB) {
          paused = true;
          for (let i = 0; i < 10; i++) {
            await sleep(100);
            during.push({ envd: rssKiB(envdPid), sandboxd: rssKiB(sd.pid), received });
          }
        }
      },
    });
    assert.equal(received, size);
    assert.equal(r.stdout.length, size);
    assert.equal(r.stderr, 'done\n');
    // Nothing more arrives while the reader pauses: the command is held back, not buffered.
    assert.ok(during.every((s) => s.received === during[0].received));
    const grownMiB = (who) => Math.max(...during.map((s) => s[who] - idle[who])) / 1024;
    assert.ok(grownMiB('envd') < 16, `envd grew by ${grownMiB('envd')} MiB while paused`);
    assert.ok(grownMiB('sandboxd') < 16, `sandboxd grew by ${grownMiB('sandboxd')} MiB while paused`);
  });
});
