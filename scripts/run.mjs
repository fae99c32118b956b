// Runs a tool for the build, test and demo scripts: in the repository root, its output inherited,
// and this process exits at the first command that cannot run or fails.
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * Shows and runs `cmd args` (spawnSync `opts` on top of the defaults); → its spawnSync result.
 * `opts.deadlineMin`: minutes after which scripts/watchdog.mjs reports what the command's
 * processes wait for and kills them (the command then fails).
 */
export function run(cmd, args, { deadlineMin, ...opts } = {}) {
  console.log(`\n$ ${cmd} ${args.join(' ')}`);
  const label = `${cmd} ${args.join(' ')}`;
  const watchdog =
    deadlineMin &&
    spawn(process.execPath, [`${root}/scripts/watchdog.mjs`, process.pid, deadlineMin, label], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', encoding: 'utf8', ...opts });
  if (watchdog) watchdog.kill();
  if (r.error) {
    console.error(`\n✗ cannot run ${cmd} (${r.error.message}); run scripts/setup.sh first`);
    process.exit(1);
  }
  if (r.status !== 0) {
    console.error(`\n✗ ${label} failed (${r.status ?? r.signal})`);
    process.exit(1);
  }
  return r;
}
