// pty.* of the official SDK: create, sendInput, resize, kill, reconnect without replay.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnvd } from '../helpers/envd.mjs';

let envd, sbx;
before(async () => {
  envd = await startEnvd();
  sbx = envd.sandbox();
});
after(() => envd?.stop());

const decoder = new TextDecoder();

/** Resolves once the terminal output collected in `buf` matches `re`. */
async function waitFor(buf, re) {
  for (let i = 0; i < 100; i++) {
    if (re.test(buf.text)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.match(buf.text, re);
}

test('pty.create runs an interactive shell that takes input and reports its size', async () => {
  const buf = { text: '' };
  const term = await sbx.pty.create({ cols: 91, rows: 27, onData: (d) => (buf.text += decoder.decode(d)) });
  assert.ok(term.pid > 0);
  await sbx.pty.sendInput(term.pid, new TextEncoder().encode('echo "size $(tput cols)x$(tput lines) tty $(tty)"\n'));
  await waitFor(buf, /size 91x27 tty \/dev\/pts\/\d+/);
  await sbx.pty.resize(term.pid, { cols: 120, rows: 40 });
  await sbx.pty.sendInput(term.pid, new TextEncoder().encode('echo "now $(tput cols)x$(tput lines)"\n'));
  await waitFor(buf, /now 120x40/);
  await sbx.pty.sendInput(term.pid, new TextEncoder().encode('exit 4\n'));
  const result = await term.wait().catch((e) => e);
  assert.equal(result.exitCode, 4);
});

test('pty.kill ends the terminal and unknown pids answer false', async () => {
  const term = await sbx.pty.create({ cols: 80, rows: 24, onData: () => {} });
  assert.equal(await sbx.pty.kill(term.pid), true);
  const result = await term.wait().catch((e) => e);
  assert.equal(result.exitCode, -1);
  assert.equal(await sbx.pty.kill(999999), false);
});

test('reconnecting to a terminal shows only new output', async () => {
  const first = { text: '' };
  const term = await sbx.pty.create({ cols: 80, rows: 24, onData: (d) => (first.text += decoder.decode(d)) });
  await sbx.pty.sendInput(term.pid, new TextEncoder().encode('echo before-$((40+2))\n'));
  await waitFor(first, /before-42\r?\n/);
  await term.disconnect();
  const second = { text: '' };
  const again = await sbx.pty.connect(term.pid, { onData: (d) => (second.text += decoder.decode(d)) });
  await sbx.pty.sendInput(term.pid, new TextEncoder().encode('echo after-$((40+3))\n'));
  await waitFor(second, /after-43\r?\n/);
  assert.doesNotMatch(second.text, /before-42/);
  await sbx.pty.kill(term.pid);
  await again.wait().catch(() => {});
});

test('closeStdin on a terminal is refused; stdin input to a terminal is an error', async () => {
  const term = await sbx.pty.create({ cols: 80, rows: 24, onData: () => {} });
  await assert.rejects(sbx.commands.closeStdin(term.pid), /Ctrl-D/);
  await assert.rejects(sbx.commands.sendStdin(term.pid, 'x'), /terminal/);
  await sbx.pty.kill(term.pid);
});
