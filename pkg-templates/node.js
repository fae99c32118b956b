// Node entry: instantiates the wasm that node-compile.js (imported first, so evaluated first)
// started compiling; the only entry that imports Node built-ins.
import { compiling } from './node-compile.js';
import { initSync } from './e2b_wasm.js';

initSync({ module: await compiling });

export * from './sandbox.js';
export * from './extras.js';
export { default } from './sandbox.js';
