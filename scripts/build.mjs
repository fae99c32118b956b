// Builds the e2b-wasm package into pkg/ (filled in by the SDK core work).
console.log('build: the SDK package is not built yet');
