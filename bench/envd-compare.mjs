// sandboxd's envd against E2B's own envd, with the same client (the official `e2b` SDK in debug
// mode), each envd on the host in the same throwaway namespaces (tests/helpers/envd.mjs), the
// two taking turns call by call: small calls (p50, p99), command output through `onStdout`,
// uploads and streamed downloads, PTY keystroke echo, and each envd's resident memory after it
// all (VmRSS, and VmHWM, its peak). Ratios are ours ÷ E2B's; issue 19's target is ≤ 1.0 on
// every row.
//
// E2B's envd is not part of this repository and cannot be fetched where the tests run, so this
// is not one of `npm run bench`'s files: build E2B's envd from its public source (github
// e2b-dev/infra, packages/envd, `go build`) in a scratch directory outside the repo, then
//
//   E2B_ENVD_BIN=/path/to/envd node bench/envd-compare.mjs [--samples 300] [--mib 64] [--runs 3]
//
// It prints the table and writes bench/results/envd-compare.json.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { startEnvd } from '../tests/helpers/envd.mjs';
import { MiB, formatTable, mbps, percentile, ptyTerminal, round, row, takingTurns } from './lib.mjs';

const { values } = parseArgs({
  options: { samples: { type: 'string', default: '300' }, mib: { type: 'string', default: '64' }, runs: { type: 'string', default: '3' } },
});
const SAMPLES = Number(values.samples);
const SIZE = Number(values.mib) * MiB;
const RUNS = Number(values.runs);
const e2bEnvd = process.env.E2B_ENVD_BIN;
if (!e2bEnvd) {
  console.error('envd-compare: set E2B_ENVD_BIN to E2B\'s envd binary (built from e2b-dev/infra packages/envd)');
  process.exit(2);
}

const envds = {
  ours: await startEnvd(),
  e2b: await startEnvd({ otherEnvd: (port) => [e2bEnvd, '-isnotfc', '-no-cgroups', '-port', String(port)] }),
};
const sbx = Object.fromEntries(Object.entries(envds).map(([name, envd]) => [name, envd.sandbox()]));
const both = (fn) => ({ ours: () => fn(sbx.ours), e2b: () => fn(sbx.e2b) });
const memory = (envd) => {
  const status = readFileSync(`/proc/${envd.envdPid()}/status`, 'utf8');
  const kib = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)[1]);
  return { rssMiB: round(kib('VmRSS') / 1024, 1), peakMiB: round(kib('VmHWM') / 1024, 1) };
};

const rows = [];
const perRun = [];
try {
  const kib = new Uint8Array(1024).fill(97);
  const big = new Uint8Array(SIZE).fill(98);
  for (const s of Object.values(sbx)) {
    await s.files.write('/home/user/one-kib', kib);
    await s.files.write('/home/user/dir/a', 'a');
  }
  const small = {
    "run('true')": (s) => s.commands.run('true'),
    exists: (s) => s.files.exists('/home/user/one-kib'),
    list: (s) => s.files.list('/home/user/dir'),
    'write 1 KiB': (s) => s.files.write('/home/user/w-1kib', kib),
    'read 1 KiB': (s) => s.files.read('/home/user/one-kib', { format: 'bytes' }),
  };
  const output = (s) => {
    let got = 0;
    return s.commands
      .run(`head -c ${SIZE} /dev/zero | tr '\\0' x`, { onStdout: (d) => (got += d.length), timeoutMs: 0 })
      .then(() => {
        if (got !== SIZE) throw new Error(`onStdout got ${got} of ${SIZE} bytes`);
      });
  };
  const upload = (s) => s.files.write('/home/user/big', big);
  const download = async (s) => {
    let got = 0;
    for await (const chunk of await s.files.read('/home/user/big', { format: 'stream' })) got += chunk.length;
    if (got !== SIZE) throw new Error(`download got ${got} of ${SIZE} bytes`);
  };

  for (let run = 0; run < RUNS; run++) {
    const result = {};
    for (const [name, call] of Object.entries(small)) {
      result[name] = await takingTurns(both(call), { rounds: SAMPLES, warmup: 20 });
    }
    result['command output'] = await takingTurns(both(output), { rounds: 3, warmup: 1 });
    result.upload = await takingTurns(both(upload), { rounds: 3, warmup: 1 });
    result.download = await takingTurns(both(download), { rounds: 3, warmup: 1 });
    perRun.push(result);
  }
  const terms = { ours: await ptyTerminal(sbx.ours), e2b: await ptyTerminal(sbx.e2b) };
  const echo = await takingTurns({ ours: terms.ours.keystroke, e2b: terms.e2b.keystroke }, { rounds: SAMPLES, warmup: 20 });
  for (const term of Object.values(terms)) await term.kill();

  // Each measure over all runs together: the p50 (p99) of every sample of every run.
  const all = (name, who) => perRun.flatMap((r) => r[name][who]);
  for (const name of Object.keys(small)) {
    for (const p of [50, 99]) {
      const at = (who) => round(percentile(all(name, who), p), 3);
      rows.push(row(`${name} p${p}`, 'ms', 'lower', { ours: at('ours'), official: at('e2b') }, { against: 'official', ratio: 1.0 }));
    }
  }
  for (const name of ['command output', 'upload', 'download']) {
    const rate = (who) => mbps(SIZE, percentile(all(name, who), 50));
    rows.push(row(`${name} ${SIZE / MiB} MiB`, 'MB/s', 'higher', { ours: rate('ours'), official: rate('e2b') }, { against: 'official', ratio: 1.0 }));
  }
  for (const p of [50, 99]) {
    const at = (who) => round(percentile(echo[who], p), 3);
    rows.push(row(`PTY keystroke echo p${p}`, 'ms', 'lower', { ours: at('ours'), official: at('e2b') }, { against: 'official', ratio: 1.0 }));
  }
  const mem = { ours: memory(envds.ours), e2b: memory(envds.e2b) };
  rows.push(row('resident memory after the runs', 'MiB', 'lower', { ours: mem.ours.rssMiB, official: mem.e2b.rssMiB }, { against: 'official', ratio: 1.0 }));
  rows.push(row('peak resident memory', 'MiB', 'lower', { ours: mem.ours.peakMiB, official: mem.e2b.peakMiB }, { against: 'official', ratio: 1.0 }));

  // The table's "e2b" column is E2B's envd here, and "e2b-wasm" sandboxd's.
  console.log('(columns: e2b-wasm = sandboxd\'s envd, e2b = E2B\'s envd; the same official SDK drives both)\n');
  console.log(formatTable(rows));
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('./results/envd-compare.json', import.meta.url),
    `${JSON.stringify({ date: new Date().toISOString(), samples: SAMPLES, mib: SIZE / MiB, runs: RUNS, rows }, null, 2)}\n`);
} finally {
  for (const envd of Object.values(envds)) await envd.stop();
}
