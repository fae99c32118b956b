// The browser entry of `e2b-wasm/code-interpreter`: the core browser entry (which loads the wasm) with
// the code-interpreter `Sandbox` and `E2B` in place of the core ones.
export * from './browser.js';
export { Sandbox, E2B, default } from './code-interpreter.js';
