// `npm run build`: compiles the SDK crate to wasm (size-tuned profile), runs the pinned
// wasm-bindgen and wasm-opt, shortens the import and export names (short-names.mjs), and assembles the
// ESM package in pkg/ from pkg-templates/.
// Prints the wasm and JS glue sizes (raw and gzip) at the end.
//
//   node scripts/build.mjs [--features json-codec] [--out-dir pkg-json]
//
// `--features` adds cargo features to `bundle` (the benchmark builds a JSON-codec package next
// to pkg/ this way); `--out-dir` puts the package elsewhere than pkg/.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';

import { buildSync, transformSync } from 'esbuild';

import { run } from './run.mjs';
import { shortenNames } from './short-names.mjs';

const { values: args } = parseArgs({
  options: { features: { type: 'string', default: '' }, 'out-dir': { type: 'string', default: 'pkg' } },
});
const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = resolve(root, args['out-dir']);
const templates = join(root, 'pkg-templates');
const crateName = 'e2b_wasm';

run('cargo', ['build', '--quiet', '--lib', '-p', 'e2b-wasm', '--target', 'wasm32-unknown-unknown', '--profile', 'wasm-release', '--features', ['bundle', args.features].filter(Boolean).join(',')]);

rmSync(pkg, { recursive: true, force: true });
mkdirSync(pkg);
const wasmIn = join(root, 'target/wasm32-unknown-unknown/wasm-release', `${crateName}.wasm`);
const wasmOpt = join(root, 'target/wasm32-unknown-unknown/wasm-release', `${crateName}.opt.wasm`);
// wasm-opt runs before wasm-bindgen: Debian's binaryen (108) renumbers tables when it rewrites
// wasm-bindgen's output, breaking the exported externref table. rustc's default wasm features
// must be enabled for it to accept the module.
const features = ['bulk-memory', 'nontrapping-float-to-int', 'sign-ext', 'reference-types', 'multivalue', 'mutable-globals'];
// `--converge` repeats -Oz while it still shrinks the module; the memory facts let it drop
// stores of zeros into fresh memory and fold address arithmetic: the memory is the module's
// own (so zero-filled at start), and its lowest KiB is the bottom of rustc's 1 MiB stack, never
// reached. 0.6 KiB gzip together; opt-level "s" instead of "z" would cost 4.7 KiB.
const memoryFacts = ['--low-memory-unused', '--zero-filled-memory'];
run('wasm-opt', ['-Oz', '--converge', ...memoryFacts, ...features.map((f) => `--enable-${f}`), wasmIn, '-o', wasmOpt]);
run('wasm-bindgen', ['--target', 'web', '--omit-default-module-path', '--remove-name-section', '--remove-producers-section', '--out-dir', pkg, '--out-name', crateName, wasmOpt]);
{
  const wasmPath = join(pkg, `${crateName}_bg.wasm`);
  const gluePath = join(pkg, `${crateName}.js`);
  const short = shortenNames(readFileSync(wasmPath), readFileSync(gluePath, 'utf8'), `./${crateName}_bg.js`);
  writeFileSync(wasmPath, short.wasm);
  writeFileSync(gluePath, short.glue);
}

// The error classes are a wasm-bindgen snippet; the entry points re-export them from there.
const snippets = join(pkg, 'snippets');
const errorsModule = readdirSync(snippets, { recursive: true }).map(String).find((p) => p.endsWith('errors.js'));
if (!errorsModule) throw new Error('build: errors.js snippet missing from wasm-bindgen output');
const errorsPath = `./${relative(pkg, join(snippets, errorsModule)).split('\\').join('/')}`;

const version = JSON.parse(readFileSync(join(root, 'pkg-templates/package.json'), 'utf8')).version;
for (const name of readdirSync(templates)) {
  if (['errors.js', 'promises.js'].includes(name)) continue; // wasm-bindgen snippets
  const text = readFileSync(join(templates, name), 'utf8')
    .replaceAll('%ERRORS_MODULE%', errorsPath)
    .replaceAll('%VERSION%', version);
  writeFileSync(join(pkg, name), text);
}
rmSync(join(pkg, '.gitignore'), { force: true });

// The snippet only the glue imports (promises.js) goes into the glue module: in Node's
// ESM loader every module of the graph costs about a millisecond of CPU at import (resolve, read,
// compile, link), which is cold start. errors.js stays a module of its own: the facade, the lazy
// modules and the code interpreter share its classes.
{
  const gluePath = join(pkg, `${crateName}.js`);
  const glueOnly = readdirSync(snippets, { recursive: true }).map(String).filter((p) => /(^|\/)promises\.js$/.test(p));
  if (glueOnly.length !== 1) throw new Error(`build: expected promises.js among the snippets, found ${glueOnly.join(', ')}`);
  buildSync({
    entryPoints: [gluePath], outfile: gluePath, allowOverwrite: true, bundle: true, format: 'esm', logLevel: 'error',
    external: ['*/errors.js'],
  });
  for (const p of glueOnly) rmSync(join(snippets, p));
}

// Minify every module in place (module by module: the package keeps its file layout, and the
// types come from index.d.ts, not from the JS). Our own modules keep their function and class
// names, which are observable (`err.constructor.name`, `Sandbox.name`); wasm-bindgen's glue
// only holds internal wrappers, where keeping names would cost 0.7 KiB gzip.
for (const file of readdirSync(pkg, { recursive: true }).map(String).filter((f) => f.endsWith('.js'))) {
  const path = join(pkg, file);
  const { code } = transformSync(readFileSync(path, 'utf8'), {
    minify: true,
    format: 'esm',
    target: 'es2022',
    legalComments: 'none',
    keepNames: file !== `${crateName}.js`,
  });
  writeFileSync(path, code);
}
if (existsSync(join(root, 'README.md'))) cpSync(join(root, 'README.md'), join(pkg, 'README.md'));

// Sizes: the wasm, and the JS every runtime loads (glue, facade, errors, one entry).
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
const size = (files) => {
  const bytes = Buffer.concat(files.map((f) => readFileSync(join(pkg, f))));
  return { raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
};
const wasm = size([`${crateName}_bg.wasm`]);
const snippetFiles = readdirSync(snippets, { recursive: true })
  .map(String)
  .filter((p) => p.endsWith('.js'))
  .map((p) => relative(pkg, join(snippets, p)));
const glue = size([`${crateName}.js`, 'sandbox.js', 'api.js', 'files.js', 'internal.js', 'extras.js', ...snippetFiles, 'browser.js']);
// What an app bundle of an import loads: esbuild leaves out the unused, side-effect free module
// (extras.js: templates, volumes, secrets) and splits the lazily imported ones (git.js,
// network.js, mcp.js) into chunks of their own; counted are the entry chunk and what it imports.
function bundleSize(entry) {
  const { outputFiles, metafile } = buildSync({
    stdin: { contents: `import { Sandbox } from './${entry}'; globalThis.Sandbox = Sandbox;`, resolveDir: pkg },
    bundle: true, splitting: true, outdir: join(pkg, '.app'), minify: true, format: 'esm', platform: 'browser',
    write: false, metafile: true, logLevel: 'silent',
  });
  const outputs = Object.entries(metafile.outputs).map(([path, out]) => ({ path: resolve(root, path), ...out }));
  const loaded = new Set();
  const visit = (path) => {
    if (loaded.has(path)) return;
    loaded.add(path);
    const output = outputs.find((o) => o.path === path);
    for (const imported of output.imports) if (imported.kind === 'import-statement') visit(resolve(root, imported.path));
  };
  visit(outputs.find((o) => o.entryPoint).path);
  const js = Buffer.concat(outputFiles.filter((f) => loaded.has(f.path)).map((f) => f.contents));
  return { raw: js.length, gzip: gzipSync(js, { level: 9 }).length };
}
const sandboxPath = bundleSize('browser.js');
const codeInterpreterPath = bundleSize('code-interpreter-browser.js');
const line = (label, { raw, gzip }, note = '') => console.log(`  ${label.padEnd(5)} ${kib(raw).padStart(10)} raw  ${kib(gzip).padStart(10)} gzip${note && `   (${note})`}`);
console.log(`build: ${relative(root, pkg)}/ ready (e2b-wasm ${version}${args.features ? `, features ${args.features}` : ''})`);
line('wasm', wasm);
line('glue', glue, 'every module an entry loads');
line('total', { raw: wasm.raw + glue.raw, gzip: wasm.gzip + glue.gzip });
line('app', { raw: wasm.raw + sandboxPath.raw, gzip: wasm.gzip + sandboxPath.gzip }, 'wasm + an esbuild bundle of `import { Sandbox }`');
const codeInterpreterAdds = { raw: codeInterpreterPath.raw - sandboxPath.raw, gzip: codeInterpreterPath.gzip - sandboxPath.gzip };
line('ci', codeInterpreterAdds, "what `import { Sandbox } from 'e2b-wasm/code-interpreter'` bundles over `app`");
// Modules the facade imports only when one of their calls is made.
const lazyModules = {
  'git.js': 'the first sandbox.git call',
  'network.js': 'network/iam options and getInfo',
  'mcp.js': 'create({ mcp })',
};
const lazy = Object.fromEntries(Object.keys(lazyModules).map((file) => [file, size([file])]));
for (const [file, when] of Object.entries(lazyModules)) line('lazy', lazy[file], `${file}, loaded by ${when}`);
writeFileSync(join(pkg, 'sizes.json'), JSON.stringify({ wasm, glue, sandboxPath, codeInterpreterPath, lazy }, null, 2) + '\n');
