// Browser (and default) entry: fetches the wasm relative to this module.
import init from './e2b_wasm.js';

await init({ module_or_path: new URL('./e2b_wasm_bg.wasm', import.meta.url) });

export * from './sandbox.js';
export * from './extras.js';
export { default } from './sandbox.js';
