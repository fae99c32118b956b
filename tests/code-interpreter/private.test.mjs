// A private code-interpreter sandbox (`network: { allowPublicTraffic: false }`), as at E2B:
// every route of port 49999, the context routes too (which take no access token of their own,
// like E2B's server), needs the sandbox's traffic token, which the official SDK sends and ours
// too (the same body for both). From the attacker's side, without it nothing is created,
// restarted, removed or run: checked in the server's own context list and inside the sandbox.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';

import { implementations, sandboxPerImplementation } from './implementations.mjs';
import { rawRequest } from './util.mjs';

/** One private sandbox per implementation. */
const sandboxes = sandboxPerImplementation({ network: { allowPublicTraffic: false } });

for (const [name] of implementations) {
  describe(name, () => {
    test('the SDK, which sends the traffic token, uses every route', async () => {
      const sbx = sandboxes.get(name);
      assert.ok(sbx.trafficAccessToken, 'a private sandbox has a traffic token');
      const context = await sbx.createCodeContext({ cwd: '/tmp' });
      assert.equal((await sbx.runCode('import os\nos.getcwd()', { context })).text, '/tmp');
      assert.ok((await sbx.listCodeContexts()).some((c) => c.id === context.id));
      await sbx.restartCodeContext(context);
      await sbx.removeCodeContext(context);
    });
  });
}

// Raw requests without the token test the server, not the SDK: once, on the official SDK's
// sandbox.
test('without the traffic token every route is refused and changes nothing', async () => {
  const sbx = sandboxes.get(implementations[0][0]);
  const victim = await sbx.createCodeContext();
  await sbx.runCode('kept = 42', { context: victim });
  const before = (await sbx.listCodeContexts()).map((c) => c.id).sort();
  const marker = `/tmp/pwned-${randomBytes(4).toString('hex')}`;
  const withAccessToken = { 'X-Access-Token': sbx.envdAccessToken };
  const attempts = [
    ['POST', '/contexts', JSON.stringify({ language: 'python' })],
    ['GET', '/contexts'],
    ['POST', `/contexts/${victim.id}/restart`],
    ['DELETE', `/contexts/${victim.id}`],
    ['POST', '/execute', JSON.stringify({ code: `open("${marker}", "w").write("x")` })],
  ];
  for (const [method, path, body] of attempts) {
    for (const headers of [{}, withAccessToken, { ...withAccessToken, 'E2B-Traffic-Access-Token': 'wrong' }]) {
      const res = await rawRequest(sbx, method, path, body, headers);
      assert.equal(res.status, 403, `${method} ${path} with ${Object.keys(headers)}`);
      await res.text();
    }
  }
  // Nothing changed: the same contexts, the victim's state kept, no file written.
  assert.deepEqual((await sbx.listCodeContexts()).map((c) => c.id).sort(), before);
  assert.equal((await sbx.runCode('kept', { context: victim })).text, '42');
  assert.equal(await sbx.files.exists(marker), false);
});
