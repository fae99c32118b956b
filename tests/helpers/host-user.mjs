// The attacker of the host-side tests: a host user with no privileges at all.
import { spawnSync } from 'node:child_process';

export const NOBODY = 65534;

/**
 * Runs `argv` as the host's `nobody`, with no groups and no capabilities. setpriv still holds
 * root's capabilities when it execs, so it execs a shell first, which then runs `argv` as the
 * plain unprivileged process an attacker has.
 */
export function asNobody(argv) {
  const setpriv = ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups'];
  const result = spawnSync('setpriv', [...setpriv, '/bin/sh', '-c', 'exec "$@"', 'sh', ...argv], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
