// Network options through the official SDK: allowOut/denyOut and updateNetwork enforced on a
// network namespace this test builds as "the outside", what sandboxd refuses (domain rules),
// maskRequestHost and allowPublicTraffic. Test traffic goes only to loopback and to that
// namespace.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { ALL_TRAFFIC, Sandbox } from 'e2b';
import { startSandboxdForSdk } from '../helpers/sandboxd.mjs';
import { OUTSIDE_PORT, startWithOutside, stopWithOutside } from './outside.mjs';
import { listAll, uniqueTag, viaHost, waitUntil } from './util.mjs';

let sd;
let outside;
before(async () => {
  ({ outside, sd } = await startWithOutside());
});
after(() => stopWithOutside({ outside, sd }));

/** Lines `iptables-save` has for this test's sandboxd in the per-sandbox egress chains. */
function egressRules() {
  const instance = readFileSync(join(sd.dataDir, 'runtime', 'instance'), 'utf8').trim();
  const chain = new RegExp(`^-A sandboxd-${instance}-[0-9a-f]+ `);
  return execFileSync('iptables-save', ['-t', 'filter'], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => chain.test(line))
    .map((line) => line.replace(/^-A \S+ /, ''));
}

/**
 * `reached` when the sandbox got the outside server's page, else `blocked (<curl's error>)`.
 * Checked on the outside too: its server logged the request, or never saw it.
 */
async function probe(sbx, address) {
  const tag = uniqueTag();
  const out = await sbx.commands.run(
    `curl -sS -m 5 "http://${address}:${OUTSIDE_PORT}/?probe=${tag}" 2>&1; echo " rc=$?"`,
  );
  if (out.stdout.startsWith('outside')) {
    await waitUntil(async () => outside.saw(tag), 5_000, `the outside did not log probe ${tag}`);
    return 'reached';
  }
  assert.equal(outside.saw(tag), false, `probe ${tag} failed in the sandbox but reached the outside`);
  return `blocked (${out.stdout.trim()})`;
}

describe('network rules', () => {
  test('with no rule a sandbox reaches the outside; denyOut ALL_TRAFFIC blocks it', async () => {
    const [open, closed] = await Promise.all([
      Sandbox.create(),
      Sandbox.create({ network: { denyOut: [ALL_TRAFFIC] } }),
    ]);
    try {
      assert.equal(await probe(open, outside.a), 'reached');
      assert.match(await probe(closed, outside.a), /^blocked/);
      assert.match(await probe(closed, outside.b), /^blocked/);
      assert.deepEqual(egressRules(), ['-j REJECT --reject-with icmp-admin-prohibited']);
      assert.deepEqual((await closed.getInfo()).network?.denyOut, [ALL_TRAFFIC]);
    } finally {
      await Promise.all([open.kill(), closed.kill()]);
    }
    assert.deepEqual(egressRules(), [], 'egress chains outlive their sandboxes');
  });

  test('allowOut wins over denyOut: only the allowed address and block are reachable', async () => {
    const sbx = await Sandbox.create({
      network: { denyOut: [ALL_TRAFFIC], allowOut: [outside.a, `${outside.c}/32`] },
    });
    try {
      assert.equal(await probe(sbx, outside.a), 'reached');
      assert.equal(await probe(sbx, outside.c), 'reached');
      assert.match(await probe(sbx, outside.b), /^blocked/);
      assert.deepEqual(egressRules(), [
        `-d ${outside.a}/32 -j RETURN`,
        `-d ${outside.c}/32 -j RETURN`,
        '-j REJECT --reject-with icmp-admin-prohibited',
      ]);
    } finally {
      await sbx.kill();
    }
  });

  test('updateNetwork changes the rules of a running sandbox at once, and they survive a pause', async () => {
    const sbx = await Sandbox.create();
    try {
      assert.equal(await probe(sbx, outside.a), 'reached');
      await sbx.updateNetwork({ denyOut: [ALL_TRAFFIC] });
      assert.match(await probe(sbx, outside.a), /^blocked/);
      await Sandbox.updateNetwork(sbx.sandboxId, { denyOut: [ALL_TRAFFIC], allowOut: [outside.b] });
      assert.match(await probe(sbx, outside.a), /^blocked/);
      assert.equal(await probe(sbx, outside.b), 'reached');
      assert.deepEqual((await sbx.getInfo()).network?.allowOut, [outside.b]);

      // Kept in the record: a filesystem pause drops the processes and the link; resume
      // rebuilds both from it.
      await sbx.pause({ keepMemory: false });
      assert.deepEqual(egressRules(), []);
      const resumed = await Sandbox.connect(sbx.sandboxId);
      assert.match(await probe(resumed, outside.a), /^blocked/);
      assert.equal(await probe(resumed, outside.b), 'reached');

      // allowInternetAccess: false is denyOut ALL_TRAFFIC; an update omitting a field clears it.
      await resumed.updateNetwork({ allowInternetAccess: false });
      assert.match(await probe(resumed, outside.b), /^blocked/);
      await resumed.updateNetwork({});
      assert.equal(await probe(resumed, outside.a), 'reached');
      assert.deepEqual(egressRules(), []);
    } finally {
      await sbx.kill();
    }
  });

  test('updateNetwork on a paused sandbox is what it resumes with', async () => {
    const sbx = await Sandbox.create();
    try {
      for (const keepMemory of [true, false]) {
        await sbx.pause({ keepMemory });
        await sbx.updateNetwork({ denyOut: [ALL_TRAFFIC] });
        await Sandbox.connect(sbx.sandboxId);
        assert.match(await probe(sbx, outside.a), /^blocked/, `keepMemory: ${keepMemory}`);
        await sbx.updateNetwork({});
        assert.equal(await probe(sbx, outside.a), 'reached');
      }
    } finally {
      await sbx.kill();
    }
  });

  test('rules survive a restart of sandboxd', async () => {
    const sbx = await Sandbox.create({ network: { denyOut: [ALL_TRAFFIC], allowOut: [outside.a] } });
    await sbx.pause();
    await sd.stop({ keepDataDir: true });
    sd = await startSandboxdForSdk({ dataDir: sd.dataDir });
    const resumed = await Sandbox.connect(sbx.sandboxId);
    try {
      assert.equal(await probe(resumed, outside.a), 'reached');
      assert.match(await probe(resumed, outside.b), /^blocked/);
    } finally {
      await resumed.kill();
    }
  });

  test('domain rules and options sandboxd does not implement are refused, never ignored', async () => {
    const tag = uniqueTag();
    const refusals = [
      [{ allowOut: ['example.com'], denyOut: [ALL_TRAFFIC] }, /domain rules are not supported by sandboxd/],
      [{ allowOut: ['*.example.com'] }, /domain rules are not supported by sandboxd/],
      [{ denyOut: ['10.0.0.0/33'] }, /denyOut entry "10\.0\.0\.0\/33" is not an IPv4 address/],
      [{ rules: { 'example.com': [{ transform: { headers: { 'x-a': 'b' } } }] } }, /transform rules .* not supported by sandboxd/],
      [{ egressProxy: { address: '127.0.0.1:1080' } }, /egress proxies .*are not supported by sandboxd/],
    ];
    for (const [network, message] of refusals) {
      await assert.rejects(Sandbox.create({ network, metadata: { tag } }), message, JSON.stringify(network));
    }
    assert.deepEqual(await listAll({ metadata: { tag } }), [], 'a refused create left a sandbox');

    const sbx = await Sandbox.create({ network: { denyOut: [ALL_TRAFFIC], allowOut: [outside.a] } });
    try {
      await assert.rejects(
        sbx.updateNetwork({ allowOut: ['example.com'], denyOut: [ALL_TRAFFIC] }),
        /domain rules are not supported by sandboxd/,
      );
      // The refused update changed nothing.
      assert.equal(await probe(sbx, outside.a), 'reached');
      assert.match(await probe(sbx, outside.b), /^blocked/);
      assert.deepEqual((await sbx.getInfo()).network?.allowOut, [outside.a]);
    } finally {
      await sbx.kill();
    }
  });

  test('a sandbox without internet access has no link, and cannot be given one while running', async () => {
    const sbx = await Sandbox.create({ allowInternetAccess: false });
    try {
      await assert.rejects(sbx.updateNetwork({ allowOut: [outside.a] }), /cannot link a running sandbox/);
      await sbx.updateNetwork({ denyOut: [ALL_TRAFFIC] });
      const links = await sbx.commands.run('ls /sys/class/net');
      assert.equal(links.stdout.trim(), 'lo');
    } finally {
      await sbx.kill();
    }
  });

  test('maskRequestHost: the server in the sandbox sees the mask, with ${PORT} filled in', async () => {
    const sbx = await Sandbox.create({ network: { maskRequestHost: '${PORT}-masked.example.test' } });
    try {
      await sbx.files.write('/home/user/host_echo.py', HOST_ECHO_SERVER);
      await sbx.commands.run('python3 /home/user/host_echo.py', { background: true, timeoutMs: 0 });
      let res;
      await waitUntil(async () => (res = await viaHost(sd, sbx.getHost(8000))).status === 200, 30_000, 'echo server not up');
      assert.equal(res.body, '8000-masked.example.test');
      // envd's port is not masked: the SDK still works.
      assert.equal((await sbx.commands.run('echo ok')).stdout, 'ok\n');
      assert.equal((await sbx.getInfo()).network?.maskRequestHost, '${PORT}-masked.example.test');
      await assert.rejects(
        Sandbox.create({ network: { maskRequestHost: 'a.test\r\nx-injected: 1' } }),
        /invalid network.maskRequestHost/,
      );
    } finally {
      await sbx.kill();
    }
  });

  test('allowPublicTraffic: false: the sandbox ports answer only with the traffic access token', async () => {
    const sbx = await Sandbox.create({ network: { allowPublicTraffic: false } });
    try {
      assert.match(sbx.trafficAccessToken ?? '', /^[0-9a-f]{64}$/);
      await sbx.files.write('/home/user/host_echo.py', HOST_ECHO_SERVER);
      await sbx.commands.run('python3 /home/user/host_echo.py', { background: true, timeoutMs: 0 });
      const host = sbx.getHost(8000);
      const withToken = (token) => viaHost(sd, host, '/', { headers: { 'e2b-traffic-access-token': token } });
      await waitUntil(async () => (await withToken(sbx.trafficAccessToken)).status === 200, 30_000, 'echo server not up');
      const missing = await viaHost(sd, host);
      assert.equal(missing.status, 403);
      assert.match(JSON.parse(missing.body).message, /traffic access token/);
      assert.equal((await withToken('0'.repeat(64))).status, 403);
      assert.equal((await withToken(sbx.trafficAccessToken)).body, host);
    } finally {
      await sbx.kill();
    }
  });
});

/** Answers every GET with the Host header it received. */
const HOST_ECHO_SERVER = `
import http.server

class Echo(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = self.headers["Host"].encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

http.server.HTTPServer(("127.0.0.1", 8000), Echo).serve_forever()
`;
