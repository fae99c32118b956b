// e2b-wasm against the official `e2b` package and hand-written `fetch` (the practical limit on
// loopback), in one process against one sandboxd: small-operation latency, streamed command
// output (and its rate against our own download stream's), 256 MiB file transfers, PTY
// keystroke echo, create + kill, 32 commands at once, cold start, package size and the wasm's
// linear-memory high-water mark. The same SDK built with the `json-codec` feature
// (pkg-json/, `npm run build:json`) runs the codec-sensitive workloads next to the default
// (binary protobuf) build.
//
//   node bench/sdk.bench.mjs [--samples 200] [--mib 256] [--only small,output,transfer,pty,concurrent,create,cold,size]
//
// `--only` runs just those sections (while iterating) and only prints their table. A whole run
// writes bench/results/sdk.json (rows for the final table, see lib.mjs, and the codec comparison).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

import * as esbuild from 'esbuild';
import * as official from 'e2b';
import * as ours from '../pkg/node.js';
import { initSync } from '../pkg/e2b_wasm.js';
import { startSandboxdForSdk } from '../tests/helpers/sandboxd.mjs';
import { MiB, codecTable, formatTable, mbps, percentile, ptyTerminal, round, row, takingTurns, timed } from './lib.mjs';

const SECTIONS = ['small', 'output', 'transfer', 'pty', 'concurrent', 'create', 'cold', 'size'];
const { values } = parseArgs({
  options: {
    samples: { type: 'string', default: '200' },
    mib: { type: 'string', default: '256' },
    only: { type: 'string', default: SECTIONS.join(',') },
  },
});
const only = values.only.split(',');
const unknown = only.filter((s) => !SECTIONS.includes(s));
if (unknown.length) throw new Error(`--only: unknown section(s) ${unknown.join(', ')}; known: ${SECTIONS.join(', ')}`);
const want = (section) => only.includes(section);
const jsonPkg = new URL('../pkg-json/', import.meta.url);
if (!existsSync(new URL('node.js', jsonPkg))) {
  throw new Error('bench: needs pkg-json/, the JSON-codec build: run `npm run build:json`');
}
const oursJson = await import(new URL('node.js', jsonPkg).href);
const SAMPLES = Number(values.samples);
const SIZE = Number(values.mib) * MiB;
const ROUNDS = 5; // transfers and streams: the median of five runs (three spread too widely)
const CONCURRENT = 32;
const CREATE_KILL_SAMPLES = 40;
// Command output through onStdout should reach this share of the download stream's rate of
// the same run (issue 19): the server and the runtime's fetch are the same, only the framing,
// decoding and callbacks differ.
const OUTPUT_OVER_DOWNLOAD = 0.6;
// A small call's p50 over a hand-written fetch of the same request (issue 19).
const SMALL_OVER_RAW = 1.1;
// PTY keystroke echo: the p50 a typist would not notice.
const ECHO_P50_MAX_MS = 5;
const repo = fileURLToPath(new URL('..', import.meta.url));
const { memory } = initSync();
const log = (...a) => console.error('bench:', ...a);

const median = (xs) => percentile(xs, 50);
/** The median ms of each of `fns` (by name) over `rounds` turns (see `takingTurns`). */
async function medianMs(fns, { rounds = ROUNDS, warmup = 0 } = {}) {
  const ms = await takingTurns(fns, { rounds, warmup });
  return Object.fromEntries(Object.entries(ms).map(([name, xs]) => [name, median(xs)]));
}

// --- Raw fetch: what the SDKs do, written by hand (Connect JSON for envd's process service,
// plain GET/POST for /files), with the official SDK's sandbox for URL and token.
function rawEnvd(sbx) {
  const headers = {
    'E2b-Sandbox-Id': sbx.sandboxId,
    'E2b-Sandbox-Port': '49983',
    Authorization: `Basic ${btoa('user:')}`,
    ...(sbx.envdAccessToken ? { 'X-Access-Token': sbx.envdAccessToken } : {}),
  };
  const base = sbx.envdApiUrl;
  const filesUrl = (path) => `${base}/files?path=${encodeURIComponent(path)}&username=user`;
  return {
    /** Runs `cmd` through Connect's server stream; calls onStdout with each decoded chunk's size. */
    async run(cmd, onStdout = () => {}) {
      const message = Buffer.from(JSON.stringify({ process: { cmd: '/bin/bash', args: ['-l', '-c', cmd], envs: {} } }));
      const body = Buffer.alloc(5 + message.length);
      body.writeUInt32BE(message.length, 1);
      message.copy(body, 5);
      const res = await fetch(`${base}/process.Process/Start`, {
        method: 'POST',
        headers: { ...headers, 'Content-Type': 'application/connect+json', 'Connect-Protocol-Version': '1' },
        body,
      });
      if (!res.ok) throw new Error(`raw run: ${res.status}`);
      let pending = Buffer.alloc(0);
      let exitCode = null;
      for await (const chunk of res.body) {
        pending = pending.length ? Buffer.concat([pending, chunk]) : Buffer.from(chunk);
        while (pending.length >= 5) {
          const len = pending.readUInt32BE(1);
          if (pending.length < 5 + len) break;
          const flags = pending[0];
          const json = JSON.parse(pending.subarray(5, 5 + len).toString('utf8'));
          pending = pending.subarray(5 + len);
          if (flags & 2) {
            if (json.error) throw new Error(`raw run: ${json.error.message}`);
            continue;
          }
          const event = json.event ?? {};
          if (event.data?.stdout) onStdout(Buffer.from(event.data.stdout, 'base64').length);
          if (event.end) exitCode = event.end.exitCode ?? 0;
        }
      }
      if (exitCode !== 0) throw new Error(`raw run: exit ${exitCode}`);
    },
    async exists(path) {
      return (await fetch(`${base}/filesystem.Filesystem/Stat`, {
        method: 'POST',
        headers: { ...headers, 'Content-Type': 'application/json' },
        body: JSON.stringify({ path }),
      }).then((r) => r.arrayBuffer().then(() => r.status))) === 200;
    },
    async list(path) {
      const r = await fetch(`${base}/filesystem.Filesystem/ListDir`, {
        method: 'POST',
        headers: { ...headers, 'Content-Type': 'application/json' },
        body: JSON.stringify({ path, depth: 1 }),
      });
      return (await r.json()).entries;
    },
    async write(path, data) {
      const r = await fetch(filesUrl(path), {
        method: 'POST',
        headers: { ...headers, 'Content-Type': 'application/octet-stream' },
        body: data,
        ...(data instanceof ReadableStream ? { duplex: 'half' } : {}),
      });
      await r.arrayBuffer();
      if (!r.ok) throw new Error(`raw write: ${r.status}`);
    },
    async read(path, format) {
      const r = await fetch(filesUrl(path), { headers: { ...headers, 'Accept-Encoding': 'identity' } });
      if (!r.ok) throw new Error(`raw read: ${r.status}`);
      if (format === 'bytes') return new Uint8Array(await r.arrayBuffer());
      if (format === 'text') return r.text();
      return r.body;
    },
  };
}

async function drain(stream) {
  let n = 0;
  for await (const chunk of stream) n += chunk.length;
  return n;
}

function sizeOf(bytes) {
  return round(gzipSync(bytes, { level: 9 }).length / 1024, 1);
}

// 6. Cold start: a fresh Node process imports the package (the wasm is instantiated by then) and
// makes its first call (`Sandbox.getInfo`): median of 7 processes.
function coldStart(entry, env, sandboxId) {
  const script = `
    const t0 = performance.now();
    const { Sandbox } = await import(${JSON.stringify(entry)});
    const t1 = performance.now();
    await Sandbox.getInfo(${JSON.stringify(sandboxId)});
    console.log(JSON.stringify({ importMs: t1 - t0, firstCallMs: performance.now() - t0 }));`;
  const runs = [];
  for (let i = 0; i < 7; i++) {
    const p = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, ...env }, encoding: 'utf8' });
    if (p.status !== 0) throw new Error(`cold start of ${entry}: ${p.stderr}`);
    runs.push(JSON.parse(p.stdout));
  }
  return {
    importMs: round(median(runs.map((r) => r.importMs)), 1),
    firstCallMs: round(median(runs.map((r) => r.firstCallMs)), 1),
  };
}

const sd = await startSandboxdForSdk();
const rows = [];
// Rows of the JSON-codec build (ours = that build), put after the main ones.
const codecRows = [];
// The codec comparison: each measure for the protobuf (default) and JSON builds.
const codec = {};
const memoryMiB = () => round(memory.buffer.byteLength / MiB, 1);
const memoryAtStart = memoryMiB();
let memoryAfterStream = null;
let memoryAfterFiles = null;
// Ours through onStdout, for the ratio to the download stream (set by section 2).
let outputMBps = null;
// What command output costs the client that a download stream does not, with no I/O at all:
// decoding the bytes to text and keeping the text (`result.stdout`, which the official API
// returns whole), in envd's 256 KiB output pieces (set by section 2).
let keepTextMBps = null;

/** The ms to decode `size` bytes of `text`'s 256 KiB pieces and keep them as one string. */
function decodeAndKeepMs(text, size) {
  const piece = new TextEncoder().encode(text.repeat(Math.ceil(256 * 1024 / text.length)).slice(0, 256 * 1024));
  const decoder = new TextDecoder();
  const t0 = performance.now();
  let kept = '';
  for (let n = 0; n < size; n += piece.length) kept = kept.concat(decoder.decode(piece));
  const ms = performance.now() - t0;
  if (kept.length < size) throw new Error(`kept ${kept.length} of ${size} characters`);
  return ms;
}
const sdks = { ours, json: oursJson, official };
const sbxs = {};
try {
  for (const [name, sdk] of Object.entries(sdks)) sbxs[name] = await sdk.Sandbox.create({ timeoutMs: 3_600_000 });
  const raw = rawEnvd(sbxs.official);
  const kib = new Uint8Array(1024).fill(97);
  for (const sbx of Object.values(sbxs)) await sbx.files.write('/tmp/small.txt', kib);
  const jsonRow = (name, unit, better, json, values) => {
    codec[name] = { unit, better, proto: values.ours, json, jsonOverProto: round(json / values.ours, 2) };
    codecRows.push(row(`${name} (json codec)`, unit, better, { ...values, ours: json }));
  };

  // 1. Sequential small operations (the JSON-codec build too where the codec is on the wire).
  const small = {
    "commands.run('true')": { sdk: (s) => s.commands.run('true'), raw: () => raw.run('true'), codec: true },
    'files.exists': { sdk: (s) => s.files.exists('/tmp/small.txt'), raw: () => raw.exists('/tmp/small.txt') },
    'files.write 1 KiB': { sdk: (s) => s.files.write('/tmp/w.txt', kib), raw: () => raw.write('/tmp/w.txt', kib) },
    'files.read 1 KiB': { sdk: (s) => s.files.read('/tmp/small.txt'), raw: () => raw.read('/tmp/small.txt', 'text') },
    // JSON in both builds (files.js), so not part of the codec comparison.
    'files.list': { sdk: (s) => s.files.list('/usr'), raw: () => raw.list('/usr') },
  };
  for (const [op, fns] of Object.entries(want('small') ? small : {})) {
    log(op);
    const clients = { ours: () => fns.sdk(sbxs.ours), official: () => fns.sdk(sbxs.official), raw: fns.raw };
    if (fns.codec) clients.json = () => fns.sdk(sbxs.json);
    const ms = await takingTurns(clients, { rounds: SAMPLES, warmup: 20 });
    for (const p of [50, 99]) {
      const at = (name) => round(percentile(ms[name], p), 3);
      const values = { ours: at('ours'), official: at('official'), raw: at('raw') };
      rows.push(row(`${op} p${p}`, 'ms', 'lower', values, { against: 'official', ratio: 1.0 }));
      // Issue 19: the SDK should cost about nothing next to the request itself.
      if (p === 50) rows.push(row(`${op} p50 vs raw`, 'ms', 'lower', values, { against: 'raw', ratio: SMALL_OVER_RAW }));
      if (fns.codec && p === 50) jsonRow(`${op} p${p}`, 'ms', 'lower', at('json'), values);
    }
  }

  // 2. Streaming command output consumed through onStdout.
  if (want('output')) {
    const line = '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde';
    const bigOutput = `yes ${line} | head -c ${SIZE}`;
    const stream = (name, run) => async () => {
      let n = 0;
      await run((len) => { n += len; });
      if (n !== SIZE) throw new Error(`${name} streamed ${n} bytes`);
    };
    const fns = Object.fromEntries(Object.entries(sbxs).map(([name, sbx]) => [name,
      stream(name, (count) => sbx.commands.run(bigOutput, { timeoutMs: 0, onStdout: (d) => count(d.length) }))]));
    fns.raw = stream('raw', (count) => raw.run(bigOutput, count));
    log('stream');
    const streamed = await medianMs(fns);
    memoryAfterStream = memoryMiB();
    const name = `command output ${SIZE / MiB} MiB (onStdout)`;
    const values = { ours: mbps(SIZE, streamed.ours), official: mbps(SIZE, streamed.official), raw: mbps(SIZE, streamed.raw) };
    outputMBps = values.ours;
    rows.push(row(name, 'MB/s', 'higher', values, { against: 'official', ratio: 1.5 }));
    jsonRow(name, 'MB/s', 'higher', mbps(SIZE, streamed.json), values);
    const keepMs = [];
    for (let i = 0; i < ROUNDS; i++) keepMs.push(decodeAndKeepMs(`${line}\n`, SIZE));
    keepTextMBps = mbps(SIZE, median(keepMs));
    rows.push(row(`decode ${SIZE / MiB} MiB to text and keep it, no I/O (runtime alone)`, 'MB/s', 'higher', { ours: keepTextMBps }));
  }

  // 3. File transfer, 256 MiB: upload bytes and stream, download bytes and stream.
  if (want('transfer')) {
    const payload = new Uint8Array(SIZE);
    for (let i = 0; i < SIZE; i += 65536) payload.fill(i & 0xff, i, i + 65536);
    const asStream = () => {
      let offset = 0;
      return new ReadableStream({
        pull(c) {
          if (offset >= SIZE) return c.close();
          c.enqueue(payload.slice(offset, offset + MiB));
          offset += MiB;
        },
      });
    };
    for (const name of ['ours', 'official']) await sbxs[name].files.write('/tmp/big.bin', payload);
    const transfers = {
      'upload bytes': {
        sdk: (s) => s.files.write('/tmp/up.bin', payload),
        raw: () => raw.write('/tmp/up.bin', payload),
      },
      'upload stream': {
        sdk: (s) => s.files.write('/tmp/up.bin', asStream()),
        raw: () => raw.write('/tmp/up.bin', asStream()),
      },
      'download bytes': {
        sdk: async (s) => { if ((await s.files.read('/tmp/big.bin', { format: 'bytes' })).length !== SIZE) throw new Error('short'); },
        raw: async () => { if ((await raw.read('/tmp/big.bin', 'bytes')).length !== SIZE) throw new Error('short'); },
      },
      'download stream': {
        sdk: async (s) => { if ((await drain(await s.files.read('/tmp/big.bin', { format: 'stream' }))) !== SIZE) throw new Error('short'); },
        raw: async () => { if ((await drain(await raw.read('/tmp/big.bin', 'stream'))) !== SIZE) throw new Error('short'); },
      },
    };
    for (const [op, fns] of Object.entries(transfers)) {
      log(op);
      const ms = await medianMs({ ours: () => fns.sdk(sbxs.ours), official: () => fns.sdk(sbxs.official), raw: fns.raw });
      const v = Object.fromEntries(Object.entries(ms).map(([k, t]) => [k, mbps(SIZE, t)]));
      rows.push(row(`${op} ${SIZE / MiB} MiB`, 'MB/s', 'higher', v, { against: 'official', ratio: 1.0 }));
      rows.push(row(`${op} ${SIZE / MiB} MiB vs raw`, 'MB/s', 'higher', v, { against: 'raw', ratio: 0.8 }));
      if (op === 'download stream' && outputMBps !== null) {
        rows.push(row('command output ÷ download stream (ours)', '×', 'higher', { ours: round(outputMBps / v.ours, 2) },
          { against: 'absolute', min: OUTPUT_OVER_DOWNLOAD }));
        // The ratio if output cost only the download's work plus decoding and keeping the text.
        const ceiling = 1 / (1 / v.ours + 1 / keepTextMBps);
        rows.push(row('  … its ceiling: download + decode-and-keep in turn', '×', 'higher', { ours: round(ceiling / v.ours, 2) }));
      }
    }
    memoryAfterFiles = memoryMiB();
    // 8. Memory only grows, so the last reading is the high-water mark of 2 and 3.
    rows.push(row('wasm memory high-water (2, 3)', 'MiB', 'lower', { ours: memoryAfterFiles },
      { against: 'absolute', max: 16 }));
  }

  // 9. PTY keystroke echo: one byte from `sendInput` until it comes back through `onData`, in
  // a terminal where `cat` (raw mode, no tty echo) writes back each byte as it reads it, as a
  // shell's line editor does.
  if (want('pty')) {
    log('pty echo');
    const terms = { ours: await ptyTerminal(sbxs.ours), official: await ptyTerminal(sbxs.official) };
    const echoMs = await takingTurns({ ours: terms.ours.keystroke, official: terms.official.keystroke },
      { rounds: SAMPLES, warmup: 20 });
    for (const term of Object.values(terms)) await term.kill();
    for (const p of [50, 99]) {
      const at = (name) => round(percentile(echoMs[name], p), 3);
      rows.push(row(`PTY keystroke echo p${p}`, 'ms', 'lower', { ours: at('ours'), official: at('official') },
        { against: 'official', ratio: 1.0 }));
    }
    rows.push(row('PTY keystroke echo p50 (ours)', 'ms', 'lower', { ours: round(percentile(echoMs.ours, 50), 3) },
      { against: 'absolute', max: ECHO_P50_MAX_MS }));
  }

  // 5. Concurrency: 32 commands in flight at once, ten rounds.
  if (want('concurrent')) {
    const concurrent = async (fn) => {
      await Promise.all(Array.from({ length: CONCURRENT }, fn));
      const [ms] = await timed(async () => {
        for (let r = 0; r < 10; r++) await Promise.all(Array.from({ length: CONCURRENT }, fn));
      });
      return round((10 * CONCURRENT) / (ms / 1000), 0);
    };
    log('concurrency');
    rows.push(row(`${CONCURRENT} commands in flight`, 'cmd/s', 'higher', {
      ours: await concurrent(() => sbxs.ours.commands.run('true')),
      official: await concurrent(() => sbxs.official.commands.run('true')),
      raw: await concurrent(() => raw.run('true')),
    }, { against: 'official', ratio: 1.0 }));
  }

  // 4. Sandbox create + kill.
  if (want('create')) {
    log('create + kill');
    const api = { 'X-API-Key': sd.apiKey, 'Content-Type': 'application/json' };
    const rawSandbox = async () => {
      const r = await fetch(`${sd.apiUrl}/sandboxes`, { method: 'POST', headers: api, body: JSON.stringify({ templateID: 'base' }) });
      const { sandboxID } = await r.json();
      return { kill: async () => { await (await fetch(`${sd.apiUrl}/sandboxes/${sandboxID}`, { method: 'DELETE', headers: api })).arrayBuffer(); } };
    };
    const createKill = (create) => async () => { await (await create()).kill(); };
    const ms = await medianMs({
      ours: createKill(() => ours.Sandbox.create()),
      official: createKill(() => official.Sandbox.create()),
      raw: createKill(rawSandbox),
    }, { rounds: CREATE_KILL_SAMPLES, warmup: 2 });
    const p50 = Object.fromEntries(Object.entries(ms).map(([name, t]) => [name, round(t, 1)]));
    rows.push(row(`Sandbox create + kill p50`, 'ms', 'lower', p50, { against: 'official', ratio: 1.0 }));
  }

  // 6. Cold start in fresh Node processes.
  if (want('cold')) {
    log('cold start');
    const ourCold = coldStart(new URL('../pkg/node.js', import.meta.url).href, sd.env, sbxs.ours.sandboxId);
    const offCold = coldStart('e2b', sd.env, sbxs.ours.sandboxId);
    rows.push(row('cold start: import (wasm ready)', 'ms', 'lower', { ours: ourCold.importMs, official: offCold.importMs },
      { against: 'absolute', max: 20 }));
    rows.push(row('cold start: import + first call', 'ms', 'lower', { ours: ourCold.firstCallMs, official: offCold.firstCallMs }));
  }

  // 7. Size: our wasm + JS glue (as `npm run build` counts it) against an esbuild browser bundle
  // of the official SDK, both minified and gzipped at level 9.
  if (want('size')) {
    const sizes = (dir) => JSON.parse(readFileSync(new URL(`../${dir}/sizes.json`, import.meta.url), 'utf8'));
    const [protoSizes, jsonSizes] = [sizes('pkg'), sizes('pkg-json')];
    const bundle = await esbuild.build({
      stdin: { contents: "export { Sandbox } from 'e2b';", resolveDir: repo, loader: 'js' },
      bundle: true, minify: true, platform: 'browser', format: 'esm', write: false, external: ['node:*'], logLevel: 'silent',
    });
    const total = (s) => round((s.wasm.gzip + s.glue.gzip) / 1024, 1);
    const values = { ours: total(protoSizes), official: sizeOf(bundle.outputFiles[0].contents) };
    rows.push(row('size, min+gzip', 'KiB', 'lower', values, { against: 'official', ratio: 0.5 }));
    jsonRow('size, min+gzip', 'KiB', 'lower', total(jsonSizes), values);
    const wasm = (s) => round(s.wasm.gzip / 1024, 1);
    codec['wasm, gzip'] = { unit: 'KiB', better: 'lower', proto: wasm(protoSizes), json: wasm(jsonSizes),
      jsonOverProto: round(jsonSizes.wasm.gzip / protoSizes.wasm.gzip, 2) };
  }

  const memoryMiBs = { atStart: memoryAtStart, afterStream: memoryAfterStream, afterFiles: memoryAfterFiles };
  const result = { memoryMiB: memoryMiBs, rows: [...rows, ...codecRows], codec };
  if (only.length < SECTIONS.length) {
    // A partial run only prints: bench/results/sdk.json always holds a whole run.
    console.log(`${formatTable(result.rows)}\n\n${codecTable(codec)}`);
  } else {
    mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
    writeFileSync(new URL('./results/sdk.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
  }
  log('done');
} finally {
  await Promise.all(Object.values(sbxs).map((s) => s.kill().catch(() => {})));
  await sd.stop();
}
