// Node entry: reads the wasm next to this file; the only module that imports Node built-ins.
import { readFile } from 'node:fs/promises';
import { initSync } from './e2b_wasm.js';

initSync({ module: await WebAssembly.compile(await readFile(new URL('./e2b_wasm_bg.wasm', import.meta.url))) });

export * from './sandbox.js';
export * from './extras.js';
export { default } from './sandbox.js';
