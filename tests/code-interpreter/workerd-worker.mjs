// A Worker that runs `e2b-wasm/code-interpreter`'s workerd entry against sandboxd: each request
// creates a code-interpreter sandbox, runs the compared cells (described-run.mjs) in order,
// drives a code context through create, list, run, remove and a run in it after removal, and
// answers with all it saw (tests/code-interpreter/workerd.test.mjs).
import { NotFoundError, Sandbox } from '../../pkg/code-interpreter-workerd.js';
import { comparedCells, describedRun } from './described-run.mjs';

export default {
  async fetch(_request, env) {
    const sbx = await Sandbox.create({ apiKey: env.E2B_API_KEY, apiUrl: env.E2B_API_URL, sandboxUrl: env.E2B_SANDBOX_URL });
    try {
      const cells = {};
      for (const [name, code] of Object.entries(comparedCells)) cells[name] = await describedRun(sbx, code);
      const context = await sbx.createCodeContext({ cwd: '/tmp' });
      const listed = (await sbx.listCodeContexts()).some((c) => c.id === context.id && c.cwd === '/tmp');
      const cwd = (await sbx.runCode('import os\nos.getcwd()', { context })).text;
      await sbx.removeCodeContext(context);
      const afterRemoval = await sbx.runCode('1', { context }).then(() => 'ran', (err) => (err instanceof NotFoundError ? 'NotFoundError' : String(err)));
      return Response.json({ sandboxId: sbx.sandboxId, template: Sandbox.defaultTemplate, cells, context: { listed, cwd, afterRemoval } });
    } finally {
      await sbx.kill();
    }
  },
};
