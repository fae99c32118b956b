// sandbox.pty through both SDKs against a real sandboxd: interactive programs (a Python REPL,
// bash's `read`), resizing seen by `stty`/`tput`, output as ordered Uint8Array chunks,
// reconnecting, killing, and the errors for unknown terminals.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { startSandboxdForSdk } from '../helpers/sandboxd.mjs';
import { implementations } from './implementations.mjs';

let sd;
before(async () => {
  sd = await startSandboxdForSdk();
});
after(async () => {
  await sd?.stop();
});

const encode = (s) => new TextEncoder().encode(s);

/** A terminal's output: its chunks and their text so far. */
function screen() {
  const decoder = new TextDecoder();
  const out = { chunks: [], text: '' };
  out.onData = (data) => {
    out.chunks.push(data);
    out.text += decoder.decode(data, { stream: true });
  };
  return out;
}

/** Waits (at most ~15 s) until the output matches `re`. */
async function waitFor(out, re) {
  for (let i = 0; i < 300 && !re.test(out.text); i++) await new Promise((r) => setTimeout(r, 50));
  assert.match(out.text, re);
}

for (const [name, sdk] of implementations) {
  describe(`${name}: pty`, () => {
    let sbx;
    before(async () => {
      sbx = await sdk.Sandbox.create();
    });
    after(async () => {
      await sbx?.kill();
    });

    test('a Python REPL runs interactively and the terminal resizes', async () => {
      const out = screen();
      const term = await sbx.pty.create({ cols: 91, rows: 27, onData: out.onData });
      assert.ok(term.pid > 0);
      await sbx.pty.sendInput(term.pid, encode('stty size; echo "cols=$(tput cols) term=$TERM lang=$LANG"\n'));
      await waitFor(out, /27 91\r\ncols=91 term=xterm-256color lang=C\.UTF-8\r\n/);
      await sbx.pty.sendInput(term.pid, encode('python3 -q\n'));
      await waitFor(out, />>> $/);
      await sbx.pty.sendInput(term.pid, encode('print("sum", 6 * 7, "ünï")\n'));
      await waitFor(out, /sum 42 ünï\r\n>>> $/);
      await sbx.pty.resize(term.pid, { cols: 120, rows: 40 });
      await sbx.pty.sendInput(term.pid, encode('import os; print(tuple(os.get_terminal_size()))\n'));
      await waitFor(out, /\(120, 40\)\r\n/);
      await waitFor(out, /\(120, 40\)\r\n(.|\r)*>>> $/);
      await sbx.pty.sendInput(term.pid, encode('exit()\n'));
      await sbx.pty.sendInput(term.pid, encode('stty size; exit 4\n'));
      await waitFor(out, /40 120\r\n/);
      const result = await term.wait().catch((e) => e);
      assert.ok(result instanceof sdk.CommandExitError);
      assert.equal(result.exitCode, 4);
      assert.deepEqual([term.stdout, term.stderr], ['', ''], 'terminal output goes to onData only');
      assert.ok(out.chunks.every((c) => c instanceof Uint8Array));
    });

    test('bash `read` takes typed input; options reach the shell', async () => {
      const out = screen();
      const term = await sbx.pty.create({ cols: 80, rows: 24, onData: out.onData, cwd: '/tmp', envs: { GREETING: 'hi', TERM: 'vt100' }, user: 'root' });
      await sbx.pty.sendInput(term.pid, encode('read -p "name? " who; echo "$GREETING $who from $(pwd) as $(whoami) on $TERM"\n'));
      await waitFor(out, /name\? $/);
      await sbx.pty.sendInput(term.pid, encode('bob\n'));
      await waitFor(out, /hi bob from \/tmp as root on vt100/);
      assert.equal(await sbx.pty.kill(term.pid), true);
    });

    test('output arrives as Uint8Array chunks in order', async () => {
      const out = screen();
      const term = await sbx.pty.create({ cols: 80, rows: 24, onData: out.onData });
      await sbx.pty.sendInput(term.pid, encode('stty -echo; for i in $(seq 1 3000); do echo "line $i"; done; echo done-marker\n'));
      // The output line, not the echo of the typed command.
      await waitFor(out, /\ndone-marker\r\n/);
      const numbers = [...out.text.matchAll(/line (\d+)\r\n/g)].map((m) => Number(m[1]));
      assert.deepEqual(numbers, Array.from({ length: 3000 }, (_, i) => i + 1));
      assert.ok(out.chunks.length > 1);
      await sbx.pty.kill(term.pid);
    });

    test('kill ends the terminal; a disconnected terminal can be reconnected', async () => {
      const first = screen();
      const term = await sbx.pty.create({ cols: 80, rows: 24, onData: first.onData });
      await sbx.pty.sendInput(term.pid, encode('echo before-$((40+2))\n'));
      await waitFor(first, /before-42\r\n/);
      await term.disconnect();
      const second = screen();
      const again = await sbx.pty.connect(term.pid, { onData: second.onData });
      assert.equal(again.pid, term.pid);
      await sbx.pty.sendInput(term.pid, encode('echo after-$((40+3))\n'));
      await waitFor(second, /after-43\r\n/);
      assert.doesNotMatch(second.text, /before-42/);
      assert.equal(await sbx.pty.kill(term.pid), true);
      const result = await again.wait().catch((e) => e);
      assert.ok(result instanceof sdk.CommandExitError);
      assert.equal(result.exitCode, -1);
      assert.equal(await sbx.pty.kill(term.pid), false);
    });

    test('timeoutMs ends the terminal with TimeoutError', async () => {
      const term = await sbx.pty.create({ cols: 80, rows: 24, onData: () => {}, timeoutMs: 500 });
      const err = await term.wait().catch((e) => e);
      assert.ok(err instanceof sdk.TimeoutError, `${err?.name}: ${err?.message}`);
      assert.match(err.message, /^\[deadline_exceeded\]/);
      const ps = await sbx.commands.run(`ps -p ${term.pid} >/dev/null || echo gone`, { user: 'root' });
      assert.equal(ps.stdout, 'gone\n', 'envd killed the terminal at its deadline');
    });

    test('unknown terminals, bad cwd or user, and stdin on a terminal fail with the official classes', async () => {
      const unknown = 999_999;
      assert.equal(await sbx.pty.kill(unknown), false);
      for (const call of [
        () => sbx.pty.sendInput(unknown, encode('x')),
        () => sbx.pty.resize(unknown, { cols: 10, rows: 10 }),
        () => sbx.pty.connect(unknown, { onData: () => {} }),
      ]) {
        const err = await call().catch((e) => e);
        assert.ok(err instanceof sdk.NotFoundError, `${err?.name}: ${err?.message}`);
        assert.ok(!(err instanceof sdk.FileNotFoundError));
      }
      const badCwd = await sbx.pty.create({ cols: 80, rows: 24, onData: () => {}, cwd: '/no/such/dir' }).catch((e) => e);
      assert.ok(badCwd instanceof sdk.InvalidArgumentError, `${badCwd?.name}: ${badCwd?.message}`);
      const badUser = await sbx.pty.create({ cols: 80, rows: 24, onData: () => {}, user: 'nobody-such' }).catch((e) => e);
      assert.ok(badUser instanceof sdk.AuthenticationError, `${badUser?.name}: ${badUser?.message}`);
      const term = await sbx.pty.create({ cols: 80, rows: 24, onData: () => {} });
      const stdin = await term.sendStdin('x').catch((e) => e);
      assert.ok(stdin instanceof sdk.SandboxError);
      const notPty = await sbx.commands.run('sleep 30', { background: true });
      const resize = await sbx.pty.resize(notPty.pid, { cols: 10, rows: 10 }).catch((e) => e);
      assert.ok(resize instanceof sdk.SandboxError, `${resize?.name}: ${resize?.message}`);
      await notPty.kill();
      await sbx.pty.kill(term.pid);
    });
  });
}
