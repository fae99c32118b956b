// sandboxd speed and scale through the official `e2b` SDK: create-to-ready and exec round-trip
// latency (p50/p95), how many sandboxes run at once, each answering a command, and templates: a
// small template's build (first and fully cached) and create-to-ready of a template whose start
// command takes 1 s before its ready command passes, without and with a warm pool of it (sandboxd
// restarted on the same data dir with `--warm-pool`); and the machine's base build time, as the
// base build recorded it.
//
//   node bench/sandboxd.bench.mjs [--samples 30] [--concurrent 50]
//
// Prints a JSON summary and writes it to bench/results/sandboxd.json.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { Sandbox, Template, waitForFile } from 'e2b';
import { sandboxdBinary, startSandboxdForSdk } from '../tests/helpers/sandboxd.mjs';
import { summary, timed } from './lib.mjs';

const { values } = parseArgs({
  options: { samples: { type: 'string', default: '30' }, concurrent: { type: 'string', default: '50' } },
});
const samples = Number(values.samples);
const concurrent = Number(values.concurrent);

/** Seconds the machine's base build took, as `sandboxd base build` reports it (it builds nothing when one exists). */
const baseBuildSecs = () => {
  const said = execFileSync(sandboxdBinary(), ['base', 'build'], { encoding: 'utf8' });
  const secs = /the build took ([\d.]+) s/.exec(said)?.[1];
  return secs === undefined ? null : Number(secs);
};

let sd = await startSandboxdForSdk();
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
  // The same template from a warm pool of one: each create finds a ready sandbox (the bench
  // waits for the refill, which sandboxd logs), as a create arriving slower than refills would.
  const startName = `${name}-start`;
  await sd.stop({ keepDataDir: true });
  sd = await startSandboxdForSdk({ dataDir: sd.dataDir, args: ['--warm-pool', `${startName}=1`] });
  const poolReady = (n) => (sd.logs().match(new RegExp(`warm pool of ${startName}: \\S+ is ready`, 'g')) ?? []).length >= n;
  const pooledCreateMs = [];
  for (let i = 0; i < Math.min(samples, 10); i++) {
    const deadline = Date.now() + 60_000;
    while (!poolReady(i + 1)) {
      if (Date.now() > deadline) throw new Error(`the warm pool of ${startName} did not refill`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const [ms, s] = await timed(() => Sandbox.create(startName));
    pooledCreateMs.push(ms);
    await s.kill();
  }

  const result = {
    createToReadyMs: summary(createMs),
    templates: {
      smallBuildMs: { first: +firstBuildMs.toFixed(0), cached: +cachedBuildMs.toFixed(0) },
      createWith1sStartCmdMs: summary(startCreateMs),
      createWith1sStartCmdWarmPoolMs: summary(pooledCreateMs),
      baseBuildSecs: baseBuildSecs(),
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
