// e2b-wasm/code-interpreter against the official @e2b/code-interpreter, in one process against
// one sandboxd (code-interpreter-v1 built on its first use, outside the timings): `runCode('1+1')`
// latency, 64 MiB of Python stdout streamed to `onStdout`, and the entry's added bundle size
// (from pkg/sizes.json, `npm run build`). Writes bench/results/code-interpreter-sdk.json (rows
// for the final table of `npm run bench`, see lib.mjs).
//
//   node bench/code-interpreter-sdk.bench.mjs [--samples 50] [--mib 64]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import * as official from '@e2b/code-interpreter';
import * as ours from '../pkg/code-interpreter-node.js';
import { startCodeInterpreterSandboxd } from '../tests/code-interpreter/util.mjs';
import { MiB, formatTable, mbps, percentile, round, row, takingTurns } from './lib.mjs';

const { values } = parseArgs({ options: { samples: { type: 'string', default: '50' }, mib: { type: 'string', default: '64' } } });
const SAMPLES = Number(values.samples);
const SIZE = Number(values.mib) * MiB;
const ROUNDS = 3;
const log = (...a) => console.error('bench:', ...a);

const sd = await startCodeInterpreterSandboxd();
const rows = [];
try {
  const sandboxes = { ours: await ours.Sandbox.create(), official: await official.Sandbox.create() };
  try {
    log(`runCode('1+1') x ${SAMPLES}`);
    const latency = await takingTurns(
      Object.fromEntries(Object.entries(sandboxes).map(([name, sbx]) => [name, () => sbx.runCode('1+1')])),
      { rounds: SAMPLES, warmup: 3 },
    );
    const p50 = Object.fromEntries(Object.entries(latency).map(([name, ms]) => [name, round(percentile(ms, 50))]));
    rows.push(row("code-interpreter: runCode('1+1') p50", 'ms', 'lower', p50, { against: 'official', ratio: 1.0 }));

    // 1 KiB lines written in one loop; every byte goes through onStdout (checked).
    const flood = `import sys\nline = "x" * 1023 + "\\n"\nfor _ in range(${SIZE / 1024}):\n    sys.stdout.write(line)\nsys.stdout.flush()`;
    log(`${SIZE / MiB} MiB of stdout x ${ROUNDS}`);
    const streamed = await takingTurns(
      Object.fromEntries(Object.entries(sandboxes).map(([name, sbx]) => [name, async () => {
        let bytes = 0;
        await sbx.runCode(flood, { timeoutMs: 0, onStdout: (out) => { bytes += out.line.length; } });
        if (bytes !== SIZE) throw new Error(`${name}: ${bytes} bytes of stdout, not ${SIZE}`);
      }])),
      { rounds: ROUNDS },
    );
    const rate = Object.fromEntries(Object.entries(streamed).map(([name, ms]) => [name, mbps(SIZE, percentile(ms, 50))]));
    rows.push(row(`code-interpreter: ${SIZE / MiB} MiB stdout to onStdout`, 'MB/s', 'higher', rate, { against: 'official', ratio: 1.0 }));
  } finally {
    for (const sbx of Object.values(sandboxes)) await sbx.kill();
  }
} finally {
  await sd.stop();
}
const sizes = JSON.parse(readFileSync(new URL('../pkg/sizes.json', import.meta.url), 'utf8'));
const addedGzip = (sizes.codeInterpreterPath.gzip - sizes.sandboxPath.gzip) / 1024;
rows.push(row('code-interpreter: entry added over import { Sandbox }, gzip', 'KiB', 'lower', { ours: round(addedGzip, 1) }, { against: 'absolute', max: 10 }));

console.log(formatTable(rows));
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/code-interpreter-sdk.json', import.meta.url), `${JSON.stringify({ rows }, null, 2)}\n`);
