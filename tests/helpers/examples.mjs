// The examples under examples/ depend on the package as `"e2b-wasm": "file:../../pkg"`; what
// `npm install` would do for that dependency is a symlink, made here so tests need no network.
import { mkdirSync, readlinkSync, symlinkSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Links examples/<name>/node_modules/e2b-wasm to pkg/ (built by `npm test`); → the example's dir. */
export function linkPackage(name) {
  const dir = join(repoRoot, 'examples', name);
  const modules = join(dir, 'node_modules');
  const link = join(modules, 'e2b-wasm');
  const target = relative(modules, join(repoRoot, 'pkg'));
  mkdirSync(modules, { recursive: true });
  let current;
  try { current = readlinkSync(link); } catch { /* absent */ }
  if (current !== target) symlinkSync(target, link);
  return dir;
}
