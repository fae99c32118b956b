// The package's TypeScript declarations: a program written against the official `e2b` surface
// compiles with `--strict` against both `e2b` and our `pkg/` (mapped to the module name `sdk`),
// and a deliberate type mistake is rejected by both.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tsc = join(root, 'node_modules/typescript/bin/tsc');
const work = mkdtempSync(join(tmpdir(), 'e2b-wasm-types-'));
after(() => rmSync(work, { recursive: true, force: true }));

// Our declarations are checked themselves (`skipLibCheck: false`) and without Node's types, which
// a browser or Worker project lacks; the official ones import `node:*` modules, so they are used
// as they are.
const packages = {
  e2b: { dts: join(root, 'node_modules/e2b/dist/index.d.ts'), skipLibCheck: true },
  'e2b-wasm': { dts: join(root, 'pkg/index.d.ts'), skipLibCheck: false },
};

function compile(pkg, file) {
  const config = join(work, `tsconfig.${pkg.replace(/[^\w-]/g, '_')}.${file}.json`);
  writeFileSync(
    config,
    JSON.stringify({
      compilerOptions: {
        strict: true,
        noEmit: true,
        target: 'ES2022',
        module: 'ESNext',
        moduleResolution: 'Bundler',
        lib: ['ES2022', 'DOM'],
        skipLibCheck: packages[pkg].skipLibCheck,
        types: [],
        paths: { sdk: [packages[pkg].dts] },
      },
      files: [join(root, 'tests/types', file)],
    }),
  );
  const r = spawnSync(process.execPath, [tsc, '-p', config], { encoding: 'utf8' });
  return { ok: r.status === 0, output: r.stdout + r.stderr };
}

for (const pkg of Object.keys(packages)) {
  test(`${pkg}: a program written for e2b compiles with --strict`, () => {
    const { ok, output } = compile(pkg, 'usage.ts');
    assert.ok(ok, output);
  });

  test(`${pkg}: a type mistake is rejected`, () => {
    const { ok, output } = compile(pkg, 'mistake.ts');
    assert.ok(!ok, 'mistake.ts compiled');
    assert.match(output, /mistake\.ts\(5,9\): error TS2322: Type 'string' is not assignable to type 'number'/);
  });

  test(`${pkg}: output types are branded (a plain string is not Stdout)`, () => {
    const { ok, output } = compile(pkg, 'brand-mistake.ts');
    assert.ok(!ok, 'brand-mistake.ts compiled');
    assert.match(output, /brand-mistake\.ts\(4,14\): error TS2322: Type 'string' is not assignable to type 'Stdout'/);
  });
}

// The code-interpreter entry's declarations against `@e2b/code-interpreter`'s, the same way.
const codeInterpreterPackages = {
  '@e2b/code-interpreter': { dts: join(root, 'node_modules/@e2b/code-interpreter/dist/index.d.ts'), skipLibCheck: true },
  'e2b-wasm/code-interpreter': { dts: join(root, 'pkg/code-interpreter.d.ts'), skipLibCheck: false },
};
Object.assign(packages, codeInterpreterPackages);
for (const pkg of Object.keys(codeInterpreterPackages)) {
  test(`${pkg}: a program written for @e2b/code-interpreter compiles with --strict`, () => {
    const { ok, output } = compile(pkg, 'code-interpreter-usage.ts');
    assert.ok(ok, output);
  });
}
