// The member lists the export-parity suites compare between the official packages and ours
// (tests/sdk/exports.test.mjs, tests/code-interpreter/exports.test.mjs).

/** Every property name along `object`'s prototype chain, up to (not including) `stop`, sorted. */
export function memberNames(object, stop) {
  const names = new Set();
  for (let o = object; o && o !== stop; o = Object.getPrototypeOf(o)) for (const name of Object.getOwnPropertyNames(o)) names.add(name);
  return [...names].sort();
}
