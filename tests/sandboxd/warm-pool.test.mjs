// Warm pools (`serve --warm-pool <template>=<n>`) through the official SDK: a create of a pooled
// template returns a sandbox whose start command already ran, with the request's envs, token
// and metadata; the pool refills, follows rebuilds and goes with its template. From the
// attacker's side: pooled sandboxes are unreachable and unlisted before a create claims them, and
// nothing of one create (envs, token) or of the pool reaches another create's sandbox. Host
// side: pooled sandboxes' layers and cgroups are gone once drained.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { Sandbox, Template, waitForFile } from 'e2b';
import { startSandboxd, startSandboxdForSdk } from '../helpers/sandboxd.mjs';
import { uniqueTag, viaHost, waitUntil } from './util.mjs';

const tag = uniqueTag();
const NAME = `pool-${tag}`;
const POOL_SIZE = 2;
/** Pooled starts take about 1.5 s each (1 s of it the start command) on a quiet machine. */
const REFILL_LIMIT_MS = 90_000;

let sd;
let templateId;
before(async () => {
  sd = await startSandboxdForSdk({ args: ['--warm-pool', `${NAME}=${POOL_SIZE}`] });
  ({ templateId } = await buildTemplate('build-1'));
});
after(async () => {
  await sd?.stop();
});

/** The template: a 1 s start command that records when it started and what env it saw. */
function buildTemplate(marker) {
  const template = Template()
    .fromBaseImage()
    .setEnvs({ FROM_TEMPLATE: 'template-value' })
    .runCmd(`echo ${marker} > /home/user/build.txt`)
    .setStartCmd(
      'date +%s%3N > /tmp/started-at; env > /tmp/start-env; sleep 1; touch /tmp/ready; exec sleep infinity',
      waitForFile('/tmp/ready'),
    );
  return Template.build(template, NAME);
}

async function ok(sandbox, cmd, opts = {}) {
  return (await sandbox.commands.run(cmd, { timeoutMs: 30_000, ...opts })).stdout.trim();
}

const layersDir = () => join(sd.dataDir, 'runtime/layers');
/** Sandbox IDs with a writable layer on the host (running, pooled or filesystem-paused). */
const hostSandboxIds = () => readdirSync(layersDir()).filter((n) => /^i[a-z0-9]{20}$/.test(n));
/** Host cgroup directories of sandbox `id` of sandboxd `server`, on whichever hierarchy this host has. */
function cgroupDirsOf(id, server = sd) {
  const instance = readFileSync(join(server.dataDir, 'runtime/instance'), 'utf8').trim();
  const roots = ['/sys/fs/cgroup', ...readdirSync('/sys/fs/cgroup').map((d) => join('/sys/fs/cgroup', d))];
  return roots.map((root) => join(root, `sandboxd-${instance}`, id)).filter(existsSync);
}
/** IDs of sandboxes the host runs that the API does not list: the pooled ones (and one being started for the pool). */
async function pooledIds() {
  const listed = new Set((await Sandbox.list().nextItems()).map((s) => s.sandboxId));
  return hostSandboxIds().filter((id) => !listed.has(id));
}
/** Pooled sandboxes sandboxd reported ready (its log line) that still run on the host. */
async function readyPooledIds() {
  const ready = new Set([...sd.logs().matchAll(new RegExp(`warm pool of ${NAME}: (i[a-z0-9]{20}) is ready`, 'g'))].map((m) => m[1]));
  return (await pooledIds()).filter((id) => ready.has(id));
}
async function waitForFullPool() {
  let ids = [];
  await waitUntil(async () => (ids = await readyPooledIds()).length === POOL_SIZE && (await pooledIds()).length === POOL_SIZE, REFILL_LIMIT_MS, `the pool did not refill to ${POOL_SIZE}: ${ids}`);
  return ids;
}

/** Creates a sandbox and tells whether it came from the pool: its start command started before the create was called. */
async function createTimed(opts = {}) {
  const calledAt = Date.now();
  const sandbox = await Sandbox.create(NAME, opts);
  const ms = Date.now() - calledAt;
  const startedAt = Number(await ok(sandbox, 'cat /tmp/started-at'));
  return { sandbox, ms, pooled: startedAt < calledAt };
}

const envdHeaders = (id, extra = {}) => ({ 'E2b-Sandbox-Id': id, 'E2b-Sandbox-Port': '49983', ...extra });

describe('warm pool', () => {
  test('pooled sandboxes run, but are neither listed nor reachable before a create claims them', async () => {
    const ids = await waitForFullPool();
    for (const id of ids) {
      assert.ok(cgroupDirsOf(id).length > 0, `pooled ${id} has no cgroup on the host`);
      await assert.rejects(Sandbox.connect(id), /not found/i);
      await assert.rejects(Sandbox.getInfo(id), /not found/i);
      const health = await fetch(`${sd.sandboxUrl}/health`, { headers: envdHeaders(id) });
      assert.equal(health.status, 502);
      assert.equal((await health.json()).message, 'The sandbox was not found');
      const viaName = await viaHost(sd, `49983-${id}.${sd.domain}`, '/envs');
      assert.equal(viaName.status, 502);
      const kill = await fetch(new URL(`/sandboxes/${id}`, sd.apiUrl), { method: 'DELETE', headers: { 'X-API-KEY': sd.apiKey } });
      assert.equal(kill.status, 404);
    }
    assert.deepEqual((await pooledIds()).sort(), ids.sort(), 'a pooled sandbox went away on its own');
  });

  test('a create takes a ready sandbox and gives it the request: envs, token, metadata, timeout', async (t) => {
    const ids = await waitForFullPool();
    const { sandbox, ms, pooled } = await createTimed({
      envs: { CREATE_SECRET: `secret-${tag}` },
      secure: true,
      metadata: { purpose: tag },
      timeoutMs: 120_000,
    });
    t.diagnostic(`create from the warm pool: ${ms} ms`);
    try {
      assert.ok(ids.includes(sandbox.sandboxId), `${sandbox.sandboxId} was not one of the pooled ${ids}`);
      assert.ok(pooled, 'the start command started after the create');
      assert.ok(ms < 1000, `a pooled create took ${ms} ms, as long as the start command`);
      assert.equal(await ok(sandbox, 'pgrep -u user -fx "sleep infinity" | wc -l'), '1');
      assert.equal(await ok(sandbox, 'cat /home/user/build.txt'), 'build-1');
      // The request's envs and the template's, for every command; the id is the sandbox's own.
      assert.equal(await ok(sandbox, 'echo "$CREATE_SECRET $FROM_TEMPLATE $E2B_SANDBOX_ID"'), `secret-${tag} template-value ${sandbox.sandboxId}`);
      assert.equal(await ok(sandbox, 'hostname'), sandbox.sandboxId);
      // Like E2B, where the start command ran at build time: it saw the template's envs only.
      const startEnv = await ok(sandbox, 'cat /tmp/start-env');
      assert.match(startEnv, /^FROM_TEMPLATE=template-value$/m);
      assert.doesNotMatch(startEnv, /CREATE_SECRET/);
      // The token is enforced: without it envd refuses, with it (the SDK's) it answers.
      const without = await fetch(`${sd.sandboxUrl}/envs`, { headers: envdHeaders(sandbox.sandboxId) });
      assert.equal(without.status, 401);
      const withToken = await fetch(`${sd.sandboxUrl}/envs`, { headers: envdHeaders(sandbox.sandboxId, { 'X-Access-Token': sandbox.envdAccessToken }) });
      assert.equal(withToken.status, 200);
      assert.equal((await withToken.json()).CREATE_SECRET, `secret-${tag}`);
      const info = await sandbox.getInfo();
      assert.deepEqual(info.metadata, { purpose: tag });
      const lifetime = info.endAt.getTime() - info.startedAt.getTime();
      assert.ok(Math.abs(lifetime - 120_000) < 2000, `timeout ${lifetime} ms`);
      assert.ok((await Sandbox.list({ query: { metadata: { purpose: tag } } }).nextItems()).some((s) => s.sandboxId === sandbox.sandboxId));
    } finally {
      await sandbox.kill();
    }
  });

  test('the pool refills: a second and third create are pooled too, a create with network rules starts cold', async (t) => {
    await waitForFullPool();
    const first = await createTimed();
    const second = await createTimed();
    const refilled = await waitForFullPool();
    const third = await createTimed();
    const cold = await createTimed({ allowInternetAccess: false });
    t.diagnostic(`pooled creates: ${first.ms}, ${second.ms}, ${third.ms} ms; cold (no internet): ${cold.ms} ms`);
    try {
      assert.deepEqual([first.pooled, second.pooled, third.pooled], [true, true, true]);
      assert.ok(refilled.includes(third.sandbox.sandboxId));
      assert.equal(cold.pooled, false);
      assert.ok(!refilled.includes(cold.sandbox.sandboxId));
      assert.ok(cold.ms >= 1000, `the cold create took ${cold.ms} ms`);
      // It really has no link: the pooled one (with internet) would have eth0.
      assert.equal(await ok(cold.sandbox, 'ls /sys/class/net | grep -c eth0 || true'), '0');
    } finally {
      await Promise.all([first, second, third, cold].map((c) => c.sandbox.kill()));
    }
  });

  test('nothing of one create or of the pool reaches another create: envs, tokens', async () => {
    await waitForFullPool();
    const a = await createTimed({ envs: { ONLY_A: `a-${tag}` }, secure: true, network: { allowPublicTraffic: false } });
    const b = await createTimed();
    try {
      assert.ok(a.pooled && b.pooled);
      assert.equal(await ok(b.sandbox, 'env | grep -c ONLY_A || true'), '0');
      assert.doesNotMatch(await ok(b.sandbox, 'cat /tmp/start-env'), /ONLY_A/);
      // Each claim has the token of its own ID: A's does not open B, B's does.
      assert.notEqual(a.sandbox.envdAccessToken, b.sandbox.envdAccessToken);
      const withA = await fetch(`${sd.sandboxUrl}/envs`, { headers: envdHeaders(b.sandbox.sandboxId, { 'X-Access-Token': a.sandbox.envdAccessToken }) });
      assert.equal(withA.status, 401);
      const withB = await fetch(`${sd.sandboxUrl}/envs`, { headers: envdHeaders(b.sandbox.sandboxId, { 'X-Access-Token': b.sandbox.envdAccessToken }) });
      assert.equal(withB.status, 200);
      const bEnvs = await withB.json();
      assert.equal(bEnvs.ONLY_A, undefined);
      assert.equal(bEnvs.FROM_TEMPLATE, 'template-value');
      // From inside A (root), a new /init without A's token is refused: the claim's token holds.
      const reinit = await a.sandbox.commands.run(
        `curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d '{"envVars":{}}' http://127.0.0.1:49983/init`,
        { user: 'root' },
      );
      assert.equal(reinit.stdout.trim(), '401');
      assert.equal(await ok(a.sandbox, 'echo "$ONLY_A"'), `a-${tag}`);
      // A's ports (a proxy-side setting, so pooled too) answer only with A's own traffic token.
      await a.sandbox.commands.run('python3 -m http.server 8000 --bind 127.0.0.1', { background: true, timeoutMs: 0 });
      const withTraffic = (token) => viaHost(sd, a.sandbox.getHost(8000), '/', { headers: { 'e2b-traffic-access-token': token } });
      await waitUntil(async () => (await withTraffic(a.sandbox.trafficAccessToken)).status === 200, 30_000, 'A\'s server not up');
      assert.equal((await viaHost(sd, a.sandbox.getHost(8000))).status, 403);
      assert.equal((await withTraffic(b.sandbox.envdAccessToken)).status, 403);
    } finally {
      await Promise.all([a.sandbox.kill(), b.sandbox.kill()]);
    }
  });

  test('an insecure create (v1 API, secure: false) gets a pooled sandbox without the pool\'s token', async () => {
    const ids = await waitForFullPool();
    const res = await fetch(new URL('/sandboxes', sd.apiUrl), {
      method: 'POST',
      headers: { 'X-API-KEY': sd.apiKey, 'Content-Type': 'application/json' },
      body: JSON.stringify({ templateID: NAME, secure: false, envVars: { OPEN: 'yes' } }),
    });
    assert.equal(res.status, 201);
    const created = await res.json();
    try {
      assert.ok(ids.includes(created.sandboxID));
      assert.equal(created.envdAccessToken ?? null, null);
      const open = await fetch(`${sd.sandboxUrl}/envs`, { headers: envdHeaders(created.sandboxID) });
      assert.equal(open.status, 200);
      const envs = await open.json();
      assert.equal(envs.OPEN, 'yes');
      assert.equal(envs.FROM_TEMPLATE, 'template-value');
    } finally {
      await Sandbox.kill(created.sandboxID);
    }
  });

  test('a rebuild drains the old build from the pool; a delete stops every pooled sandbox', async () => {
    const old = await waitForFullPool();
    await buildTemplate('build-2');
    // Whatever the pool holds right now, a create never gets the old build.
    const right = await Sandbox.create(NAME);
    try {
      assert.equal(await ok(right, 'cat /home/user/build.txt'), 'build-2');
    } finally {
      await right.kill();
    }
    const fresh = await waitForFullPool();
    assert.deepEqual(fresh.filter((id) => old.includes(id)), []);
    for (const id of old) {
      assert.equal(existsSync(join(layersDir(), id)), false, `old pooled ${id} kept its layer`);
      assert.deepEqual(cgroupDirsOf(id), []);
    }
    const pooled = await createTimed();
    try {
      assert.ok(pooled.pooled);
      assert.equal(await ok(pooled.sandbox, 'cat /home/user/build.txt'), 'build-2');
    } finally {
      await pooled.sandbox.kill();
    }

    const doomed = await waitForFullPool();
    // The official CLI's `e2b template delete` sends this; the JS SDK has no call for it.
    const deleted = await fetch(new URL(`/templates/${templateId}`, sd.apiUrl), { method: 'DELETE', headers: { 'X-API-KEY': sd.apiKey } });
    assert.equal(deleted.status, 204);
    await waitUntil(() => hostSandboxIds().every((id) => !doomed.includes(id)), 30_000, 'the pooled layers stayed after the delete');
    for (const id of doomed) assert.deepEqual(cgroupDirsOf(id), []);
    assert.deepEqual(await pooledIds(), []);
    await assert.rejects(Sandbox.create(NAME), /not found/);
  });
});

describe('warm pool at shutdown', () => {
  test('SANDBOXD_WARM_POOL sets pools too; a stop ends pooled sandboxes and one still starting, leaving nothing on the host', async () => {
    const stuck = `stuck-${tag}`;
    // The stuck template does not exist yet: its pool waits for it instead of failing the server.
    const other = await startSandboxd({ env: { SANDBOXD_WARM_POOL: `base=2,${stuck}=1` } });
    const ids = () => readdirSync(join(other.dataDir, 'runtime/layers')).filter((n) => /^i[a-z0-9]{20}$/.test(n));
    const readyIds = () => [...other.logs().matchAll(/warm pool of \S+: (i[a-z0-9]{20}) is ready/g)].map((m) => m[1]);
    try {
      await waitUntil(() => readyIds().length === 2, REFILL_LIMIT_MS, 'the base pool did not fill');
      const connection = { apiKey: other.apiKey, apiUrl: other.apiUrl };
      // A ready command that never passes: its pooled sandbox stays in its start.
      await Template.build(Template().fromBaseImage().setStartCmd('sleep 600', waitForFile('/tmp/never')), stuck, connection);
      const starting = () => ids().filter((id) => !readyIds().includes(id));
      // Its layer, then its cgroup: the start is under way (and its ready command never passes).
      await waitUntil(() => starting().length === 1 && cgroupDirsOf(starting()[0], other).length > 0, REFILL_LIMIT_MS, 'no pooled start of the stuck template');
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(starting().length, 1);
      assert.equal(readyIds().length, 2);
    } finally {
      // stop() fails on anything left (processes, mounts, cgroups, links, netns, iptables) and
      // on a stop that takes longer than its limit (a start waiting for its ready command).
      const stopping = Date.now();
      await other.stop();
      assert.ok(Date.now() - stopping < 30_000, `the stop took ${Date.now() - stopping} ms`);
    }
  });
});
