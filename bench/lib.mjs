// Shared by the benchmarks: timing, percentiles, the machine description and the final table.
import { readFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';

export const MiB = 1024 * 1024;

export const percentile = (xs, p) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

export const round = (x, digits = 2) => +x.toFixed(digits);

/** p50 and p95 (0.1 ms) of `xs` and how many there are, as the sandboxd benches report them. */
export const summary = (xs) => ({ p50: round(percentile(xs, 50), 1), p95: round(percentile(xs, 95), 1), n: xs.length });

/** Milliseconds `fn` takes, and its value. */
export async function timed(fn) {
  const start = performance.now();
  const value = await fn();
  return [performance.now() - start, value];
}

/**
 * The ms of `rounds` calls of each of `fns` (by name: `{ name: [ms, …] }`), after `warmup`
 * unmeasured ones. The clients take turns in a rotating order, so that drift in the machine's
 * load (another process, the kernel writing back files just uploaded) hits them alike. A call
 * that times itself (what matters ends before it returns) resolves with `{ ms }`, its sample.
 */
export async function takingTurns(fns, { rounds, warmup = 0 }) {
  const names = Object.keys(fns);
  const ms = Object.fromEntries(names.map((name) => [name, []]));
  for (let i = 0; i < warmup + rounds; i++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(i + k) % names.length];
      const [t, value] = await timed(fns[name]);
      if (i >= warmup) ms[name].push(typeof value?.ms === 'number' ? value.ms : t);
    }
  }
  return ms;
}

/**
 * A terminal on `sbx` (either SDK) running `cat` in raw mode with no tty echo, which writes
 * back each byte as it reads it, as a shell's line editor does; `keystroke()` sends one byte and
 * resolves with `{ ms }` from `sendInput` until it comes back through `onData`.
 */
export async function ptyTerminal(sbx) {
  const decoder = new TextDecoder();
  let seen = '';
  let waiting = null;
  const term = await sbx.pty.create({
    cols: 80, rows: 24, timeoutMs: 0,
    onData: (d) => {
      seen += decoder.decode(d, { stream: true });
      if (waiting && seen.includes(waiting.text)) waiting.resolve(performance.now());
    },
  });
  const expect = (text) => new Promise((resolve) => { waiting = { text, resolve }; });
  // The command line's own echo shows `RE""ADY`; only the command's output is `READY`.
  const ready = expect('READY');
  await sbx.pty.sendInput(term.pid, new TextEncoder().encode('stty raw -echo; echo RE""ADY; exec cat\n'));
  await ready;
  let i = 0;
  const keystroke = async () => {
    const key = String.fromCharCode(97 + (i++ % 26));
    seen = '';
    const echoed = expect(key);
    const start = performance.now();
    await sbx.pty.sendInput(term.pid, new TextEncoder().encode(key));
    // The echo may come back before `sendInput` resolves: its arrival is the sample.
    return { ms: (await echoed) - start };
  };
  return { keystroke, kill: () => term.kill() };
}

/** MB/s (10^6 bytes per second) of moving `bytes` in `ms`. */
export const mbps = (bytes, ms) => round(bytes / 1e6 / (ms / 1000), 1);

export function machine() {
  const cpu = cpus();
  let kernel = release();
  try {
    kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {}
  return {
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    ramGiB: round(totalmem() / 1024 ** 3, 1),
    node: process.version,
    kernel,
  };
}

/**
 * One row of the final table. `better` says which direction wins ('higher' for throughput,
 * 'lower' for latency, time and size); `target` is `{ against: 'official'|'raw'|'absolute',
 * ratio|max|min }` from the targets (`min` for an absolute floor), or absent.
 */
export function row(name, unit, better, values, target) {
  const { ours, official, raw } = values;
  const ratio = (other) => (other && typeof ours === 'number' ? round(ours / other, 2) : null);
  const r = { name, unit, better, ours: ours ?? null, official: official ?? null, raw: raw ?? null,
    oursOverOfficial: ratio(official), oursOverRaw: ratio(raw), target: target ?? null, met: null };
  if (target) {
    if (target.against === 'absolute') r.met = target.min === undefined ? ours <= target.max : ours >= target.min;
    else {
      const got = target.against === 'raw' ? r.oursOverRaw : r.oursOverOfficial;
      // For "lower is better" measures the target is a ceiling on ours ÷ other.
      r.met = got === null ? null : better === 'higher' ? got >= target.ratio : got <= target.ratio;
    }
  }
  return r;
}

export function targetText(r) {
  if (!r.target) return '';
  const { against, ratio, max, min } = r.target;
  if (against === 'absolute') return min === undefined ? `≤ ${max} ${r.unit}` : `≥ ${min} ${r.unit}`;
  return `${r.better === 'higher' ? '≥' : '≤'} ${ratio} × ${against}`;
}

const HEADER = ['workload', 'unit', 'e2b-wasm', 'e2b', 'raw fetch', 'ours÷e2b', 'ours÷raw', 'target', 'met'];

/** A row's cells, as both tables show them; `missed` marks a missed target. */
function cells(r, missed = 'no') {
  const show = (x) => (x === null || x === undefined ? '–' : String(x));
  return [r.name, r.unit, show(r.ours), show(r.official), show(r.raw), show(r.oursOverOfficial),
    show(r.oursOverRaw), targetText(r), r.met === null ? '' : r.met ? 'yes' : missed];
}

/** Rows of cells as plain text, each column as wide as its widest cell. */
function aligned(table) {
  const widths = table[0].map((_, i) => Math.max(...table.map((c) => c[i].length)));
  return table.map((c) => c.map((s, i) => s.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}

export function formatTable(rows) {
  return aligned([HEADER, ...rows.map((r) => cells(r, 'NO'))]);
}

/** The same table as Markdown, for the README. */
export function markdownTable(rows) {
  const line = (c) => `| ${c.join(' | ')} |`;
  return [line(HEADER), '|---|---|---:|---:|---:|---:|---:|---|---|', ...rows.map((r) => line(cells(r)))].join('\n');
}

/** The codec comparison (`{ measure: { unit, better, proto, json, jsonOverProto } }`) as text. */
export function codecTable(codec) {
  const table = [['measure', 'unit', 'protobuf', 'json', 'json÷protobuf', 'better']];
  for (const [name, c] of Object.entries(codec)) {
    // A ratio that rounds to 1 is a tie: run-to-run noise is larger than that.
    const winner = c.jsonOverProto === 1 ? 'same' : (c.better === 'higher') === (c.proto > c.json) ? 'protobuf' : 'json';
    table.push([name, c.unit, String(c.proto), String(c.json), String(c.jsonOverProto), winner]);
  }
  return aligned(table);
}
