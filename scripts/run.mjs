// Runs a tool for the build, test and demo scripts: in the repository root, its output inherited,
// and this process exits at the first command that cannot run or fails.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Shows and runs `cmd args` (spawnSync `opts` on top of the defaults); → its spawnSync result. */
export function run(cmd, args, opts = {}) {
  console.log(`\n$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', encoding: 'utf8', ...opts });
  if (r.error) {
    console.error(`\n✗ cannot run ${cmd} (${r.error.message}); run scripts/setup.sh first`);
    process.exit(1);
  }
  if (r.status !== 0) {
    console.error(`\n✗ ${cmd} ${args.join(' ')} failed (${r.status ?? r.signal})`);
    process.exit(1);
  }
  return r;
}
