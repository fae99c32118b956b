// The workerd entry of `e2b-wasm/code-interpreter`: the core workerd entry (which loads the wasm) with
// the code-interpreter `Sandbox` and `E2B` in place of the core ones.
export * from './workerd.js';
export { Sandbox, E2B, default } from './code-interpreter.js';
