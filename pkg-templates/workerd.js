// Cloudflare Workers entry: the bundler hands us the compiled module; no fetch, no eval.
import wasm from './e2b_wasm_bg.wasm';
import { initSync } from './e2b_wasm.js';

initSync({ module: wasm });

export * from './sandbox.js';
export * from './extras.js';
export { default } from './sandbox.js';
