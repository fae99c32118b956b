// Request parity: every control-plane call with every option, and the filesystem RPCs, made once
// through `e2b` and once through `e2b-wasm` against a recording stand-in for the API and envd
// (tests/helpers/recorder.mjs). The
// recorded requests (method, path, query, headers bar the client's name, body) must be the
// same, and so must the results and the errors invalid options raise before any request.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { startRecorder } from '../helpers/recorder.mjs';
import { implementations } from './implementations.mjs';

const ID = 'sbxrecorded';
let recorder;
before(async () => {
  recorder = await startRecorder();
  Object.assign(process.env, { E2B_API_URL: recorder.url, E2B_SANDBOX_URL: recorder.url, E2B_API_KEY: 'e2b_recorded' });
});
after(async () => {
  await recorder?.close();
});

const sandboxSummary = (sbx) => ({ sandboxId: sbx.sandboxId, envdAccessToken: sbx.envdAccessToken, sandboxDomain: sbx.sandboxDomain });
const bearer = ({ iam }) => ({ headers: { Authorization: `Bearer ${iam.tokens.github}` } });
const iam = { tokens: { github: { audience: 'https://github.com', tokenType: 'oidc' }, unused: null } };

/** Each case makes calls through `sdk` and returns what they gave, in plain data. */
const cases = {
  'create() with no options': async ({ Sandbox }) => sandboxSummary(await Sandbox.create()),
  'create(template, every plain option)': async ({ Sandbox }) => sandboxSummary(await Sandbox.create('python', {
    timeoutMs: 90_500, metadata: { team: 'a' }, envs: { A: '1' }, allowInternetAccess: false, secure: true,
    requestTimeoutMs: 5000, headers: { 'X-Extra': 'yes' }, apiHeaders: { 'X-Api-Extra': 'too' },
    volumeMounts: { '/data': 'vol-a', '/cache': { name: 'vol-b' } },
  })),
  'create: lifecycle object form': async ({ Sandbox }) => sandboxSummary(await Sandbox.create({
    lifecycle: { onTimeout: { action: 'pause', keepMemory: false } },
  })),
  'create: lifecycle with autoResume': async ({ Sandbox }) => sandboxSummary(await Sandbox.create({
    lifecycle: { onTimeout: 'pause', autoResume: true },
  })),
  'create: network selectors as arrays': async ({ Sandbox, ALL_TRAFFIC }) => sandboxSummary(await Sandbox.create({
    network: { allowOut: ['1.1.1.1', 'example.com'], denyOut: [ALL_TRAFFIC], allowPublicTraffic: false, maskRequestHost: '${PORT}.example.com', httpsPorts: [443, 8443] },
  })),
  'create: network selectors as functions, rules as a Map with transform callbacks, iam': async ({ Sandbox }) => sandboxSummary(await Sandbox.create({
    network: {
      allowOut: ({ rules }) => [...rules.keys()],
      denyOut: ({ allTraffic }) => [allTraffic],
      rules: new Map([['api.github.com', [{ transform: bearer }, {}, { transform: { headers: { 'X-Static': '1' } } }]]]),
    },
    iam,
  })),
  'create: rules as a record': async ({ Sandbox }) => sandboxSummary(await Sandbox.create({
    network: { rules: { 'example.com': [{ transform: () => ({ headers: { 'X-Fixed': 'v' } }) }] } },
  })),
  'create: egressProxy cleaned (null credentials and unknown keys dropped)': async ({ Sandbox }) => sandboxSummary(await Sandbox.create({
    network: { egressProxy: { address: 'proxy.example.com:1080', username: 'u', password: null, region: 'eu' } },
  })),
  'create: iam alone': async ({ Sandbox }) => sandboxSummary(await Sandbox.create({ iam })),
  // The recorder has no envd: the gateway's start fails, and the sandbox is killed.
  'create with mcp: template mcp-gateway, the gateway start, then a kill as it fails': async ({ Sandbox }) =>
    sandboxSummary(await Sandbox.create({ mcp: { exa: { apiKey: 'k' } } })),
  'create: egressProxy {} is refused': ({ Sandbox }) => Sandbox.create({ network: { egressProxy: {} } }),
  'create: egressProxy with a numeric address is refused': ({ Sandbox }) => Sandbox.create({ network: { egressProxy: { address: 123 } } }),
  'create: an iam token without tokenType is refused': ({ Sandbox }) => Sandbox.create({ iam: { tokens: { gh: { audience: 'a' } } } }),
  'create: an iam token name with braces is refused': ({ Sandbox }) => Sandbox.create({ iam: { tokens: { 'g{h}': { audience: 'a', tokenType: 'oidc' } } } }),
  'create: a transform naming an unregistered token is refused': ({ Sandbox }) => Sandbox.create({
    network: { rules: { 'x.com': [{ transform: bearer }] } }, iam: { tokens: { other: { audience: 'a', tokenType: 'oidc' } } },
  }),
  'create: a transform with no iam is refused': ({ Sandbox }) => Sandbox.create({ network: { rules: { 'x.com': [{ transform: bearer }] } } }),
  'create: an async transform is refused': ({ Sandbox }) => Sandbox.create({ network: { rules: { 'x.com': [{ transform: async () => ({}) }] } } }),
  'create: a transform returning an array is refused': ({ Sandbox }) => Sandbox.create({ network: { rules: { 'x.com': [{ transform: () => [] }] } } }),
  'create: an invalid lifecycle action is refused': ({ Sandbox }) => Sandbox.create({ lifecycle: { onTimeout: 'sleep' } }),
  'connect: plain, timeoutMs, onResume': async ({ Sandbox }) => [
    sandboxSummary(await Sandbox.connect(ID)),
    sandboxSummary(await Sandbox.connect(ID, { timeoutMs: 5000 })),
    sandboxSummary(await Sandbox.connect(ID, { onResume: 'reboot' })),
    sandboxSummary(await Sandbox.connect(ID, { onResume: 'restore', timeoutMs: 1000 })),
  ],
  'connect: an invalid onResume is refused': ({ Sandbox }) => Sandbox.connect(ID, { onResume: 'resurrect' }),
  'list with every option': async ({ Sandbox }) => {
    const paginator = Sandbox.list({ query: { metadata: { team: 'a b', 'k&': 'v=' }, state: ['running', 'paused'] }, limit: 7, nextToken: 'next' });
    const items = await paginator.nextItems();
    return { items, hasNext: paginator.hasNext, nextToken: paginator.nextToken };
  },
  'list: a fractional, a huge and a NaN limit are sent as they print': async ({ Sandbox }) => {
    const pages = [];
    for (const limit of [2.5, 1e21, NaN]) pages.push(await Sandbox.list({ limit }).nextItems());
    return pages;
  },
  'list: startedAfter, template, order; an empty template is left out': async ({ Sandbox }) => {
    const startedAfter = new Date('2026-01-02T03:04:05.678Z');
    const pages = [];
    for (const template of ['base/v1 x', '']) {
      const paginator = Sandbox.list({ query: { startedAfter, template, metadata: { 'ü': 'ä b' } }, order: 'asc' });
      pages.push({ items: await paginator.nextItems(), hasNext: paginator.hasNext });
    }
    return pages;
  },
  'getInfo (static and instance): the proxy password is not shown': async ({ Sandbox }) => {
    const sbx = await Sandbox.connect(ID);
    const infos = [await Sandbox.getInfo(ID), await sbx.getInfo({ requestTimeoutMs: 3000 })];
    for (const info of infos) assert.deepEqual(info.network.egressProxy, { address: 'proxy.example.com:1080', username: 'proxy-user' });
    return infos;
  },
  'getMetrics with start and end': async ({ Sandbox }) => Sandbox.getMetrics(ID, {
    start: new Date('2026-01-01T00:00:00.400Z'), end: new Date('2026-01-01T00:10:00.600Z'),
  }),
  'getMetrics (instance): envd older than 0.1.5 refused before any request, newer asked': async ({ Sandbox, TemplateError }) => {
    const metrics = (envdVersion) => new Sandbox({ sandboxId: ID, envdVersion }).getMetrics()
      .catch((err) => ({ refused: err instanceof TemplateError, message: err.message }));
    return [await metrics('0.1.4'), await metrics('v0.0.9'), await metrics('0.1.10'), await metrics('0.2.0'), await metrics(undefined)];
  },
  'setTimeout, pause, kill (static)': async ({ Sandbox }) => [
    await Sandbox.setTimeout(ID, 61_500),
    await Sandbox.pause(ID),
    await Sandbox.pause(ID, { keepMemory: false }),
    await Sandbox.kill(ID),
  ],
  'instance calls: setTimeout, pause, connect({ onResume }), kill': async ({ Sandbox }) => {
    const sbx = await Sandbox.connect(ID, { apiKey: 'e2b_other' });
    return [
      await sbx.setTimeout(30_000, { requestTimeoutMs: 2000 }),
      await sbx.pause({ keepMemory: true }),
      sandboxSummary(await sbx.connect({ onResume: 'reboot', timeoutMs: 2000 })),
      await sbx.kill(),
    ];
  },
  'updateNetwork (static and instance) with functions, rules and allowInternetAccess': async ({ Sandbox }) => {
    const sbx = await Sandbox.connect(ID);
    return [
      await Sandbox.updateNetwork(ID, {
        allowOut: ({ allTraffic }) => [allTraffic],
        rules: new Map([['api.github.com', [{ transform: bearer }]]]),
        allowInternetAccess: true,
      }),
      await sbx.updateNetwork({ denyOut: ['8.8.8.8'], egressProxy: { address: 'p:1', password: 'pw', username: undefined } }),
    ];
  },
  'E2B client: its bound options reach the requests, per-call ones win': async ({ E2B }) => {
    const client = new E2B({ apiKey: 'e2b_bound', headers: { 'X-Bound': 'yes' }, requestTimeoutMs: 4000 });
    return [
      await client.Sandbox.kill(ID),
      await client.Sandbox.kill(ID, { apiKey: 'e2b_per_call' }),
      sandboxSummary(await client.Sandbox.create({ metadata: { via: 'client' } })),
    ];
  },
  'updateNetwork: egressProxy {} is refused': ({ Sandbox }) => Sandbox.updateNetwork(ID, { egressProxy: {} }),
  'files: exists, getInfo, list, makeDir, rename and remove, as a user and not': async ({ Sandbox }) => {
    const { files } = await Sandbox.connect(ID);
    return {
      exists: await files.exists('/home/user/a.txt'),
      missing: await files.exists('/home/user/missing'),
      info: await files.getInfo('/home/user/a.txt', { user: 'root', requestTimeoutMs: 3000 }),
      list: await files.list('/home/user', { depth: 2, user: 'user' }),
      listDefault: await files.list('/home/user'),
      made: await files.makeDir('/home/user/d'),
      renamed: await files.rename('/home/user/a.txt', '/home/user/b.txt', { user: 'root' }),
      removed: await files.remove('/home/user/b.txt'),
    };
  },
  'files.getInfo of a missing path, as it fails': async ({ Sandbox }) => (await Sandbox.connect(ID)).files.getInfo('/home/user/missing'),
  'files.list: depth 0 is refused': ({ Sandbox }) => new Sandbox({ sandboxId: ID, envdVersion: '0.6.13' }).files.list('/', { depth: 0 }),
};

/**
 * A recorded request as compared: control-plane requests and filesystem RPCs whole (JSON bodies
 * parsed); process RPCs by method and path, since e2b-wasm speaks Connect's protobuf codec to
 * them where e2b speaks its JSON codec (see README, "envd is spoken to in Connect's binary
 * protobuf codec").
 */
function comparable({ body, ...request }) {
  if (/^\/process\.Process\//.test(request.path)) return { method: request.method, path: request.path };
  return { ...request, body: body && JSON.parse(body) };
}

/** What a case came to: its value, or its error's class, name and message. */
async function outcome(run, sdk) {
  try {
    return { value: await run(sdk) };
  } catch (err) {
    const classes = ['InvalidArgumentError', 'SandboxError', 'SandboxNotFoundError', 'NotFoundError', 'AuthenticationError', 'TimeoutError']
      .filter((name) => sdk[name] && err instanceof sdk[name]);
    return { error: { classes, name: err.name, message: err.message } };
  }
}

const [[, official], [, ours]] = implementations;
for (const [name, run] of Object.entries(cases)) {
  test(name, async () => {
    recorder.take();
    const expected = await outcome(run, official);
    const expectedRequests = recorder.take();
    const actual = await outcome(run, ours);
    const actualRequests = recorder.take();
    assert.deepEqual(actual, expected);
    assert.deepEqual(actualRequests.map(comparable), expectedRequests.map(comparable));
    // Refused options fail with InvalidArgumentError before any request; the rest succeed,
    // but for what fails by design of the case.
    if (name.endsWith('is refused')) {
      assert.ok(expected.error?.classes.includes('InvalidArgumentError'), JSON.stringify(expected));
      assert.deepEqual(actualRequests, []);
    } else {
      assert.equal(expected.error === undefined, !name.endsWith('as it fails'), JSON.stringify(expected));
      assert.ok(actualRequests.length > 0);
    }
  });
}
