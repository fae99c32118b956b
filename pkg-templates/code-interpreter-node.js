// The node entry of `e2b-wasm/code-interpreter`: the core node entry (which loads the wasm) with
// the code-interpreter `Sandbox` and `E2B` in place of the core ones.
export * from './node.js';
export { Sandbox, E2B, default } from './code-interpreter.js';
