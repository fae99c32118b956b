// The `code-interpreter-v1` template (the code-interpreter SDKs' default), defined with the
// official SDK's builder so that it is built through the same path as any user's template:
// on `base`, ipykernel and the data stack (pinned in requirements.txt) installed from local
// wheels, E2B's display hooks in root's IPython profile (startup/, ipython_kernel_config.py),
// and as start command sandboxd's own execution server, ready once `/health` answers (which it
// does after Python's default context has started).
//
//   import { codeInterpreterTemplate, TEMPLATE_NAME } from '../../templates/code-interpreter-v1/template.mjs';
//   await Template.build(codeInterpreterTemplate(), TEMPLATE_NAME);
//
// The wheels come from `.cache/code-interpreter-wheels` (scripts/setup.sh downloads them from
// PyPI), so a build talks to no package index.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Template, waitForURL } from 'e2b';

export const TEMPLATE_NAME = 'code-interpreter-v1';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const WHEELS = '.cache/code-interpreter-wheels';
const IPYTHON_PROFILE = '/root/.ipython/profile_default';

export function codeInterpreterTemplate() {
  if (!existsSync(`${repoRoot}/${WHEELS}/requirements.txt`)) {
    throw new Error(`${WHEELS} has no wheels: run scripts/setup.sh (it downloads them from PyPI)`);
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
      // E2B's display hooks and kernel settings, in the IPython profile of root (the kernels' user).
      .copy('templates/code-interpreter-v1/ipython_kernel_config.py', `${IPYTHON_PROFILE}/ipython_kernel_config.py`)
      .copy('templates/code-interpreter-v1/startup', `${IPYTHON_PROFILE}/startup`)
      // envd (PID 1) runs from sandboxd's binary, which root in the sandbox may execute through
      // /proc/1/exe; the server and its kernels run as root, as E2B's do.
      .setStartCmd('/proc/1/exe code-interpreter', waitForURL('http://127.0.0.1:49999/health'))
  );
}
