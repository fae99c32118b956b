// sandboxd speed and scale through the official `e2b` SDK: create-to-ready and exec round-trip
// latency (p50/p95), and how many sandboxes run at once, each answering a command.
//
//   node bench/sandboxd.bench.mjs [--samples 30] [--concurrent 50]
//
// Prints a JSON summary and writes it to bench/results/sandboxd.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { Sandbox } from 'e2b';
import { startSandboxd } from '../tests/helpers/sandboxd.mjs';

const { values } = parseArgs({
  options: { samples: { type: 'string', default: '30' }, concurrent: { type: 'string', default: '50' } },
});
const samples = Number(values.samples);
const concurrent = Number(values.concurrent);

const percentile = (xs, p) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};
const summary = (xs) => ({ p50: +percentile(xs, 50).toFixed(1), p95: +percentile(xs, 95).toFixed(1), n: xs.length });
const timed = async (fn) => {
  const start = performance.now();
  const value = await fn();
  return [performance.now() - start, value];
};

const sd = await startSandboxd();
Object.assign(process.env, sd.env);
try {
  // Warm-up: the first create pays for page-cache misses of the template.
  await (await Sandbox.create()).kill();

  const createMs = [];
  for (let i = 0; i < samples; i++) {
    const [ms, sbx] = await timed(() => Sandbox.create());
    createMs.push(ms);
    await sbx.kill();
  }

  const sbx = await Sandbox.create();
  const execMs = [];
  await sbx.commands.run('true');
  for (let i = 0; i < samples; i++) execMs.push((await timed(() => sbx.commands.run('true')))[0]);
  await sbx.kill();

  const fleet = [];
  let reached = 0;
  let failure = null;
  try {
    for (let i = 0; i < concurrent; i++) {
      fleet.push(await Sandbox.create({ timeoutMs: 600_000 }));
      reached = fleet.length;
    }
    // Every sandbox must still answer while all of them run.
    const answers = await Promise.all(fleet.map((s) => s.commands.run('echo $E2B_SANDBOX_ID')));
    answers.forEach((a, i) => {
      if (a.stdout.trim() !== fleet[i].sandboxId) throw new Error(`sandbox ${i} answered ${a.stdout}`);
    });
  } catch (err) {
    failure = String(err?.message ?? err);
  }
  await Promise.all(fleet.map((s) => s.kill()));

  const result = {
    createToReadyMs: summary(createMs),
    execRoundTripMs: summary(execMs),
    concurrentSandboxes: { requested: concurrent, running: reached, allAnswered: failure === null, failure },
  };
  console.log(JSON.stringify(result, null, 2));
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('./results/sandboxd.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await sd.stop();
}
