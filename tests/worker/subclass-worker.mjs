// A Worker that runs the code-interpreter-style `Sandbox` subclass of tests/sdk/server-sandbox.mjs
// on e2b-wasm's workerd entry: every request creates a sandbox, starts the echo server in it,
// calls it through the subclass, uses git, updateNetwork and sandbox.files, and answers with
// what it saw (tests/worker/subclass.test.mjs).
import { Sandbox } from '../../pkg/workerd.js';
import { ECHO_SERVER, SERVER_PORT, makeServerSandbox, startServerIn } from '../sdk/server-sandbox.mjs';

export default {
  async fetch(_request, env) {
    const ServerSandbox = makeServerSandbox(Sandbox);
    const sbx = await ServerSandbox.create({ apiKey: env.E2B_API_KEY, apiUrl: env.E2B_API_URL, sandboxUrl: env.E2B_SANDBOX_URL, timeoutMs: 120_000 });
    try {
      await startServerIn(sbx, ECHO_SERVER, SERVER_PORT);
      const seen = await sbx.echo({ code: 'x = 1' });
      // The lazily imported modules load under workerd too: git.js, and network.js (the
      // updateNetwork body, and getInfo's network as sandboxd then reports it).
      await sbx.git.init('/tmp/repo', { initialBranch: 'main' });
      const gitStatus = await sbx.git.status('/tmp/repo');
      await sbx.updateNetwork({ denyOut: ({ allTraffic }) => [allTraffic] });
      const { network } = await sbx.getInfo();
      // sandbox.files' calls (JavaScript: /files and the filesystem RPCs in JSON), a caller's
      // signal joined to each request's own.
      const { files } = sbx;
      const signal = new AbortController().signal;
      await files.write('/tmp/w/a.txt', 'from workerd', { signal });
      const filesSeen = {
        text: await files.read('/tmp/w/a.txt', { signal }),
        exists: await files.exists('/tmp/w/a.txt', { signal }),
        missing: await files.exists('/tmp/w/none'),
        info: await files.getInfo('/tmp/w/a.txt'),
        made: await files.makeDir('/tmp/w/d'),
        again: await files.makeDir('/tmp/w/d'),
        renamed: (await files.rename('/tmp/w/a.txt', '/tmp/w/b.txt')).path,
        listed: (await files.list('/tmp/w', { signal })).map((e) => `${e.name}:${e.type}`).sort(),
      };
      await files.remove('/tmp/w/b.txt');
      filesSeen.removed = !(await files.exists('/tmp/w/b.txt'));
      filesSeen.notFound = await files.getInfo('/tmp/w/none').then(() => 'found', (e) => e.name);
      return Response.json({
        sandboxId: sbx.sandboxId, subclass: sbx instanceof ServerSandbox, constructedWith: sbx.constructedWith,
        envdAccessToken: sbx.envdAccessToken, serverUrl: sbx.serverUrl, seen, gitStatus, network, filesSeen,
      });
    } finally {
      await sbx.kill();
    }
  },
};
