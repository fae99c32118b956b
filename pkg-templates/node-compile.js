// The Node entry's first import, so the first module of the package to evaluate: it starts
// reading and compiling the wasm, so that the file read (thread pool) and the compile's
// validation and wrapper compilation (V8's background threads) overlap the evaluation of the glue
// and facade modules on the main thread; node.js instantiates at the end. `node:fs/promises`, not
// `node:fs`: the ESM view of `fs` costs ~5 ms more to import (its lazy getters load fs streams).
import { readFile } from 'node:fs/promises';

export const compiling = readFile(new URL('./e2b_wasm_bg.wasm', import.meta.url)).then(WebAssembly.compile);
