// commands.* of the official SDK against a real envd: foreground/background, output callbacks,
// exit codes, envs, cwd, user, stdin, list, kill, connect, timeouts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CommandExitError, TimeoutError } from 'e2b';
import { startEnvd } from '../helpers/envd.mjs';

let envd, sbx;
before(async () => {
  envd = await startEnvd();
  sbx = envd.sandbox();
});
after(() => envd?.stop());

test('foreground run streams stdout and stderr to callbacks and returns both', async () => {
  const out = [];
  const err = [];
  const r = await sbx.commands.run('echo one; echo two >&2; echo three', {
    onStdout: (d) => out.push(d),
    onStderr: (d) => err.push(d),
  });
  assert.equal(r.exitCode, 0);
  assert.equal(r.stdout, 'one\nthree\n');
  assert.equal(r.stderr, 'two\n');
  assert.equal(out.join(''), 'one\nthree\n');
  assert.equal(err.join(''), 'two\n');
});

test('a non-zero exit raises CommandExitError with the exit code and output', async () => {
  await assert.rejects(sbx.commands.run('echo partial; exit 3'), (e) => {
    assert.ok(e instanceof CommandExitError);
    assert.equal(e.exitCode, 3);
    assert.equal(e.error, 'exit status 3');
    assert.equal(e.stdout, 'partial\n');
    return true;
  });
});

test('large output arrives complete and in order', async () => {
  const r = await sbx.commands.run('seq 1 100000');
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 100000);
  assert.equal(lines[99999], '100000');
});

test('envs, cwd and user apply to the command; request envs do not persist', async () => {
  const r = await sbx.commands.run('echo $FOO; pwd; id -un; echo $HOME', { envs: { FOO: 'bar' }, cwd: '/tmp' });
  assert.equal(r.stdout, 'bar\n/tmp\nuser\n/home/user\n');
  const again = await sbx.commands.run('echo "[$FOO]"');
  assert.equal(again.stdout, '[]\n');
  const root = await sbx.commands.run('id -u; pwd', { user: 'root' });
  assert.equal(root.stdout, '0\n/home/user\n');
  const groups = await sbx.commands.run('id -G', { user: 'user' });
  assert.equal(groups.stdout.trim(), '1000');
});

test('default cwd is the workdir and relative cwd is home-relative', async () => {
  await sbx.files.makeDir('sub/dir');
  const r = await sbx.commands.run('pwd', { cwd: 'sub/dir' });
  assert.equal(r.stdout, '/home/user/sub/dir\n');
  assert.equal((await sbx.commands.run('pwd')).stdout, '/home/user\n');
});

test('a missing cwd and an unknown user are clear errors', async () => {
  await assert.rejects(sbx.commands.run('true', { cwd: '/does/not/exist' }), /cwd '\/does\/not\/exist' does not exist/);
  await assert.rejects(sbx.commands.run('true', { user: 'nosuchuser' }), (e) => {
    assert.equal(e.constructor.name, 'AuthenticationError');
    assert.match(e.message, /invalid username: 'nosuchuser'/);
    return true;
  });
});

test('background commands: list, sendStdin, closeStdin, wait', async () => {
  const cat = await sbx.commands.run('cat', { background: true, stdin: true });
  const listed = await sbx.commands.list();
  const mine = listed.find((p) => p.pid === cat.pid);
  assert.ok(mine, 'the background command is listed');
  assert.equal(mine.cmd, '/bin/bash');
  assert.deepEqual(mine.args, ['-l', '-c', 'cat']);
  await sbx.commands.sendStdin(cat.pid, 'hello ');
  await cat.sendStdin('world\n');
  await sbx.commands.closeStdin(cat.pid);
  const result = await cat.wait();
  assert.equal(result.stdout, 'hello world\n');
  assert.ok(!(await sbx.commands.list()).some((p) => p.pid === cat.pid), 'ended commands leave the list');
});

test('stdin is /dev/null unless requested', async () => {
  const r = await sbx.commands.run('cat; echo done');
  assert.equal(r.stdout, 'done\n');
});

test('kill ends a command, reaps it, and answers false for unknown pids', async () => {
  const sleeper = await sbx.commands.run('sleep 60', { background: true });
  assert.equal(await sbx.commands.kill(sleeper.pid), true);
  await assert.rejects(sleeper.wait(), (e) => e instanceof CommandExitError && e.exitCode === -1 && e.error === 'signal: killed');
  const probe = await sbx.commands.run(`kill -0 ${sleeper.pid} 2>/dev/null && echo alive || echo gone`, { user: 'root' });
  assert.equal(probe.stdout, 'gone\n');
  assert.equal(await sbx.commands.kill(999999), false);
});

test('connect re-attaches to a running command and sees only new output', async () => {
  const cmd = await sbx.commands.run('read line; echo "got $line"; sleep 0.2; echo after', { background: true, stdin: true });
  await cmd.disconnect();
  const seen = [];
  const again = await sbx.commands.connect(cmd.pid, { onStdout: (d) => seen.push(d) });
  await sbx.commands.sendStdin(cmd.pid, 'x\n');
  const result = await again.wait();
  assert.equal(result.stdout, 'got x\nafter\n');
  assert.equal(seen.join(''), 'got x\nafter\n');
  await assert.rejects(sbx.commands.connect(999999), /not found/);
});

test('a process outlives its disconnected stream', async () => {
  const cmd = await sbx.commands.run('sleep 0.3; echo finished > /home/user/outlived.txt', { background: true });
  await cmd.disconnect();
  for (let i = 0; i < 50 && !(await sbx.files.exists('outlived.txt')); i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(await sbx.files.read('outlived.txt'), 'finished\n');
});

test('timeoutMs bounds the process: it is killed and the call fails with TimeoutError', async () => {
  const marker = `/home/user/timeout-${Date.now()}`;
  await assert.rejects(sbx.commands.run(`echo $$ > ${marker}; sleep 30`, { timeoutMs: 500 }), (e) => e instanceof TimeoutError);
  const pid = (await sbx.files.read(marker)).trim();
  const probe = await sbx.commands.run(`for i in $(seq 50); do kill -0 ${pid} 2>/dev/null || break; sleep 0.1; done; kill -0 ${pid} 2>/dev/null && echo alive || echo gone`, { user: 'root' });
  assert.equal(probe.stdout, 'gone\n');
});

test('orphans are reaped (no zombies under envd)', async () => {
  await sbx.commands.run('(sleep 0.1 &) ; true');
  await new Promise((r) => setTimeout(r, 400));
  const zombies = await sbx.commands.run("ps -eo stat= | grep -c '^Z' || true", { user: 'root' });
  assert.equal(zombies.stdout.trim(), '0');
});
