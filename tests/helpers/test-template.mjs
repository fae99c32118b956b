// The template the suites run twice by `npm test` (tests/security, tests/sandboxd/isolation)
// create their sandboxes from: `base`, or, in the second pass (SANDBOXD_TEST_TEMPLATE=built), a
// template built on the suite's sandboxd through the official builder, so that every attack is
// also made against a sandbox standing on built read-only layers.
import { randomBytes } from 'node:crypto';

import { Sandbox, Template } from 'e2b';
import { startSandboxdForSdk } from './sandboxd.mjs';

export const BUILT_PASS = process.env.SANDBOXD_TEST_TEMPLATE === 'built';

/** A file each pass's template has in a read-only layer, not written by the suites. */
export const LAYER_FILE = BUILT_PASS ? '/opt/tool/version' : '/etc/debian_version';

let template = 'base';

/** Builds this pass's template on the running sandboxd (a no-op in the `base` pass). */
async function prepareTestTemplate() {
  if (!BUILT_PASS) return;
  const name = `suite-${randomBytes(4).toString('hex')}`;
  const built = Template()
    .fromBaseImage()
    .runCmd('mkdir -p /opt/tool && echo v1 > /opt/tool/version', { user: 'root' })
    .runCmd('echo built > /home/user/.template-marker')
    .setEnvs({ SUITE_TEMPLATE: 'built' });
  await Template.build(built, name);
  template = name;
}

/** `Sandbox.create(opts)` from this pass's template. */
export const createSandbox = (opts) => Sandbox.create(template, opts);

/** The name sandboxes of this pass are created from. */
export const testTemplateName = () => template;

/** Starts a sandboxd (`startSandboxdForSdk(options)`) and builds this pass's
 * template on it; → the sandboxd. */
export async function startSuiteSandboxd(options) {
  const sd = await startSandboxdForSdk(options);
  await prepareTestTemplate();
  return sd;
}
