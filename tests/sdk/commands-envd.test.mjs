// The command tests against a bare envd (`sandboxd envd` in its own namespaces) through both
// SDKs' debug mode: `debug: true` plus `sandboxUrl`, a supported configuration of both.
import { after, before } from 'node:test';

import { startEnvd } from '../helpers/envd.mjs';
import { defineCommandTests } from './command-cases.mjs';

let envd;
before(async () => {
  envd = await startEnvd();
});
after(async () => {
  await envd?.stop();
});

defineCommandTests('envd, debug mode', (sdk) => sdk.Sandbox.create({ debug: true, sandboxUrl: envd.url }));
