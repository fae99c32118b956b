// `node scripts/watchdog.mjs <pid> <minutes> <label>`: started by run.mjs (process <pid>) beside
// a command that has a deadline. If <pid> still waits for that command after <minutes>, this
// prints what every process under <pid> (but itself) waits for — state, kernel wait channel and
// stacks, and the thread backtraces of the project's binaries through gdb when the machine has
// it — then kills them, so that a hung test fails CI in minutes with the evidence instead of
// running into CI's own limit with none. It exits on its own once <pid> is gone.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

const [pid, minutes, label] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4]];
const deadline = Date.now() + minutes * 60_000;

const read = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};
const alive = (p) => read(`/proc/${p}/stat`) !== '';
const exe = (p) => {
  try {
    return readlinkSync(`/proc/${p}/exe`);
  } catch {
    return '';
  }
};

/** `/proc/<p>/stat` fields after the command name: [state, ppid, ...]. */
function stat(p) {
  const text = read(`/proc/${p}/stat`);
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/** `root` and every process below it, parents first. */
function tree(root) {
  const children = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const ppid = Number(stat(name)[1]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(Number(name));
  }
  const all = [];
  const visit = (p) => {
    all.push(p);
    for (const c of children.get(p) ?? []) visit(c);
  };
  visit(root);
  return all;
}

function describe(p) {
  const cmd = read(`/proc/${p}/cmdline`).split('\0').join(' ').trim().slice(0, 300);
  const lines = [`--- pid ${p} ppid ${stat(p)[1]} state ${stat(p)[0]}: ${cmd}`];
  for (const task of readdirSync(`/proc/${p}/task`, { throwIfNoEntry: false }) ?? []) {
    const base = `/proc/${p}/task/${task}`;
    const stack = read(`${base}/stack`).trim().split('\n').slice(0, 8).join(' | ');
    lines.push(`  task ${task} ${read(`${base}/comm`).trim()} [${stat(`${p}/task/${task}`)[0]}] wchan=${read(`${base}/wchan`)} ${stack}`);
  }
  return lines.join('\n');
}

function backtraces(p) {
  try {
    return execFileSync('gdb', ['-p', String(p), '-batch', '-ex', 'thread apply all bt 30'], {
      encoding: 'utf8',
      timeout: 60_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (e) {
    return `(no gdb backtrace: ${e.message.split('\n')[0]})`;
  }
}

const timer = setInterval(() => {
  if (!alive(pid)) process.exit(0);
  if (Date.now() < deadline) return;
  clearInterval(timer);
  const procs = tree(pid).filter((p) => p !== pid && p !== process.pid);
  console.error(`\n✗ watchdog: \`${label}\` still runs after ${minutes} min; what its processes wait for:`);
  for (const p of procs) console.error(describe(p));
  // Thread backtraces of the project's own binaries (test executables, sandboxd).
  for (const p of procs.filter((p) => exe(p).includes('/target/'))) {
    console.error(`\n--- threads of pid ${p}:\n${backtraces(p)}`);
  }
  for (const p of procs.reverse()) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {}
  }
  // A process stuck in the kernel (state D) ignores SIGKILL, and the runner would wait for it
  // forever: if the command is not gone within a minute, end the runner itself.
  setTimeout(() => {
    if (procs.some(alive)) {
      console.error('✗ watchdog: the command survived SIGKILL; ending the test run');
      process.kill(pid, 'SIGKILL');
    }
    process.exit(0);
  }, 60_000);
}, 1000);
