// The `Sandbox` subclass of tests/sdk/server-sandbox.mjs (code-interpreter style: public
// constructor, `connectionConfig`, access tokens) in Chromium, on pkg/browser.js, against a real
// sandboxd on another port: the page creates it, starts a server inside the sandbox, calls it
// the way the subclass does and kills the sandbox.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Sandbox } from 'e2b';

import { launchChromium, runResultPage } from '../helpers/chromium.mjs';
import { startSandboxd } from '../helpers/sandboxd.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const PAGE = `<!doctype html>
<script type="importmap">{ "imports": { "e2b-wasm": "/pkg/browser.js" } }</script>
<script type="module">
  import { Sandbox } from 'e2b-wasm';
  import { ECHO_SERVER, SERVER_PORT, makeServerSandbox, startServerIn } from '/tests/server-sandbox.mjs';
  const config = await (await fetch('/config.json')).json();
  try {
    const ServerSandbox = makeServerSandbox(Sandbox);
    const sbx = await ServerSandbox.create({ ...config, timeoutMs: 120000 });
    await startServerIn(sbx, ECHO_SERVER, SERVER_PORT);
    const seen = await sbx.echo({ code: 'x = 1' });
    window.result = {
      sandboxId: sbx.sandboxId, subclass: sbx instanceof ServerSandbox, constructedWith: sbx.constructedWith,
      envdAccessToken: sbx.envdAccessToken, serverUrl: sbx.serverUrl, requestTimeoutMs: sbx.connectionConfig.requestTimeoutMs, seen,
    };
    await sbx.kill();
  } catch (err) {
    window.result = { error: \`\${err.name}: \${err.message}\` };
  }
</script>`;

let sd;
let browser;
before(async () => {
  sd = await startSandboxd();
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await sd?.stop();
});

test('a subclass written against e2b runs in Chromium on e2b-wasm', async () => {
  const { result, pageErrors } = await runResultPage(browser, {
    html: PAGE,
    mounts: [['/pkg/', join(root, 'pkg')], ['/tests/', join(root, 'tests/sdk')]],
    config: { apiKey: sd.apiKey, apiUrl: sd.apiUrl, sandboxUrl: sd.sandboxUrl },
  });

  assert.deepEqual(pageErrors, []);
  assert.equal(result.error, undefined);
  assert.equal(result.subclass, true);
  for (const key of ['sandboxId', 'envdVersion', 'envdAccessToken', 'apiKey', 'apiUrl', 'sandboxUrl']) {
    assert.ok(result.constructedWith.includes(key), `constructor options lack ${key}`);
  }
  assert.equal(result.serverUrl, sd.sandboxUrl);
  assert.equal(result.requestTimeoutMs, 60_000);
  assert.equal(result.seen.method, 'POST');
  assert.equal(result.seen.path, '/execute');
  assert.deepEqual(JSON.parse(result.seen.body), { code: 'x = 1' });
  // The server inside the sandbox got the access token the subclass read from `this`.
  assert.equal(result.seen.headers['x-access-token'], result.envdAccessToken);
  // The page killed its sandbox (checked from Node, with the official SDK).
  const running = await Sandbox.list({ apiKey: sd.apiKey, apiUrl: sd.apiUrl, query: { state: ['running'] } }).nextItems();
  assert.ok(!running.some((s) => s.sandboxId === result.sandboxId));
});
