// The implementations every SDK suite runs against: the official `e2b` package (the reference)
// and ours, built into pkg/ by `npm run build`. The same test bodies run for both, so a test
// that passes for both shows the two give the same results.
import * as official from 'e2b';
import * as ours from '../../pkg/node.js';

export const implementations = [
  ['e2b', official],
  ['e2b-wasm', ours],
];

/** Collects every sandbox matching `query` across pages. */
export async function listAll(sdk, opts) {
  const paginator = sdk.Sandbox.list(opts);
  const items = [];
  while (paginator.hasNext) items.push(...(await paginator.nextItems()));
  return items;
}

/** A value no other test run uses (metadata filters, file names). */
export const uniqueTag = () => `t${Math.random().toString(36).slice(2, 10)}`;
