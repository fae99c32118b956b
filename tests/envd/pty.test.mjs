// pty.* of the official SDK: create, sendInput, resize, kill, reconnect without replay.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
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

test('input larger than the terminal holds waits for the program to read it; every byte arrives', async () => {
  const buf = { text: '' };
  const term = await sbx.pty.create({ cols: 80, rows: 24, onData: (d) => (buf.text += decoder.decode(d)) });
  // Raw mode first: a canonical terminal would drop a line past 4 KiB. The program reads
  // nothing for a second, so the write soon finds the terminal's input queue full (it takes tens
  // of KiB at most) and has to wait for room.
  await sbx.pty.sendInput(term.pid, new TextEncoder().encode('stty raw -echo; echo RE""ADY; sleep 1; head -c 200000 | sha256sum\n'));
  await waitFor(buf, /READY/);
  const input = new TextEncoder().encode('abcdefghijklmnopqrstuvwxyz'.repeat(8000).slice(0, 200000));
  await sbx.pty.sendInput(term.pid, input);
  await waitFor(buf, /[0-9a-f]{64}/);
  assert.equal(buf.text.match(/[0-9a-f]{64}/)[0], createHash('sha256').update(input).digest('hex'));
  await sbx.pty.kill(term.pid);
});

test('a burst of terminal output larger than one read arrives whole and in order', async () => {
  const buf = { text: '' };
  const term = await sbx.pty.create({ cols: 80, rows: 24, onData: (d) => (buf.text += decoder.decode(d)) });
  await sbx.pty.sendInput(term.pid, new TextEncoder().encode('stty raw -echo; seq 1 100000; echo END""MARK\n'));
  await waitFor(buf, /ENDMARK/);
  // Raw mode: each number on a line of its own, ended by a bare \n.
  const numbers = [...buf.text.matchAll(/(?<=[\r\n])(\d+)(?=\n)/g)].map((m) => m[1]);
  assert.equal(numbers.length, 100000);
  assert.ok(numbers.every((n, i) => Number(n) === i + 1));
  await sbx.pty.kill(term.pid);
});

test('closeStdin on a terminal is refused; stdin input to a terminal is an error', async () => {
  const term = await sbx.pty.create({ cols: 80, rows: 24, onData: () => {} });
  await assert.rejects(sbx.commands.closeStdin(term.pid), /Ctrl-D/);
  await assert.rejects(sbx.commands.sendStdin(term.pid, 'x'), /terminal/);
  await sbx.pty.kill(term.pid);
});
