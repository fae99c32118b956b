// The official @e2b/code-interpreter SDK (pinned 2.8) and ours (e2b-wasm/code-interpreter), the
// same body for both, against sandboxd: the template `code-interpreter-v1` is built by sandboxd
// on its first use (templates/code-interpreter-v1), then `runCode` and contexts are driven as an
// SDK user would, and attacked from outside (no or a wrong token) and from a neighbouring
// context, checking the effect inside the sandbox.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';

import { implementations } from './implementations.mjs';
import { rawExecute, rawRequest, startCodeInterpreterSandboxd } from './util.mjs';

let sd;

before(async () => {
  sd = await startCodeInterpreterSandboxd();
});

after(async () => {
  await sd?.stop();
});

for (const [name, { NotFoundError, Sandbox, TimeoutError }] of implementations) {
  describe(name, () => {
    let sbx;

    before(async () => {
      // The SDK's default template is code-interpreter-v1: no name given.
      sbx = await Sandbox.create({ envs: { SANDBOX_LEVEL: 'from-create' } });
    });

    after(async () => {
      await sbx?.kill();
    });

    describe('runCode', () => {
      test("1+1 gives the text result '2' with an execution count", async () => {
        const execution = await sbx.runCode('1+1');
        assert.equal(execution.text, '2');
        assert.equal(execution.error, undefined);
        assert.equal(execution.results.length, 1);
        assert.equal(execution.results[0].isMainResult, true);
        assert.ok(execution.executionCount >= 1);
      });

      test('stdout and stderr stream to the callbacks as printed, in order', async () => {
        const seen = [];
        const started = Date.now();
        const execution = await sbx.runCode(
          'import sys, time\nfor i in range(5):\n    print(f"line {i}", flush=True)\n    time.sleep(0.2)\nprint("oops", file=sys.stderr)',
          {
            onStdout: (out) => seen.push([out.line, Date.now() - started]),
            onStderr: (err) => seen.push([`stderr:${err.line}`, Date.now() - started]),
          },
        );
        // ipykernel sends what was written between flushes: chunks, not necessarily lines.
        const stdout = seen.filter(([chunk]) => !chunk.startsWith('stderr:'));
        assert.equal(stdout.map(([chunk]) => chunk).join(''), 'line 0\nline 1\nline 2\nline 3\nline 4\n');
        assert.deepEqual(seen.at(-1)[0], 'stderr:oops\n');
        // Streamed, not delivered at the end: the first chunk came long before the last.
        assert.ok(stdout.at(-1)[1] - stdout[0][1] >= 600, `chunks arrived at ${seen.map(([, t]) => t)}`);
        assert.deepEqual(execution.logs.stdout.join(''), 'line 0\nline 1\nline 2\nline 3\nline 4\n');
        assert.deepEqual(execution.logs.stderr, ['oops\n']);
      });

      test('state is kept across runs', async () => {
        await sbx.runCode('counter = 41');
        assert.equal((await sbx.runCode('counter += 1\ncounter')).text, '42');
      });

      test('an error comes back with its name, value and traceback; the context stays usable', async () => {
        const errors = [];
        const execution = await sbx.runCode('def f():\n    raise ValueError("boom")\nf()', { onError: (e) => errors.push(e) });
        assert.equal(execution.error.name, 'ValueError');
        assert.equal(execution.error.value, 'boom');
        assert.match(execution.error.traceback, /ValueError/);
        assert.match(execution.error.traceback, /f\(\)/);
        assert.equal(errors.length, 1);
        assert.equal((await sbx.runCode('"still here"')).text, 'still here');
      });

      test('display data comes as a result that is not the main one, with all its formats', async () => {
        const execution = await sbx.runCode(
          'from IPython.display import display, HTML, Markdown\ndisplay(HTML("<b>bold</b>"))\ndisplay(Markdown("# title"))\n7',
        );
        assert.equal(execution.results.length, 3);
        const [html, markdown, main] = execution.results;
        assert.equal(html.isMainResult, false);
        assert.equal(html.html, '<b>bold</b>');
        assert.ok(html.formats().includes('html'));
        assert.equal(markdown.markdown, '# title');
        assert.equal(main.isMainResult, true);
        assert.equal(main.text, '7');
      });

      test('env vars of one run are set for it and restored after; the sandbox envs stay', async () => {
        const read = 'import os\n(os.environ.get("RUN_LEVEL"), os.environ.get("SANDBOX_LEVEL"))';
        assert.equal(
          (await sbx.runCode(read, { envs: { RUN_LEVEL: "it's set", SANDBOX_LEVEL: 'overridden' } })).text,
          `("it's set", 'overridden')`,
        );
        assert.equal((await sbx.runCode(read)).text, "(None, 'from-create')");
      });

      test('a timeout interrupts the cell; the context keeps its state and runs the next cell at once', async () => {
        await sbx.runCode('kept = "yes"');
        const started = Date.now();
        await assert.rejects(sbx.runCode('import time\ntime.sleep(60)', { timeoutMs: 1500 }), TimeoutError);
        assert.ok(Date.now() - started < 10_000);
        const next = Date.now();
        assert.equal((await sbx.runCode('kept')).text, 'yes');
        // The sleep was interrupted, not waited out.
        assert.ok(Date.now() - next < 10_000, `the next cell took ${Date.now() - next} ms`);
      });
    });

    describe('contexts', () => {
      test('create with a cwd, list, run in it, restart (state gone), remove', async () => {
        const context = await sbx.createCodeContext({ cwd: '/tmp', language: 'python' });
        assert.equal(context.language, 'python');
        assert.equal(context.cwd, '/tmp');
        assert.ok((await sbx.listCodeContexts()).some((c) => c.id === context.id && c.cwd === '/tmp'));
        assert.equal((await sbx.runCode('import os\nos.getcwd()', { context })).text, '/tmp');
        // Its own state: the default context's `counter` is not there.
        assert.equal((await sbx.runCode('mine = 1\n"counter" in globals()', { context })).text, 'False');

        await sbx.restartCodeContext(context);
        const afterRestart = await sbx.runCode('mine', { context });
        assert.equal(afterRestart.error.name, 'NameError');

        await sbx.removeCodeContext(context);
        assert.ok(!(await sbx.listCodeContexts()).some((c) => c.id === context.id));
        await assert.rejects(sbx.runCode('1', { context }), NotFoundError);
      });

      test('a context whose kernel died reports an unexpected end, and a restart revives it', async () => {
        const context = await sbx.createCodeContext();
        const died = await sbx.runCode('import os\nos.kill(os.getpid(), 9)', { context });
        assert.equal(died.error.name, 'UnexpectedEndOfExecution');
        assert.equal((await sbx.runCode('1', { context })).error.name, 'UnexpectedEndOfExecution');
        await sbx.restartCodeContext(context);
        assert.equal((await sbx.runCode('2+2', { context })).text, '4');
        await sbx.removeCodeContext(context);
      });

      test('a bad cwd or an unknown language is refused', async () => {
        await assert.rejects(sbx.createCodeContext({ cwd: '/no/such/dir' }), /400/);
        await assert.rejects(sbx.createCodeContext({ language: 'cobol' }), /400/);
      });
    });

    describe('bad requests', () => {
      test('get a clear error of the right class, run nothing, and leave the server serving', async () => {
        const token = { 'X-Access-Token': sbx.envdAccessToken };
        const marker = `/tmp/bad-${randomBytes(4).toString('hex')}`;
        const write = `open("${marker}", "w").write("x")`;
        const cases = [
          ['POST', '/execute', '{"code": ', 400, /invalid JSON body/],
          ['POST', '/execute', JSON.stringify({ code: 42 }), 400, /invalid JSON body/],
          ['POST', '/execute', JSON.stringify({ code: write, language: 'python', context_id: 'x' }), 400, /Only one of context_id or language/],
          ['POST', '/execute', JSON.stringify({ code: write, context_id: 'no-such-context' }), 404, /Context no-such-context not found/],
          ['POST', '/execute', JSON.stringify({ code: write, env_vars: { 'A=B': '1' } }), 400, /env var name "A=B" is not valid/],
          ['POST', '/execute', JSON.stringify({ code: write, language: 'cobol' }), 400, /no kernel for language "cobol"/],
          ['POST', '/execute', 'x'.repeat(17 << 20), 413, /over 16777216 bytes/],
          ['POST', '/contexts', JSON.stringify({ cwd: 'relative/dir' }), 400, /not an existing directory/],
          ['DELETE', '/contexts/no-such-context', undefined, 404, /Context no-such-context not found/],
          ['POST', '/contexts/no-such-context/restart', undefined, 404, /Context no-such-context not found/],
          ['GET', '/execute', undefined, 405, /Method Not Allowed/],
          ['GET', '/nothing-here', undefined, 404, /Not Found/],
        ];
        for (const [method, path, body, status, message] of cases) {
          const res = await rawRequest(sbx, method, path, body, token);
          assert.equal(res.status, status, `${method} ${path} ${String(body).slice(0, 80)}`);
          assert.match(await res.text(), message);
        }
        assert.equal(await sbx.files.exists(marker), false);
        assert.equal((await sbx.runCode('"serving"')).text, 'serving');
      });
    });

    describe('a sandbox killed during an execution', () => {
      test('runCode fails with the SDK\'s "sandbox was killed" timeout error, not a hang', async () => {
        const doomed = await Sandbox.create();
        const running = doomed.runCode('import time\ntime.sleep(60)');
        await new Promise((r) => setTimeout(r, 1000));
        // Handled from now on: the rejection may come before kill() returns.
        const failed = assert.rejects(running, (e) => e instanceof TimeoutError && /sandbox was killed/.test(e.message));
        const started = Date.now();
        await doomed.kill();
        await failed;
        assert.ok(Date.now() - started < 10_000);
      });
    });

    describe('from the attacker side', () => {
      test('/execute without the token, or with a wrong one, is refused with 401 and runs nothing', async () => {
        const marker = `/tmp/pwned-${randomBytes(4).toString('hex')}`;
        const code = `open("${marker}", "w").write("x")`;
        for (const headers of [{}, { 'X-Access-Token': 'wrong' }, { 'X-Access-Token': `${sbx.envdAccessToken}x` }]) {
          const res = await rawExecute(sbx, code, headers);
          assert.equal(res.status, 401, JSON.stringify(headers));
          assert.equal(await res.text(), 'Unauthorized');
        }
        // Checked inside the sandbox: the file was never written.
        assert.equal(await sbx.files.exists(marker), false);
        // With the token the same request runs (so the check above is not vacuous).
        const res = await rawExecute(sbx, code, { 'X-Access-Token': sbx.envdAccessToken });
        assert.equal(res.status, 200);
        await res.text();
        assert.equal(await sbx.files.exists(marker), true);
      });

      test('the server listens on the loopback port 49999 only; kernels only on loopback', async () => {
        const listening = await sbx.commands.run(
          "awk 'NR > 1 && $4 == \"0A\" { print $2 }' /proc/net/tcp /proc/net/tcp6",
          { user: 'root' },
        );
        const sockets = listening.stdout.trim().split('\n');
        // 49999 = 0xC34F; 127.0.0.1 is 0100007F in /proc/net/tcp's byte order.
        assert.deepEqual(sockets.filter((s) => s.endsWith(':C34F')), ['0100007F:C34F']);
        // Besides envd (49983 = 0xC33F), only loopback: the kernels' channels are unix sockets, and
        // ipykernel's one TCP socket (the pipe forked subprocesses print through, which drops
        // messages without its random key) is bound to 127.0.0.1.
        const others = sockets.filter((s) => !s.endsWith(':C34F') && !s.endsWith(':C33F'));
        assert.deepEqual(others.filter((s) => !s.startsWith('0100007F:')), []);
      });

      test("one context cannot read another's run env vars, from Python or /proc", async () => {
        const secret = `s3cret-${randomBytes(6).toString('hex')}`;
        const victim = await sbx.createCodeContext();
        const attacker = await sbx.createCodeContext();
        const victimPid = (await sbx.runCode('import os\nos.getpid()', { context: victim })).text;
        // The victim holds the secret in its environment while it sleeps.
        const running = sbx.runCode('import time\ntime.sleep(3)', { context: victim, envs: { VICTIM_SECRET: secret } });
        await new Promise((r) => setTimeout(r, 1000));
        const peek = await sbx.runCode(
          `import os\nenv = open("/proc/${victimPid}/environ", "rb").read().decode(errors="replace")\n` +
            `cmd = open("/proc/${victimPid}/cmdline", "rb").read().decode(errors="replace")\n` +
            '(os.environ.get("VICTIM_SECRET"), env + cmd)',
          { context: attacker },
        );
        await running;
        assert.equal(peek.error, undefined);
        assert.ok(!peek.text.includes(secret), 'the secret leaked to the other context');
        assert.match(peek.text, /^\(None,/);
        await sbx.removeCodeContext(victim);
        await sbx.removeCodeContext(attacker);
      });
    });
  });
}
