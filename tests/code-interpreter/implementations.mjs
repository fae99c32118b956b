// The implementations the code-interpreter suites run against: the official
// `@e2b/code-interpreter` package (the reference) and ours, `e2b-wasm/code-interpreter` as built
// into pkg/ by `npm run build`. The same test bodies run for both, each on a sandbox of its own.
import { after, before } from 'node:test';

import * as official from '@e2b/code-interpreter';
import * as ours from '../../pkg/code-interpreter-node.js';
import { startCodeInterpreterSandboxd } from './util.mjs';

export const implementations = [
  ['@e2b/code-interpreter', official],
  ['e2b-wasm/code-interpreter', ours],
];

/**
 * A suite's sandboxd and, made before its tests (`Sandbox.create(createOpts)`), one sandbox per
 * implementation; both are gone after them. → the sandboxes by implementation name.
 */
export function sandboxPerImplementation(createOpts) {
  let sd;
  const sandboxes = new Map();
  before(async () => {
    sd = await startCodeInterpreterSandboxd();
    for (const [name, { Sandbox }] of implementations) sandboxes.set(name, await Sandbox.create(createOpts));
  });
  after(async () => {
    for (const sbx of sandboxes.values()) await sbx.kill();
    await sd?.stop();
  });
  return sandboxes;
}
