// The command tests, shared by the suite against sandboxd (sandboxes from the control plane)
// and the one against a bare envd in the SDKs' debug mode. Each body runs for both SDKs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { implementations } from './implementations.mjs';

/** Defines the command tests; `createSandbox(sdk)` gives the sandbox they run in. */
export function defineCommandTests(where, createSandbox) {
  for (const [name, sdk] of implementations) {
    describe(`${name}: commands (${where})`, () => {
      let sbx;
      before(async () => {
        sbx = await createSandbox(sdk);
      });
      after(async () => {
        await sbx?.kill();
      });

      test('run returns stdout, stderr and exit code 0', async () => {
        const result = await sbx.commands.run('echo out; echo err >&2');
        assert.equal(result.exitCode, 0);
        assert.equal(result.stdout, 'out\n');
        assert.equal(result.stderr, 'err\n');
        assert.equal(result.error, undefined);
      });

      test('a non-zero exit rejects with CommandExitError carrying the result', async () => {
        await assert.rejects(sbx.commands.run('echo partial; echo bad >&2; exit 3'), (err) => {
          assert.ok(err instanceof sdk.CommandExitError);
          assert.ok(err instanceof sdk.SandboxError);
          assert.equal(err.name, 'CommandExitError');
          assert.equal(err.exitCode, 3);
          assert.equal(err.stdout, 'partial\n');
          assert.equal(err.stderr, 'bad\n');
          assert.equal(err.error, 'exit status 3');
          assert.equal(err.message, 'exit status 3');
          return true;
        });
      });

      test('envs, cwd and user reach the process', async () => {
        const r = await sbx.commands.run('echo "$A"; pwd; whoami', { envs: { A: 'per-call' }, cwd: '/tmp', user: 'root' });
        assert.equal(r.stdout, 'per-call\n/tmp\nroot\n');
        const d = await sbx.commands.run('pwd; whoami');
        assert.equal(d.stdout, '/home/user\nuser\n');
      });

      test('callbacks get decoded text in order, code points split across chunks included', async () => {
        const chunks = [];
        // printf writes the euro sign's three bytes in separate writes with pauses between.
        const script = "printf 'a\\342'; sleep 0.2; printf '\\202'; sleep 0.2; printf '\\254b\\n'; for i in 1 2 3; do echo line$i; echo e$i >&2; sleep 0.05; done";
        const result = await sbx.commands.run(script, {
          onStdout: async (data) => {
            await new Promise((r) => setTimeout(r, 5));
            chunks.push(['out', data]);
          },
          onStderr: (data) => chunks.push(['err', data]),
        });
        const out = chunks.filter(([k]) => k === 'out').map(([, d]) => d).join('');
        const err = chunks.filter(([k]) => k === 'err').map(([, d]) => d).join('');
        assert.equal(out, 'a€b\nline1\nline2\nline3\n');
        assert.equal(err, 'e1\ne2\ne3\n');
        assert.equal(result.stdout, out);
        assert.ok(!out.includes('\uFFFD'));
      });

      test('a throwing callback rejects wait() with its error', async () => {
        const boom = new Error('callback failed');
        await assert.rejects(sbx.commands.run('echo x; sleep 1; echo y', { onStdout: () => { throw boom; } }), (err) => err === boom);
      });

      test('background run: handle with pid, live output, wait, kill', async () => {
        // Killed only once its first line arrived, so the output assertion below is not a race.
        let markStarted;
        const started = new Promise((resolve) => { markStarted = resolve; });
        const handle = await sbx.commands.run('echo started; sleep 30', { background: true, onStdout: markStarted });
        assert.equal(typeof handle.pid, 'number');
        assert.equal(handle.exitCode, undefined);
        await started;
        const listed = await sbx.commands.list();
        const me = listed.find((p) => p.pid === handle.pid);
        assert.ok(me, 'the process is listed');
        assert.equal(me.cmd, '/bin/bash');
        assert.deepEqual(me.args, ['-l', '-c', 'echo started; sleep 30']);
        assert.equal(typeof me.envs, 'object');
        assert.equal(await handle.kill(), true);
        await assert.rejects(handle.wait(), (err) => err instanceof sdk.CommandExitError && err.exitCode !== 0);
        assert.notEqual(handle.exitCode, undefined);
        assert.equal(handle.stdout, 'started\n');
        assert.equal(await sbx.commands.kill(handle.pid), false, 'killing a finished process says false');
      });

      test('stdin: sendStdin then closeStdin ends the input', async () => {
        const handle = await sbx.commands.run('cat; echo done', { background: true, stdin: true });
        await sbx.commands.sendStdin(handle.pid, 'hello ');
        await handle.sendStdin(new TextEncoder().encode('wörld\n'));
        await handle.closeStdin();
        const result = await handle.wait();
        assert.equal(result.stdout, 'hello wörld\ndone\n');
      });

      test('connect to a running process sees its later output; disconnect leaves it running', async () => {
        const handle = await sbx.commands.run('for i in $(seq 1 40); do echo tick$i; sleep 0.1; done', { background: true });
        await handle.disconnect();
        const seen = [];
        const again = await sbx.commands.connect(handle.pid, { onStdout: (d) => seen.push(d) });
        assert.equal(again.pid, handle.pid);
        const result = await again.wait();
        assert.equal(result.exitCode, 0);
        assert.match(seen.join(''), /tick40\n$/);
      });

      test('after disconnect no callback fires', async () => {
        let calls = 0;
        const handle = await sbx.commands.run('while true; do echo x; sleep 0.05; done', { background: true, onStdout: () => { calls += 1; } });
        await new Promise((r) => setTimeout(r, 300));
        await handle.disconnect();
        const frozen = calls;
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(calls, frozen);
        assert.equal(await sbx.commands.kill(handle.pid), true);
      });

      test('timeoutMs ends a command with TimeoutError', async () => {
        await assert.rejects(sbx.commands.run('sleep 10', { timeoutMs: 500 }), (err) => {
          assert.ok(err instanceof sdk.TimeoutError);
          assert.match(err.message, /deadline_exceeded/);
          return true;
        });
      });

      test('unknown pids: kill is false, connect and sendStdin are NotFoundErrors', async () => {
        assert.equal(await sbx.commands.kill(999_999), false);
        await assert.rejects(sbx.commands.connect(999_999), sdk.NotFoundError);
        await assert.rejects(sbx.commands.sendStdin(999_999, 'x'), sdk.NotFoundError);
      });

      test('an unknown user is an AuthenticationError', async () => {
        await assert.rejects(sbx.commands.run('true', { user: 'nobody-here' }), sdk.AuthenticationError);
      });

      test('an aborted signal cancels a running command', async () => {
        const controller = new AbortController();
        setTimeout(() => controller.abort(), 300);
        await assert.rejects(sbx.commands.run('sleep 10', { signal: controller.signal }), sdk.TimeoutError);
      });
    });

  }
}
