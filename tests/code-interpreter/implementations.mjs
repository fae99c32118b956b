// The implementations the code-interpreter suites run against: the official
// `@e2b/code-interpreter` package (the reference) and ours, `e2b-wasm/code-interpreter` as built
// into pkg/ by `npm run build`. The same test bodies run for both.
import * as official from '@e2b/code-interpreter';
import * as ours from '../../pkg/code-interpreter-node.js';

export const implementations = [
  ['@e2b/code-interpreter', official],
  ['e2b-wasm/code-interpreter', ours],
];
