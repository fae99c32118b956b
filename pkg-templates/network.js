// The `network` and `iam` request bodies of `Sandbox.create` and `updateNetwork`, built and
// validated as e2b 2.51 does: selectors given as functions, `rules` as a Map or a record with
// transform callbacks (which see `${e2b.identity.tokens.<name>}` placeholders for IAM tokens),
// `egressProxy` checked and cleaned; and `getInfo`'s `network` in the official shape. Loaded only
// by calls that carry these options or return them.
import { InvalidArgumentError } from '%ERRORS_MODULE%';

import { ALL_TRAFFIC } from './sandbox.js';

const INVALID_TOKEN_NAME_CHARS = /[{}\p{Cc}]/u;
// What the language and runtimes read off any object they serialize, await or stringify: a
// token is never named after them, so reading one is a probe, not a token reference.
const RUNTIME_PROBED_PROPS = new Set(['toJSON', 'then', 'toString', 'valueOf']);

function validateTokenName(name) {
  if (name.length === 0 || INVALID_TOKEN_NAME_CHARS.test(name)) {
    throw new InvalidArgumentError(`iam token name ${JSON.stringify(name)} is not usable: a token name cannot be empty or contain '{', '}' or control characters, because it is interpolated into the '\${e2b.identity.tokens.<name>}' placeholder the egress proxy resolves.`);
  }
}

function tokenPlaceholder(name) {
  validateTokenName(name);
  return `\${e2b.identity.tokens.${name}}`;
}

/** Answers a probe of `prop`; coercing or serializing it is what counts as using the token. */
function probeValue(prop, tokens, resolve) {
  const value = prop === 'toString' ? () => Object.prototype.toString.call(tokens()) : prop === 'valueOf' ? () => tokens() : {};
  Object.defineProperty(value, Symbol.toPrimitive, { value: resolve });
  return Object.defineProperty(value, 'toJSON', { value: resolve, enumerable: true });
}

/** `iam.tokens` as transform callbacks see it: each registered name is its placeholder. */
function tokenPlaceholders(tokenNames, validate) {
  const tokens = Object.fromEntries(tokenNames.map((name) => [name, tokenPlaceholder(name)]));
  const unregistered = (prop) => {
    if (!validate) return tokenPlaceholder(prop);
    const known = tokenNames.length === 0
      ? `Pass it to Sandbox.create as iam: { tokens: { '${prop}': Secret.iamToken({ audience, tokenType }) } }.`
      : `Registered tokens: ${tokenNames.map((name) => `'${name}'`).join(', ')}.`;
    throw new InvalidArgumentError(`Network transform references iam token '${prop}', which is not registered. ${known}`);
  };
  const proxy = new Proxy(tokens, {
    get(target, prop, receiver) {
      if (typeof prop === 'string' && !Object.hasOwn(target, prop)) {
        return RUNTIME_PROBED_PROPS.has(prop) ? probeValue(prop, () => proxy, () => unregistered(prop)) : unregistered(prop);
      }
      return Reflect.get(target, prop, receiver);
    },
    has: (target, prop) => Object.hasOwn(target, prop),
  });
  return proxy;
}

const transformContext = (tokenNames, validate) => ({ iam: { tokens: tokenPlaceholders(tokenNames, validate) } });

const isPlainObject = (value) => {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
};

function describeValue(value) {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  return Array.isArray(value) ? 'array' : value.constructor?.name ?? 'object';
}

const resolveSelector = (selector, rules) => (typeof selector === 'function' ? selector({ allTraffic: ALL_TRAFFIC, rules }) : selector);

function rulesBody(rules, ctx) {
  const out = {};
  for (const [host, hostRules] of rules) {
    out[host] = hostRules.map((rule) => {
      if (rule.transform == null) return {};
      if (typeof rule.transform !== 'function') return { transform: rule.transform };
      const transform = rule.transform(ctx);
      if (typeof transform?.then === 'function') {
        Promise.resolve(transform).catch(() => {});
        throw new InvalidArgumentError(`Network transform callback for '${host}' must be synchronous, it returned a promise. Resolve the value before creating the sandbox.`);
      }
      if (!isPlainObject(transform)) throw new InvalidArgumentError(`Network transform callback for '${host}' must return a transform object, got ${describeValue(transform)}.`);
      return { transform };
    });
  }
  return out;
}

function egressProxyBody(egressProxy) {
  if (!isPlainObject(egressProxy) || typeof egressProxy.address !== 'string') {
    throw new InvalidArgumentError("network egressProxy must be an object with a string 'address' (e.g. 'proxy.example.com:1080').");
  }
  const { address, username, password } = egressProxy;
  return { address, ...(username != null ? { username } : {}), ...(password != null ? { password } : {}) };
}

/** The egress part both bodies share (unset options left out). */
function egressBody(network, ctx) {
  const rules = network.rules instanceof Map ? network.rules : new Map(Object.entries(network.rules ?? {}));
  const allowOut = resolveSelector(network.allowOut, rules);
  const denyOut = resolveSelector(network.denyOut, rules);
  return {
    ...(allowOut !== undefined ? { allowOut } : {}),
    ...(denyOut !== undefined ? { denyOut } : {}),
    ...(network.egressProxy != null ? { egressProxy: egressProxyBody(network.egressProxy) } : {}),
    ...(network.rules !== undefined ? { rules: rulesBody(rules, ctx) } : {}),
  };
}

const given = (network, keys) => Object.fromEntries(keys.filter((key) => network[key] !== undefined).map((key) => [key, network[key]]));

/** `iam` of `Sandbox.create`: the tokens with their `audience` and `tokenType`, or nothing. */
export function iamBody(iam) {
  const tokens = {};
  for (const [name, token] of Object.entries(iam?.tokens ?? {})) {
    if (!token) continue;
    if (typeof token.audience !== 'string' || typeof token.tokenType !== 'string') {
      throw new InvalidArgumentError(`iam token '${name}' must have string 'audience' and 'tokenType' properties.`);
    }
    validateTokenName(name);
    tokens[name] = { audience: token.audience, tokenType: token.tokenType };
  }
  return Object.keys(tokens).length === 0 ? undefined : { tokens };
}

/** `network` of `Sandbox.create`; transforms may reference only the tokens of `iam`. */
export function createNetworkBody(network, iam) {
  if (!network) return undefined;
  const ctx = transformContext(Object.keys(iam?.tokens ?? {}), true);
  return { ...egressBody(network, ctx), ...given(network, ['allowPublicTraffic', 'maskRequestHost', 'httpsPorts']) };
}

/** The `PUT /sandboxes/{id}/network` body of `updateNetwork`. */
export function updateNetworkBody(network) {
  const body = egressBody(network, transformContext([], false));
  return network.allowInternetAccess !== undefined ? { ...body, allow_internet_access: network.allowInternetAccess } : body;
}

/** `getInfo`'s `network` in the official shape: the known fields, the proxy without its password. */
export function infoNetwork(network) {
  const proxy = network.egressProxy;
  return {
    allowOut: network.allowOut,
    denyOut: network.denyOut,
    rules: network.rules ?? undefined,
    egressProxy: proxy ? { address: proxy.address, ...(proxy.username !== undefined ? { username: proxy.username } : {}) } : undefined,
    allowPublicTraffic: network.allowPublicTraffic,
    maskRequestHost: network.maskRequestHost,
    httpsPorts: network.httpsPorts,
  };
}
