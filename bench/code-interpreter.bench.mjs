// The code interpreter on sandboxd through the official `@e2b/code-interpreter` (its column of
// the table; e2b-wasm's comes with its code interpreter): the template's
// build on its first use, create-to-ready of `code-interpreter-v1` without and with a warm pool
// (sandboxd restarted on the same data dir with `--warm-pool`), the first `runCode` after a
// create, `runCode('1+1')` p50, and Python stdout streamed through `onStdout` (MB/s); the last
// two also as a hand-written `fetch` of POST /execute read to its end, the floor any SDK stands on.
//
//   node bench/code-interpreter.bench.mjs [--samples 30] [--mib 64]
//
// Prints a JSON summary and writes it to bench/results/code-interpreter.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { Sandbox } from '@e2b/code-interpreter';
import { startSandboxdForSdk } from '../tests/helpers/sandboxd.mjs';
import { buildOnFirstUse } from '../tests/code-interpreter/util.mjs';
import { summary, timed } from './lib.mjs';

const TEMPLATE = 'code-interpreter-v1';
const { values } = parseArgs({
  options: { samples: { type: 'string', default: '30' }, mib: { type: 'string', default: '64' } },
});
const samples = Number(values.samples);
const mib = Number(values.mib);

/** Python that writes `mib` MiB to stdout in 1 KiB lines. */
const printMiB = (n) => `import sys\nline = 'x' * 1023 + '\\n'\nfor _ in range(${n * 1024}):\n    sys.stdout.write(line)\nsys.stdout.flush()`;

/** POST /execute by hand, as the SDK sends it; resolves with the answer's byte count when read to its end. */
async function rawExecute(sbx, code) {
  const res = await fetch(`${sbx.jupyterUrl}/execute`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      'E2b-Sandbox-Id': sbx.sandboxId,
      'E2b-Sandbox-Port': '49999',
      'X-Access-Token': sbx.envdAccessToken ?? '',
    },
    body: JSON.stringify({ code }),
  });
  let bytes = 0;
  for await (const chunk of res.body) bytes += chunk.byteLength;
  if (res.status !== 200) throw new Error(`POST /execute: ${res.status}`);
  return bytes;
}

let sd = await startSandboxdForSdk();
try {
  const [firstUseBuildMs] = await timed(() => buildOnFirstUse(sd));

  // Without a pool: every create starts the execution server and Python's kernel.
  const createMs = [];
  const firstRunMs = [];
  for (let i = 0; i < Math.min(samples, 10); i++) {
    const [ms, sbx] = await timed(() => Sandbox.create());
    createMs.push(ms);
    firstRunMs.push((await timed(() => sbx.runCode('1+1')))[0]);
    await sbx.kill();
  }

  const sbx = await Sandbox.create({ timeoutMs: 600_000 });
  await sbx.runCode('1+1');
  const runCodeMs = [];
  const rawRunMs = [];
  for (let i = 0; i < samples; i++) {
    runCodeMs.push((await timed(() => sbx.runCode('1+1')))[0]);
    rawRunMs.push((await timed(() => rawExecute(sbx, '1+1')))[0]);
  }
  const code = printMiB(mib);
  let streamed = 0;
  const [stdoutMs] = await timed(() => sbx.runCode(code, { onStdout: (out) => (streamed += out.line.length), timeoutMs: 600_000 }));
  if (streamed !== mib * 1024 * 1024) throw new Error(`onStdout got ${streamed} bytes of ${mib} MiB`);
  const [rawStdoutMs] = await timed(() => rawExecute(sbx, code));
  await sbx.kill();

  // With a warm pool of one: each create finds a ready sandbox (the bench waits for the refill).
  await sd.stop({ keepDataDir: true });
  sd = await startSandboxdForSdk({ dataDir: sd.dataDir, args: ['--warm-pool', `${TEMPLATE}=1`] });
  const poolReady = (n) => (sd.logs().match(new RegExp(`warm pool of ${TEMPLATE}: \\S+ is ready`, 'g')) ?? []).length >= n;
  const pooledCreateMs = [];
  const pooledFirstRunMs = [];
  for (let i = 0; i < Math.min(samples, 10); i++) {
    const deadline = Date.now() + 120_000;
    while (!poolReady(i + 1)) {
      if (Date.now() > deadline) throw new Error(`the warm pool of ${TEMPLATE} did not refill`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const [ms, pooled] = await timed(() => Sandbox.create());
    pooledCreateMs.push(ms);
    pooledFirstRunMs.push((await timed(() => pooled.runCode('1+1')))[0]);
    await pooled.kill();
  }

  const mbPerSec = (ms) => +((mib * 1024 * 1024) / 1e6 / (ms / 1000)).toFixed(1);
  const result = {
    firstUseBuildSecs: +(firstUseBuildMs / 1000).toFixed(1),
    createMs: summary(createMs),
    createWarmPoolMs: summary(pooledCreateMs),
    firstRunCodeMs: summary(firstRunMs),
    firstRunCodeWarmPoolMs: summary(pooledFirstRunMs),
    runCodeMs: summary(runCodeMs),
    rawExecuteMs: summary(rawRunMs),
    stdout: { mib, officialMBps: mbPerSec(stdoutMs), rawFetchMBps: mbPerSec(rawStdoutMs) },
  };
  console.log(JSON.stringify(result, null, 2));
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('./results/code-interpreter.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await sd.stop();
}
