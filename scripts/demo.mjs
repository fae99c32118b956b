// `npm run demo`: builds what is missing, starts sandboxd with the project's data dir, has it
// build the code-interpreter-v1 template (the demo's sandboxes use it; sandboxd builds it on its
// first use, which takes minutes), serves the demo (www-demo/: terminal, notebook, file tree)
// and prints its URL. Ctrl-C stops everything; sandboxd kills its sandboxes when it stops.
//
// Environment (all optional):
//   DEMO_PORT      port of the demo page (default 8080; 0 picks a free one)
//   DEMO_DATA_DIR  sandboxd's data dir (default .sandboxd/ in the project; keeps the API key)
//   SANDBOXD_BIN   a sandboxd binary to use instead of building target/release/sandboxd
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { run } from './run.mjs';
import { buildOnFirstUse } from '../tests/code-interpreter/util.mjs';
import { launchSandboxd } from '../tests/helpers/sandboxd.mjs';
import { startDemo } from '../www-demo/server.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

function newestMtime(path) {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newestMtime(join(path, name))));
}

// pkg/ is stale when any of its inputs changed after its wasm was written.
function pkgIsStale() {
  const wasm = join(root, 'pkg/e2b_wasm_bg.wasm');
  if (!existsSync(wasm)) return true;
  const inputs = ['src', 'pkg-templates', 'Cargo.toml', 'Cargo.lock', 'scripts/build.mjs'];
  return Math.max(...inputs.map((p) => newestMtime(join(root, p)))) > statSync(wasm).mtimeMs;
}

if (!process.env.SANDBOXD_BIN) {
  // cargo is quick when the binary is up to date (and shows its progress when it is not).
  run('cargo', ['build', '--release', '-p', 'sandboxd']);
}
if (pkgIsStale()) {
  console.log('demo: pkg/ is missing or older than its sources: npm run build');
  run('npm', ['run', '--silent', 'build']);
}

const dataDir = resolve(root, process.env.DEMO_DATA_DIR ?? '.sandboxd');
mkdirSync(dataDir, { recursive: true });
const logFile = join(dataDir, 'sandboxd.log');
// Its own process group: the terminal's Ctrl-C reaches only us, and we stop it exactly once.
// If this process dies some other way, sandboxd still shuts down (and kills its sandboxes).
const { child: sandboxd, url: sandboxdUrl, exited: sandboxdExited } = await launchSandboxd({
  dataDir, logFile, detached: true,
}).catch((err) => {
  console.error(`demo: sandboxd did not start: ${err.message}`);
  process.exit(1);
});
const apiKey = readFileSync(join(dataDir, 'api-key'), 'utf8').trim();
// Done here, with no request timeout, so that the page's first create does not time out.
console.log('demo: making sure the code-interpreter-v1 template is built (the first time takes a few minutes)');
await buildOnFirstUse({ apiUrl: sandboxdUrl, apiKey }).catch((err) => {
  console.error(`demo: ${err.message} (see ${logFile})`);
  sandboxd.kill('SIGINT');
  process.exit(1);
});

const port = Number(process.env.DEMO_PORT ?? 8080);
const demo = await startDemo({ port, sandboxd: { apiUrl: sandboxdUrl, sandboxUrl: sandboxdUrl, apiKey } });
console.log(`sandboxd: ${sandboxdUrl} (data dir ${dataDir}, log ${logFile})`);
console.log(`demo: open ${demo.url}   (Ctrl-C stops the demo and sandboxd, killing its sandboxes)`);

let stopping = false;
async function stop(signal) {
  if (stopping) return;
  stopping = true;
  console.log(`demo: ${signal}, stopping`);
  await demo.close();
  sandboxd.kill('SIGINT');
  const { code } = await sandboxdExited;
  console.log(`demo: sandboxd stopped (exit ${code})`);
  process.exit(code === 0 ? 0 : 1);
}
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
