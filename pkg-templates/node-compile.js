// The Node entry's first import, so the first module of the package to evaluate: it starts
// compiling the wasm, so that the compile's validation and wrapper compilation (V8's background
// threads) overlap the evaluation of the glue and facade modules on the main thread; node.js
// instantiates at the end. The read is synchronous where `process.getBuiltinModule` exists (Node
// ≥ 20.16), so that the compile starts at once: importing `node:fs` instead would cost ~5 ms (its
// ESM view reads every lazy getter of `fs`, streams included), and fs/promises' readFile takes
// four thread-pool round trips, which the older Node versions still wait for.
import { readFile } from 'node:fs/promises';

const wasmUrl = new URL('./e2b_wasm_bg.wasm', import.meta.url);
const fs = process.getBuiltinModule?.('node:fs');
export const compiling = fs ? WebAssembly.compile(fs.readFileSync(wasmUrl)) : readFile(wasmUrl).then(WebAssembly.compile);
