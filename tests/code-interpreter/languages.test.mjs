// The code-interpreter-v1 template's other kernels (JavaScript and TypeScript on Deno, Bash,
// R) through the official @e2b/code-interpreter SDK and ours (e2b-wasm/code-interpreter), the
// same body for both, against a real sandboxd: for each language the same checks (result,
// streamed stdout, state, errors, env vars per run, a context's cwd, restart, a killed kernel),
// then from the attacker's side: env vars across contexts of different languages, and where the
// kernels' channels can be reached.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';

import { implementations, sandboxPerImplementation } from './implementations.mjs';
import { rawRequest } from './util.mjs';

/** One sandbox per implementation. */
const sandboxes = sandboxPerImplementation();

/** Removes the sandbox's contexts that `which` selects (default ones are made again on use). */
async function removeContexts(sbx, which) {
  for (const context of await sbx.listCodeContexts()) {
    if (which(context)) await sbx.removeCodeContext(context);
  }
}

/** What a cell gave: Bash's kernel has no result values, only stdout; R's results are display
 * data (IRkernel sends no execute_result), so the last result counts. */
const value = (execution) => execution.results.at(-1)?.text ?? execution.logs.stdout.join('');

// Per language: code and what it gives. `env` reads RUN_LEVEL; `unset` is what it reads when
// the variable is absent. `restart` sets a variable, `gone` reads whether it is still there.
const LANGUAGES = {
  javascript: {
    result: ['1+1', '2'],
    stream: 'for (let i = 0; i < 3; i++) { console.log("line " + i); await new Promise((r) => setTimeout(r, 400)); }',
    state: ['var counter = 41', 'counter += 1; counter', '42'],
    error: ['throw new TypeError("boom")', 'TypeError', 'boom', /TypeError: boom/],
    env: ['Deno.env.get("RUN_LEVEL") ?? "unset"', "it's set", 'unset'],
    cwd: ['Deno.cwd()', '/tmp'],
    restart: ['var mine = 1', 'typeof mine', 'undefined'],
    kill: 'Deno.kill(Deno.pid, "SIGKILL")',
    pid: 'Deno.pid',
  },
  typescript: {
    result: ['const x: number = 40; x + 2', '42'],
    stream: 'for (let i: number = 0; i < 3; i++) { console.log("line " + i); await new Promise((r) => setTimeout(r, 400)); }',
    state: ['let total: number = 41', 'total += 1; total', '42'],
    error: ['function f(a: string): never { throw new Error(a) }\nf("boom")', 'Error', 'boom', /at f /],
    env: ['Deno.env.get("RUN_LEVEL") ?? "unset"', "it's set", 'unset'],
    cwd: ['Deno.cwd()', '/tmp'],
    restart: ['const mine: number = 1', 'typeof mine', 'undefined'],
    kill: 'Deno.kill(Deno.pid, "SIGKILL")',
    pid: 'Deno.pid',
  },
  bash: {
    result: ['echo $((1+1))', '2\n'],
    stream: 'for i in 0 1 2; do echo "line $i"; sleep 0.4; done',
    state: ['X=41', 'echo $((X+1))', '42\n'],
    // bash_kernel reports a failed command's exit status as the value, with no name or trace.
    error: ['ls /nonexistent', '', '2', /^$/],
    env: ['echo "${RUN_LEVEL-unset}"', "it's set\n", 'unset\n'],
    cwd: ['pwd', '/tmp\n'],
    restart: ['MINE=1', 'echo "${MINE-unset}"', 'unset\n'],
    kill: 'kill -9 $PPID',
    pid: 'echo $PPID',
  },
  r: {
    result: ['1+1', '[1] 2'],
    stream: 'cat("line 0\\n"); Sys.sleep(0.4); cat("line 1\\n"); Sys.sleep(0.4); cat("line 2\\n"); Sys.sleep(0.4)',
    state: ['counter <- 41', 'counter + 1', '[1] 42'],
    error: ['stop("boom")', 'ERROR', /boom/, /stop\("boom"\)/],
    env: ['Sys.getenv("RUN_LEVEL", "unset")', '[1] "it\'s set"', '[1] "unset"'],
    cwd: ['getwd()', '[1] "/tmp"'],
    restart: ['mine <- 1', 'exists("mine")', '[1] FALSE'],
    kill: 'tools::pskill(Sys.getpid(), 9)',
    pid: 'cat(Sys.getpid())',
  },
};

for (const [name] of implementations) {
  describe(name, () => {
    let sbx;
    before(() => {
      sbx = sandboxes.get(name);
    });

    for (const [language, c] of Object.entries(LANGUAGES)) {
      describe(language, () => {
        // All five kernels at once outgrow a default sandbox's 512 MiB (a Deno kernel alone holds
        // ~180 MiB; the memory cgroup's OOM killer takes it): each language's contexts go after
        // its tests, its default one too.
        after(() => removeContexts(sbx, (context) => context.language === language));

        test('a result value', async () => {
          const execution = await sbx.runCode(c.result[0], { language });
          assert.equal(execution.error, undefined);
          assert.equal(value(execution), c.result[1]);
        });

        test('stdout is streamed as printed', async () => {
          const chunks = [];
          const started = Date.now();
          await sbx.runCode(c.stream, { language, onStdout: (out) => chunks.push([out.line, Date.now() - started]) });
          assert.equal(chunks.map(([text]) => text).join(''), 'line 0\nline 1\nline 2\n');
          assert.ok(chunks.length >= 2 && chunks.at(-1)[1] - chunks[0][1] >= 600, `chunks at ${chunks.map(([, t]) => t)}`);
        });

        test('state is kept across runs', async () => {
          await sbx.runCode(c.state[0], { language });
          assert.equal(value(await sbx.runCode(c.state[1], { language })), c.state[2]);
        });

        test('an error comes with its name, value and traceback; the context stays usable', async () => {
          const [code, name, message, traceback] = c.error;
          const { error } = await sbx.runCode(code, { language });
          assert.equal(error.name, name);
          if (message instanceof RegExp) assert.match(error.value, message);
          else assert.equal(error.value, message);
          assert.match(error.traceback, traceback);
          assert.equal(value(await sbx.runCode(c.result[0], { language })), c.result[1]);
        });

        test("a run's env vars are visible in it and gone after it", async () => {
          const [read, set, unset] = c.env;
          assert.equal(value(await sbx.runCode(read, { language, envs: { RUN_LEVEL: "it's set" } })), set);
          assert.equal(value(await sbx.runCode(read, { language })), unset);
        });

        test('a context has its own cwd and state; restart clears the state', async () => {
          const context = await sbx.createCodeContext({ language, cwd: '/tmp' });
          assert.equal(context.language, language);
          assert.equal(value(await sbx.runCode(c.cwd[0], { context })), c.cwd[1]);
          const [set, read, gone] = c.restart;
          await sbx.runCode(set, { context });
          assert.notEqual(value(await sbx.runCode(read, { context })), gone);
          await sbx.restartCodeContext(context);
          assert.equal(value(await sbx.runCode(read, { context })), gone);
          assert.equal(value(await sbx.runCode(c.cwd[0], { context })), c.cwd[1]);
          await sbx.removeCodeContext(context);
        });

        test('a killed kernel is reported as an unexpected end; restart revives it', async () => {
          const context = await sbx.createCodeContext({ language });
          const died = await sbx.runCode(c.kill, { context });
          assert.equal(died.error.name, 'UnexpectedEndOfExecution');
          assert.equal((await sbx.runCode(c.result[0], { context })).error.name, 'UnexpectedEndOfExecution');
          await sbx.restartCodeContext(context);
          assert.equal(value(await sbx.runCode(c.result[0], { context })), c.result[1]);
          await sbx.removeCodeContext(context);
        });
      });
    }

    describe('names', () => {
      after(() => removeContexts(sbx, (context) => context.language !== 'python'));

      test('short names and Deno map to their kernels; an unknown language is refused naming those there are', async () => {
        assert.equal(value(await sbx.runCode('typeof Deno', { language: 'js' })), 'object');
        for (const language of ['ts', 'deno']) {
          const context = await sbx.createCodeContext({ language });
          assert.equal(context.language, 'typescript');
          await sbx.removeCodeContext(context);
        }
        const res = await rawRequest(sbx, 'POST', '/contexts', JSON.stringify({ language: 'cobol' }));
        assert.equal(res.status, 400);
        assert.match(await res.text(), /"cobol".*python, javascript, typescript, bash, r/);
        const bad = await sbx.runCode('echo hi', { language: 'bash', envs: { 'A;touch /tmp/pwned #': 'x' } });
        assert.equal(bad.error.name, 'EnvVarsError');
        assert.equal((await sbx.commands.run('test -e "/tmp/pwned #" && echo there || echo absent')).stdout, 'absent\n');
      });
    });
  });
}

// What the kernels' processes can see and reach is the server's doing, not the SDK's: these run
// once, on the official SDK's sandbox.
describe('from the attacker side', () => {
  let sbx;
  before(() => {
    sbx = sandboxes.get(implementations[0][0]);
  });

  // Memory, as above: only the kernels of one test at a time.
  afterEach(() => removeContexts(sbx, (context) => context.language !== 'python'));

  test("a run's env var in one language's context is seen by no other context", async () => {
    const secret = `s3cret-${randomBytes(6).toString('hex')}`;
    const victim = await sbx.createCodeContext({ language: 'javascript' });
    const victimPid = value(await sbx.runCode(LANGUAGES.javascript.pid, { context: victim }));
    const running = sbx.runCode('await new Promise((r) => setTimeout(r, 3000))', { context: victim, envs: { VICTIM_SECRET: secret } });
    await new Promise((r) => setTimeout(r, 1000));
    const bash = await sbx.runCode(`echo "\${VICTIM_SECRET-unset}"; tr '\\0' '\\n' < /proc/${victimPid}/environ`, { language: 'bash' });
    const r = await sbx.runCode('Sys.getenv("VICTIM_SECRET", "unset")', { language: 'r' });
    const python = await sbx.runCode('import os\nos.environ.get("VICTIM_SECRET", "unset")');
    await running;
    assert.equal(bash.logs.stdout.join('').split('\n')[0], 'unset');
    assert.ok(!bash.logs.stdout.join('').includes(secret), 'the secret leaked to bash');
    assert.equal(value(r), '[1] "unset"');
    assert.equal(python.text, 'unset');
    // The victim had it meanwhile, and has it no more.
    assert.equal(value(await sbx.runCode('Deno.env.get("VICTIM_SECRET") ?? "unset"', { context: victim })), 'unset');
    await sbx.removeCodeContext(victim);
  });

  test("Deno's ports are on a loopback address the proxy never reaches; the other kernels have unix sockets", async () => {
    const denoPid = value(await sbx.runCode(LANGUAGES.javascript.pid, { language: 'javascript' }));
    const bashPid = value(await sbx.runCode(LANGUAGES.bash.pid, { language: 'bash' })).trim();
    const rPid = value(await sbx.runCode(LANGUAGES.r.pid, { language: 'r' }));
    const ss = (await sbx.commands.run('ss -Hltnp; ss -Hlxp', { user: 'root' })).stdout.split('\n');
    const tcpOf = (pid) => ss.filter((l) => l.startsWith('LISTEN') && l.includes(`pid=${pid},`) && !/:49983 /.test(l));
    const unixOf = (pid) => ss.filter((l) => l.startsWith('u_str') && l.includes(`pid=${pid},`));
    // envd's own port is inherited by every process it starts; it is not the kernels'.
    const deno = tcpOf(denoPid).map((l) => l.split(/\s+/)[3]);
    assert.equal(deno.length, 5, ss.join('\n'));
    const [address] = deno[0].split(':');
    assert.match(address, /^127\./);
    assert.notEqual(address, '127.0.0.1');
    assert.ok(deno.every((a) => a.startsWith(`${address}:`)));
    assert.equal(unixOf(rPid).length, 5);
    assert.deepEqual(tcpOf(rPid), []);
    assert.equal(unixOf(bashPid).length, 5);
    // ipykernel's one TCP socket (its subprocess output pipe, which wants its own key) only.
    assert.ok(tcpOf(bashPid).every((l) => l.split(/\s+/)[3].startsWith('127.0.0.1:')));
    for (const port of deno.map((a) => a.split(':')[1])) {
      // Inside, where the proxy connects: nothing listens there.
      const inside = await sbx.commands.run(`curl -sS -m 2 http://127.0.0.1:${port}/ 2>&1; echo "exit=$?"`);
      assert.match(inside.stdout, /exit=7/);
      // From the host, through sandboxd's proxy to that port: no kernel answers.
      const res = await rawRequest(sbx, 'GET', '/', undefined, { 'E2b-Sandbox-Port': port });
      assert.ok(res.status >= 500, `the proxy gave ${res.status} for port ${port}`);
      await res.body?.cancel();
    }
  });
});
