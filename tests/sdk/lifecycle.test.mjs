// Control plane through both SDKs against a real sandboxd: create (both overloads), info,
// list with filters and pagination, timeouts, kill, pause/connect, URLs, and the errors.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { startSandboxdForSdk } from '../helpers/sandboxd.mjs';
import { implementations, listAll, uniqueTag } from './implementations.mjs';

let sd;
before(async () => {
  sd = await startSandboxdForSdk();
});
after(async () => {
  await sd?.stop();
});

for (const [name, sdk] of implementations) {
  const { Sandbox } = sdk;

  describe(`${name}: sandbox lifecycle`, () => {
    test('create(opts) keeps metadata, envs and timeout; getInfo reports them as Dates and records', async () => {
      const tag = uniqueTag();
      const sbx = await Sandbox.create({ metadata: { suite: tag }, envs: { GREETING: 'hi there' }, timeoutMs: 120_000 });
      try {
        assert.match(sbx.sandboxId, /^[a-z0-9]+$/);
        assert.equal(typeof sbx.sandboxDomain, 'string');
        const info = await sbx.getInfo();
        assert.equal(info.sandboxId, sbx.sandboxId);
        assert.equal(info.templateId.length > 0, true);
        assert.deepEqual(info.metadata, { suite: tag });
        assert.equal(info.state, 'running');
        assert.ok(info.startedAt instanceof Date && info.endAt instanceof Date);
        const lifetime = info.endAt.getTime() - info.startedAt.getTime();
        assert.ok(lifetime > 110_000 && lifetime <= 121_000, `lifetime ${lifetime}`);
        assert.equal(typeof info.envdVersion, 'string');
        assert.ok(Array.isArray(info.volumeMounts));
        const statics = await Sandbox.getInfo(sbx.sandboxId);
        assert.equal(statics.sandboxId, sbx.sandboxId);
        assert.equal((await Sandbox.getFullInfo(sbx.sandboxId)).sandboxId, sbx.sandboxId);
      } finally {
        assert.equal(await sbx.kill(), true);
      }
    });

    test('create(template, opts) and the default template name the same template', async () => {
      const a = await Sandbox.create('base', { timeoutMs: 60_000 });
      const b = await Sandbox.create();
      try {
        const [ia, ib] = await Promise.all([a.getInfo(), b.getInfo()]);
        assert.equal(ia.templateId, ib.templateId);
        assert.equal(ia.name, 'base');
      } finally {
        await Promise.all([a.kill(), b.kill()]);
      }
    });

    test('a subclass is what the static factories return', async () => {
      class MySandbox extends Sandbox {}
      const sbx = await MySandbox.create();
      try {
        assert.ok(sbx instanceof MySandbox);
        const again = await MySandbox.connect(sbx.sandboxId);
        assert.ok(again instanceof MySandbox);
        assert.equal(again.sandboxId, sbx.sandboxId);
        assert.equal(await sbx.connect(), sbx, 'instance connect resolves to the same object');
      } finally {
        await sbx.kill();
      }
    });

    test('list filters by metadata and state, pages with limit and nextToken', async () => {
      const tag = uniqueTag();
      const made = await Promise.all([0, 1, 2].map((i) => Sandbox.create({ metadata: { suite: tag, i: String(i), 'odd key': 'a b&c' } })));
      try {
        const paginator = Sandbox.list({ query: { metadata: { suite: tag } }, limit: 2 });
        assert.equal(paginator.hasNext, true);
        assert.equal(paginator.nextToken, undefined);
        const first = await paginator.nextItems();
        assert.equal(first.length, 2);
        assert.equal(paginator.hasNext, true);
        assert.equal(typeof paginator.nextToken, 'string');
        const resumed = Sandbox.list({ query: { metadata: { suite: tag } }, limit: 2, nextToken: paginator.nextToken });
        assert.equal(resumed.nextToken, paginator.nextToken);
        const second = await paginator.nextItems();
        assert.equal(second.length, 1);
        assert.equal(paginator.hasNext, false);
        await assert.rejects(paginator.nextItems(), (err) => err.constructor === Error && err.message === 'No more items to fetch');
        const ids = [...first, ...second].map((s) => s.sandboxId).sort();
        assert.deepEqual(ids, made.map((s) => s.sandboxId).sort());
        for (const item of first) {
          assert.ok(item.startedAt instanceof Date);
          assert.equal(item.metadata.suite, tag);
          assert.equal(item.state, 'running');
        }
        const special = await listAll(sdk, { query: { metadata: { 'odd key': 'a b&c', i: '1' } } });
        assert.deepEqual(special.map((s) => s.sandboxId), [made[1].sandboxId]);
        assert.equal((await listAll(sdk, { query: { metadata: { suite: tag }, state: ['paused'] } })).length, 0);
        assert.deepEqual((await resumed.nextItems()).map((s) => s.sandboxId), second.map((s) => s.sandboxId));
      } finally {
        await Promise.all(made.map((s) => s.kill()));
      }
    });

    test('mcp: sandboxd refuses MCP gateways, whichever template', async () => {
      for (const create of [() => Sandbox.create('base', { mcp: { exa: { apiKey: 'k' } } }), () => Sandbox.create({ mcp: { exa: { apiKey: 'k' } } })]) {
        await assert.rejects(create(), (err) => err instanceof sdk.SandboxError && err.message === '400: MCP gateways are not supported by sandboxd');
      }
    });

    test('setTimeout moves the end of life; kill is true once, then false', async () => {
      const sbx = await Sandbox.create({ timeoutMs: 60_000 });
      await sbx.setTimeout(200_000);
      const info = await sbx.getInfo();
      const left = info.endAt.getTime() - Date.now();
      assert.ok(left > 150_000 && left <= 201_000, `left ${left}`);
      await Sandbox.setTimeout(sbx.sandboxId, 30_000);
      assert.ok((await sbx.getInfo()).endAt.getTime() - Date.now() <= 31_000);
      assert.equal(await sbx.isRunning(), true);
      assert.equal(await Sandbox.kill(sbx.sandboxId), true);
      assert.equal(await Sandbox.kill(sbx.sandboxId), false);
      assert.equal(await sbx.kill(), false);
      assert.equal(await sbx.isRunning(), false);
    });

    test('pause, then connect resumes; pausing twice says false', async () => {
      const sbx = await Sandbox.create();
      try {
        assert.equal(await sbx.pause(), true);
        assert.equal((await Sandbox.getInfo(sbx.sandboxId)).state, 'paused');
        assert.equal(await Sandbox.betaPause(sbx.sandboxId), false);
        const resumed = await Sandbox.connect(sbx.sandboxId);
        assert.equal((await resumed.getInfo()).state, 'running');
      } finally {
        await sbx.kill();
      }
    });

    test('metrics are an array of samples with Dates', async () => {
      const sbx = await Sandbox.create();
      try {
        const metrics = await sbx.getMetrics();
        assert.ok(Array.isArray(metrics));
        for (const m of metrics) {
          assert.ok(m.timestamp instanceof Date);
          assert.equal(typeof m.cpuUsedPct, 'number');
          assert.equal(typeof m.memTotal, 'number');
        }
        assert.ok(Array.isArray(await Sandbox.getMetrics(sbx.sandboxId, { start: new Date(Date.now() - 60_000), end: new Date() })));
      } finally {
        await sbx.kill();
      }
    });

    test('getHost and presigned URLs', async () => {
      const sbx = await Sandbox.create();
      try {
        assert.equal(sbx.getHost(8080), `8080-${sbx.sandboxId}.${sbx.sandboxDomain}`);
        const down = new URL(await sbx.downloadUrl('/home/user/a b.txt', { user: 'user' }));
        assert.equal(down.pathname, '/files');
        assert.equal(down.searchParams.get('path'), '/home/user/a b.txt');
        assert.equal(down.searchParams.get('username'), 'user');
        assert.match(down.searchParams.get('signature'), /^v1_[A-Za-z0-9+/]{43}$/);
        const up = new URL(await sbx.uploadUrl(undefined, { useSignatureExpiration: 60 }));
        const exp = Number(up.searchParams.get('signature_expiration'));
        assert.ok(Math.abs(exp - (Math.floor(Date.now() / 1000) + 60)) <= 2);
        assert.equal(up.searchParams.get('path'), null);
        const { signature } = await sdk.getSignature({ path: '/home/user/a.txt', operation: 'read', user: undefined, envdAccessToken: 'tok123' });
        assert.equal(signature, 'v1_byj2OB/vujgbES/1KAKCaR27E+9eOrB6PzeTnIL8L6M');
      } finally {
        await sbx.kill();
      }
    });
  });

  describe(`${name}: control-plane errors`, () => {
    test('a wrong API key is an AuthenticationError', async () => {
      const apiKey = `e2b_${'0'.repeat(40)}`;
      await assert.rejects(Sandbox.create({ apiKey }), (err) => {
        assert.ok(err instanceof sdk.AuthenticationError);
        assert.equal(err.name, 'AuthenticationError');
        assert.match(err.message, /^Unauthorized, please check your credentials\./);
        return true;
      });
      await assert.rejects(Sandbox.list({ apiKey }).nextItems(), sdk.AuthenticationError);
    });

    test('no API key at all is refused before any request', async () => {
      const saved = process.env.E2B_API_KEY;
      delete process.env.E2B_API_KEY;
      try {
        await assert.rejects(Sandbox.create(), (err) => err instanceof sdk.AuthenticationError && /API key is required/.test(err.message));
      } finally {
        process.env.E2B_API_KEY = saved;
      }
    });

    test('unknown sandboxes: SandboxNotFoundError, and kill says false', async () => {
      const id = 'inosuchsandbox0000000';
      for (const call of [() => Sandbox.getInfo(id), () => Sandbox.setTimeout(id, 10_000), () => Sandbox.connect(id), () => Sandbox.pause(id), () => Sandbox.getMetrics(id)]) {
        await assert.rejects(call(), (err) => {
          assert.ok(err instanceof sdk.SandboxNotFoundError);
          assert.ok(err instanceof sdk.NotFoundError && err instanceof sdk.SandboxError);
          assert.equal(err.name, 'SandboxNotFoundError');
          return true;
        });
      }
      assert.equal(await Sandbox.kill(id), false);
    });

    test('an unknown template is a SandboxError carrying the status', async () => {
      await assert.rejects(Sandbox.create('no-such-template'), (err) => {
        assert.ok(err instanceof sdk.SandboxError);
        assert.match(err.message, /^404: /);
        return true;
      });
    });

    test('an aborted signal rejects with the abort reason', async () => {
      const controller = new AbortController();
      controller.abort();
      await assert.rejects(Sandbox.list().nextItems({ signal: controller.signal }), (err) => err.name === 'AbortError');
      await assert.rejects(Sandbox.getInfo('inosuchsandbox0000000', { signal: controller.signal }), (err) => err.name === 'AbortError');
    });

    test('invalid lifecycle combinations are InvalidArgumentErrors before any request', async () => {
      await assert.rejects(Sandbox.create({ lifecycle: { onTimeout: 'kill', autoResume: true } }), sdk.InvalidArgumentError);
      await assert.rejects(Sandbox.create({ lifecycle: { onTimeout: { action: 'kill', keepMemory: true } } }), sdk.InvalidArgumentError);
    });

    test('debug mode needs no API: a debug sandbox id, kill true, no metrics', async () => {
      const sbx = await Sandbox.create({ debug: true });
      assert.equal(sbx.sandboxId, 'debug_sandbox_id');
      assert.equal(sbx.getHost(3000), 'localhost:3000');
      assert.deepEqual(await sbx.getMetrics(), []);
      assert.equal(await sbx.kill(), true);
    });
  });
}
