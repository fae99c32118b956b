// `npm run bench`: runs every bench/*.bench.mjs in turn (each saves its results under
// bench/results/), then prints one table of every workload (absolute numbers, ratios, targets)
// and writes it with the machine description to bench/results/latest.json, then the codec
// comparison (the SDK's default binary protobuf build against its `json-codec` build).
// Extra arguments filter the files by substring (the final table then covers what exists).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { sandboxdBinary } from '../tests/helpers/sandboxd.mjs';
import { codecTable, formatTable, machine, markdownTable, row } from './lib.mjs';

const dir = fileURLToPath(new URL('.', import.meta.url));
const built = (pkg) => existsSync(new URL(`../${pkg}/node.js`, import.meta.url));
if (!built('pkg') || !built('pkg-json') || !existsSync(sandboxdBinary())) {
  console.error('bench: needs pkg/, pkg-json/ and the sandboxd binary: run `npm run build`, ' +
    '`npm run build:json` and `cargo build --release -p sandboxd` first (or set SANDBOXD_BIN)');
  process.exit(1);
}
const filters = process.argv.slice(2);
const benches = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.mjs'))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
for (const file of benches) {
  console.log(`\n# ${file}`);
  const run = spawnSync(process.execPath, [fileURLToPath(new URL(file, import.meta.url))], { stdio: 'inherit' });
  if (run.status !== 0) process.exit(run.status ?? 1);
}

const results = (name) => {
  const file = new URL(`./results/${name}.json`, import.meta.url);
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null;
};
const sdk = results('sdk');
const sandboxd = results('sandboxd');
const rows = [...(sdk?.rows ?? []), ...(results('code-interpreter-sdk')?.rows ?? [])];
if (sandboxd) {
  rows.push(row('sandboxd: create-to-ready p50', 'ms', 'lower', { ours: sandboxd.createToReadyMs.p50 }));
  rows.push(row('sandboxd: exec round trip p50', 'ms', 'lower', { ours: sandboxd.execRoundTripMs.p50 }));
  rows.push(row('sandboxd: small template build, first', 'ms', 'lower', { ours: sandboxd.templates.smallBuildMs.first }));
  rows.push(row('sandboxd: small template build, cached', 'ms', 'lower', { ours: sandboxd.templates.smallBuildMs.cached }));
  rows.push(row('sandboxd: create p50, template with a 1 s start command, warm pool off', 'ms', 'lower', { ours: sandboxd.templates.createWith1sStartCmdMs.p50 }));
  rows.push(row('sandboxd: create p50, template with a 1 s start command, warm pool on', 'ms', 'lower', { ours: sandboxd.templates.createWith1sStartCmdWarmPoolMs?.p50 }));
  rows.push(row('sandboxd: base build time (machine-wide, recorded)', 's', 'lower', { ours: sandboxd.templates.baseBuildSecs }));
  rows.push(row('sandboxd: concurrent sandboxes answering', 'count', 'higher', { ours: sandboxd.concurrentSandboxes.running }));
}
const interpreter = results('code-interpreter');
if (interpreter) {
  // The server's rows, measured through the official SDK (its column) with a raw fetch as the
  // floor; ours against the official SDK are code-interpreter-sdk's rows, above.
  const ci = (name, unit, better, official, raw) => rows.push(row(`code interpreter: ${name}`, unit, better, { official, raw }));
  ci('template build on first use', 's', 'lower', interpreter.firstUseBuildSecs);
  ci('create p50, warm pool off', 'ms', 'lower', interpreter.createMs.p50);
  ci('create p50, warm pool on', 'ms', 'lower', interpreter.createWarmPoolMs.p50);
  ci("first runCode('1+1') after create p50, warm pool off", 'ms', 'lower', interpreter.firstRunCodeMs.p50);
  ci("first runCode('1+1') after create p50, warm pool on", 'ms', 'lower', interpreter.firstRunCodeWarmPoolMs.p50);
  ci("runCode('1+1') p50", 'ms', 'lower', interpreter.runCodeMs.p50, interpreter.rawExecuteMs.p50);
  ci(`${interpreter.stdout.mib} MiB of Python stdout (onStdout)`, 'MB/s', 'higher', interpreter.stdout.officialMBps, interpreter.stdout.rawFetchMBps);
}
const codec = sdk?.codec ?? {};
const latest = { date: new Date().toISOString(), machine: machine(), memoryMiB: sdk?.memoryMiB, sandboxd, interpreter, rows, codec };
writeFileSync(new URL('./results/latest.json', import.meta.url), `${JSON.stringify(latest, null, 2)}\n`);
const m = latest.machine;
console.log(`\n# Results (${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB, Node ${m.node}, Linux ${m.kernel})\n`);
console.log(formatTable(rows));
const missed = rows.filter((r) => r.met === false).map((r) => r.name);
console.log(`\ntargets missed: ${missed.length ? missed.join('; ') : 'none'}`);
if (Object.keys(codec).length) console.log(`\n# Codec: binary protobuf (default) vs JSON (json-codec build)\n\n${codecTable(codec)}`);
if (process.env.BENCH_MARKDOWN) console.log(`\n${markdownTable(rows)}`);
