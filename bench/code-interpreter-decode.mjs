// How fast `runCode` takes in the /execute stream, with no kernel in the way: a loopback HTTP
// server answers every POST /execute with the same synthetic JSON lines, and the official
// `@e2b/code-interpreter` and `e2b-wasm/code-interpreter` (pkg/) each read it 3 times (best
// kept). It measures the client's line splitting and decoding alone (docs/code-interpreter.md,
// "the SDK entry", has the numbers and the choice they made). Not part of `npm run bench`.
//
//   node bench/code-interpreter-decode.mjs
import { createServer } from 'node:http';

import * as official from '@e2b/code-interpreter';
import * as ours from '../pkg/code-interpreter-node.js';

const MiB = 1 << 20;
const CHUNK = 64 * 1024;
const line = (msg) => `${JSON.stringify(msg)}\n`;
/** `text` cut into CHUNK-sized pieces, as a socket would deliver it. */
const chunked = (text) => {
  const bytes = Buffer.from(text);
  const chunks = [];
  for (let at = 0; at < bytes.length; at += CHUNK) chunks.push(bytes.subarray(at, at + CHUNK));
  return chunks;
};
const workloads = {
  // 64 MiB of stdout in 1 KiB lines (ipykernel's chunks of a print flood).
  'stdout 64 MiB, 1 KiB lines': () => {
    const one = line({ type: 'stdout', text: `${'x'.repeat(1000)}\n`, timestamp: '2026-12-03T12:00:00.000000Z' });
    const block = Buffer.from(one.repeat(Math.floor(CHUNK / one.length)));
    return Array(Math.ceil((64 * MiB) / block.length)).fill(block);
  },
  // One 32 MiB result line (a large PNG).
  'one 32 MiB result line': () => chunked(line({ type: 'result', png: 'A'.repeat(32 * MiB), is_main_result: false })),
};

for (const [name, make] of Object.entries(workloads)) {
  const chunks = make();
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const server = createServer(async (req, res) => {
    for await (const _ of req); // the request body, unread
    res.writeHead(200, { 'Content-Type': 'application/json' });
    for (const chunk of chunks) if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
    res.end(line({ type: 'end_of_execution' }));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const sandboxUrl = `http://127.0.0.1:${server.address().port}`;
  for (const [label, sdk] of [['@e2b/code-interpreter', official], ['e2b-wasm/code-interpreter', ours]]) {
    const sbx = new sdk.Sandbox({ sandboxId: 'bench', envdVersion: '0.2.0', sandboxUrl, debug: true });
    let best = Infinity;
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      await sbx.runCode('', { timeoutMs: 0, onStdout: () => {} });
      best = Math.min(best, performance.now() - started);
    }
    console.log(`${name.padEnd(28)} ${label.padEnd(26)} ${best.toFixed(0).padStart(6)} ms  ${((total / MiB / best) * 1000).toFixed(0).padStart(4)} MiB/s`);
  }
  server.close();
}
