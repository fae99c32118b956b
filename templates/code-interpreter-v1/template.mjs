// The `code-interpreter-v1` template (the code-interpreter SDKs' default), defined with the
// official SDK's builder so that it is built through the same path as any user's template:
// on `base`, ipykernel and its dependencies (pinned in requirements.txt) installed from local
// wheels, and as start command sandboxd's own execution server, ready once `/health` answers
// (which it does after Python's default context has started).
//
//   import { codeInterpreterTemplate, TEMPLATE_NAME } from '../../templates/code-interpreter-v1/template.mjs';
//   await Template.build(codeInterpreterTemplate(), TEMPLATE_NAME);
//
// The wheels come from `.cache/code-interpreter-wheels` (scripts/setup.sh downloads them from
// PyPI), so a build talks to no package index. The other kernels likewise come from local files:
// bash_kernel and Deno (JavaScript, TypeScript) from `.cache/code-interpreter-kernel-wheels`
// (requirements-kernels.txt), R and IRkernel from Debian's .debs in `.cache/code-interpreter-debs`
// (debs-kernels.txt).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Template, waitForURL } from 'e2b';

export const TEMPLATE_NAME = 'code-interpreter-v1';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const WHEELS = '.cache/code-interpreter-wheels';
const KERNEL_WHEELS = '.cache/code-interpreter-kernel-wheels';
const KERNEL_DEBS = '.cache/code-interpreter-debs';

export function codeInterpreterTemplate() {
  for (const stamp of [`${WHEELS}/requirements.txt`, `${KERNEL_WHEELS}/requirements-kernels.txt`, `${KERNEL_DEBS}/debs-kernels.txt`]) {
    if (!existsSync(`${repoRoot}/${stamp}`)) {
      throw new Error(`${stamp} is missing: run scripts/setup.sh (it downloads the template's packages)`);
    }
  }
  return (
    Template({ fileContextPath: repoRoot })
      .fromBaseImage()
      .setUser('root')
      .copy(WHEELS, '/tmp/code-interpreter-wheels')
      .runCmd(
        'pip install --quiet --no-index --break-system-packages --disable-pip-version-check ' +
          '--find-links /tmp/code-interpreter-wheels -r /tmp/code-interpreter-wheels/requirements.txt ' +
          '&& rm -rf /tmp/code-interpreter-wheels',
      )
      .copy(KERNEL_WHEELS, '/tmp/code-interpreter-kernel-wheels')
      .runCmd(
        'pip install --quiet --no-index --break-system-packages --disable-pip-version-check ' +
          '--find-links /tmp/code-interpreter-kernel-wheels -r /tmp/code-interpreter-kernel-wheels/requirements-kernels.txt ' +
          '&& rm -rf /tmp/code-interpreter-kernel-wheels',
      )
      // dpkg rather than apt: the files are the whole closure, so nothing is fetched.
      .copy(KERNEL_DEBS, '/tmp/code-interpreter-debs')
      .runCmd('DEBIAN_FRONTEND=noninteractive dpkg --install /tmp/code-interpreter-debs/*.deb > /dev/null && rm -rf /tmp/code-interpreter-debs')
      // envd (PID 1) runs from sandboxd's binary, which root in the sandbox may execute through
      // /proc/1/exe; the server and its kernels run as root, as E2B's do.
      .setStartCmd('/proc/1/exe code-interpreter', waitForURL('http://127.0.0.1:49999/health'))
  );
}
