// sandboxd speed and scale through the official `e2b` SDK: create-to-ready and exec round-trip
// latency (p50/p95), how many sandboxes run at once, each answering a command, and templates: a
// small template's build (first and fully cached) and create-to-ready of a template whose start
// command takes 1 s before its ready command passes.
//
//   node bench/sandboxd.bench.mjs [--samples 30] [--concurrent 50]
//
// Prints a JSON summary and writes it to bench/results/sandboxd.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { Sandbox, Template, waitForFile } from 'e2b';
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

  // Templates. A fresh name per run, so the first build builds every step; the second is cached.
  const name = `bench-${process.pid}-${Date.now()}`;
  const small = Template()
    .fromBaseImage()
    .runCmd('echo built > /home/user/built.txt')
    .setEnvs({ BENCH: '1' })
    .runCmd('mkdir -p /home/user/app && date > /home/user/app/stamp');
  const [firstBuildMs] = await timed(() => Template.build(small, name));
  const [cachedBuildMs] = await timed(() => Template.build(small, name));
  const slow = Template()
    .fromBaseImage()
    .setStartCmd('sleep 1 && touch /tmp/ready && exec sleep infinity', waitForFile('/tmp/ready'));
  await Template.build(slow, `${name}-start`);
  const startCreateMs = [];
  for (let i = 0; i < Math.min(samples, 10); i++) {
    const [ms, s] = await timed(() => Sandbox.create(`${name}-start`));
    startCreateMs.push(ms);
    await s.kill();
  }

  const result = {
    createToReadyMs: summary(createMs),
    templates: {
      smallBuildMs: { first: +firstBuildMs.toFixed(0), cached: +cachedBuildMs.toFixed(0) },
      createWith1sStartCmdMs: summary(startCreateMs),
    },
    execRoundTripMs: summary(execMs),
    concurrentSandboxes: { requested: concurrent, running: reached, allAnswered: failure === null, failure },
  };
  console.log(JSON.stringify(result, null, 2));
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('./results/sandboxd.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await sd.stop();
}
