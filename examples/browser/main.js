// e2b-wasm in a browser page: create a sandbox, run a command whose output streams into the
// page, write and read a file, pipe a file's stream into the page, drive a PTY, and kill the
// sandbox. Each step shows its result; window.example tells a test (or you) how it went.
import { Sandbox } from 'e2b-wasm';

import { $, runExample, sandboxOptions, status } from './page.js';

runExample(async (example) => {
  example.stdoutChunks = 0;
  example.ptyOutput = '';

  status('creating a sandbox');
  const sandbox = await Sandbox.create({ ...(await sandboxOptions()), timeoutMs: 120_000 });
  example.sandboxId = sandbox.sandboxId;
  $('sandbox-id').textContent = sandbox.sandboxId;

  status('running a command');
  const result = await sandbox.commands.run('for i in 1 2 3; do echo "line $i"; sleep 0.2; done', {
    onStdout: (data) => {
      example.stdoutChunks++;
      $('stdout').textContent += data;
    },
  });
  example.exitCode = result.exitCode;

  status('writing and reading a file');
  await sandbox.files.write('/tmp/hello.txt', 'Hello from the page, ünïcödé included\n');
  $('file-text').textContent = await sandbox.files.read('/tmp/hello.txt');

  status('reading a file as a stream');
  // 100 000 numbered lines (1.1 MB), made in the sandbox, arrive in many chunks.
  await sandbox.commands.run("seq -f 'row-%06g' 1 100000 > /tmp/rows.txt");
  const stream = await sandbox.files.read('/tmp/rows.txt', { format: 'stream' });
  let bytes = 0;
  await stream
    .pipeThrough(new TransformStream({
      transform(chunk, controller) {
        bytes += chunk.byteLength;
        $('stream-bytes').textContent = String(bytes);
        controller.enqueue(chunk);
      },
    }))
    .pipeThrough(new TextDecoderStream())
    .pipeTo(new WritableStream({ write: (text) => { $('file-stream').textContent += text; } }));
  example.streamBytes = bytes;

  status('driving a PTY');
  const decoder = new TextDecoder();
  let sawAnswer;
  const answered = new Promise((resolve) => { sawAnswer = resolve; });
  const pty = await sandbox.pty.create({
    cols: 80,
    rows: 24,
    onData: (data) => {
      example.ptyOutput += decoder.decode(data, { stream: true });
      $('pty').textContent = example.ptyOutput;
      if (example.ptyOutput.includes('pty-42')) sawAnswer();
    },
  });
  // The shell computes the answer, so finding it proves the input ran (not just its echo).
  await sandbox.pty.sendInput(pty.pid, new TextEncoder().encode('echo pty-$((6*7))\n'));
  await answered;
  await sandbox.pty.kill(pty.pid);

  status('killing the sandbox');
  example.killed = await sandbox.kill();
  status('done');
});
