// The Connect protocol as envd serves it, spoken directly: both codecs, framing errors, error
// bodies, end-of-stream errors, keepalives, deadlines, client streaming over h2c, CORS, health.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { startEnvd } from '../helpers/envd.mjs';

let envd;
before(async () => {
  envd = await startEnvd();
});
after(() => envd?.stop());

const frame = (flags, payload) => {
  const bytes = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
  const out = new Uint8Array(5 + bytes.length);
  out[0] = flags;
  new DataView(out.buffer).setUint32(1, bytes.length);
  out.set(bytes, 5);
  return out;
};

/** Splits a streaming body into frames. */
function frames(body) {
  const out = [];
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  for (let i = 0; i < body.length; ) {
    const len = view.getUint32(i + 1);
    out.push({ flags: body[i], payload: body.subarray(i + 5, i + 5 + len) });
    i += 5 + len;
  }
  return out;
}

const text = (b) => new TextDecoder().decode(b);

async function call(method, body, contentType, headers = {}) {
  const r = await fetch(`${envd.url}/${method}`, {
    method: 'POST',
    headers: { 'content-type': contentType, 'connect-protocol-version': '1', ...headers },
    body,
  });
  return { status: r.status, headers: r.headers, body: new Uint8Array(await r.arrayBuffer()) };
}

test('health is 204 with an empty body', async () => {
  const r = await fetch(`${envd.url}/health`);
  assert.equal(r.status, 204);
  assert.equal(await r.text(), '');
});

test('binary protobuf Start streams proto frames and a JSON end-of-stream', async () => {
  // StartRequest{process{cmd:"/bin/bash", args:["-l","-c","echo hi; echo err >&2; exit 2"]}}
  const request = Buffer.from('CjIKCS9iaW4vYmFzaBICLWwSAi1jEh1lY2hvIGhpOyBlY2hvIGVyciA+JjI7IGV4aXQgMg==', 'base64');
  const r = await call('process.Process/Start', frame(0, request), 'application/connect+proto');
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'application/connect+proto');
  const fs = frames(r.body);
  // StartResponse{event(1){start(1){pid(1): varint}}}
  const start = fs[0].payload;
  assert.deepEqual([start[0], start[2], start[4]], [0x0a, 0x0a, 0x08]);
  assert.equal(start[1], start.length - 2);
  const hex = fs.map((f) => Buffer.from(f.payload).toString('hex'));
  assert.ok(hex.includes(Buffer.from('CgcSBQoDaGkK', 'base64').toString('hex')), 'stdout "hi\\n" frame');
  assert.ok(hex.includes(Buffer.from('CggSBhIEZXJyCg==', 'base64').toString('hex')), 'stderr "err\\n" frame');
  assert.ok(hex.includes(Buffer.from('CiQaIggEEAEaDWV4aXQgc3RhdHVzIDIiDWV4aXQgc3RhdHVzIDI=', 'base64').toString('hex')), 'end frame');
  const last = fs.at(-1);
  assert.equal(last.flags, 2);
  assert.equal(text(last.payload), '{}');
});

test('unary JSON and proto answer in the codec asked for', async () => {
  const json = await call('process.Process/List', '{}', 'application/json; charset=utf-8');
  assert.equal(json.status, 200);
  assert.equal(json.headers.get('content-type'), 'application/json');
  assert.deepEqual(JSON.parse(text(json.body)), {});
  const proto = await call('filesystem.Filesystem/Stat', new Uint8Array([0x0a, 0x01, 0x2f]), 'application/proto');
  assert.equal(proto.status, 200);
  assert.equal(proto.headers.get('content-type'), 'application/proto');
  assert.equal(proto.body[0], 0x0a); // StatResponse.entry
});

test('bad requests get the right Connect error or HTTP status', async () => {
  const invalidJson = await call('filesystem.Filesystem/Stat', '{"path": ', 'application/json');
  assert.equal(invalidJson.status, 400);
  assert.equal(JSON.parse(text(invalidJson.body)).code, 'invalid_argument');
  const wrongType = await call('filesystem.Filesystem/Stat', '{"path":"/"}', 'text/plain');
  assert.equal(wrongType.status, 415);
  const unknown = await call('filesystem.Filesystem/Nope', '{}', 'application/json');
  assert.equal(unknown.status, 404);
  const notFound = await call('process.Process/SendSignal', '{"process":{"pid":999999},"signal":"SIGNAL_SIGKILL"}', 'application/json');
  assert.equal(notFound.status, 404);
  assert.deepEqual(JSON.parse(text(notFound.body)), { code: 'not_found', message: 'process with pid 999999 not found' });
  const badSignal = await call('process.Process/SendSignal', '{"process":{"pid":1},"signal":"SIGNAL_UNSPECIFIED"}', 'application/json');
  assert.equal(JSON.parse(text(badSignal.body)).code, 'not_found');
  const noSelector = await call('process.Process/CloseStdin', '{}', 'application/json');
  assert.equal(noSelector.status, 501);
  assert.equal(JSON.parse(text(noSelector.body)).code, 'unimplemented');
  const badTimeout = await call('process.Process/List', '{}', 'application/json', { 'connect-timeout-ms': 'soon' });
  assert.equal(JSON.parse(text(badTimeout.body)).code, 'invalid_argument');
});

test('stream failures are 200 with an end-of-stream error, even before the first message', async () => {
  const endError = (r) => {
    assert.equal(r.status, 200);
    const last = frames(r.body).at(-1);
    assert.equal(last.flags, 2);
    return JSON.parse(text(last.payload)).error;
  };
  const badCwd = await call('process.Process/Start', frame(0, '{"process":{"cmd":"/bin/true","cwd":"/does/not/exist"}}'), 'application/connect+json');
  assert.deepEqual(endError(badCwd), { code: 'invalid_argument', message: "cwd '/does/not/exist' does not exist" });
  const badUser = await call('process.Process/Start', frame(0, '{"process":{"cmd":"/bin/true"}}'), 'application/connect+json', {
    authorization: 'Basic ' + Buffer.from('nobody-here:').toString('base64'),
  });
  assert.deepEqual(endError(badUser), { code: 'unauthenticated', message: "invalid username: 'nobody-here'" });
  const truncated = await call('process.Process/Start', frame(0, '{}').subarray(0, 4), 'application/connect+json');
  assert.equal(endError(truncated).code, 'invalid_argument');
  const compressed = await call('process.Process/Start', frame(1, '{}'), 'application/connect+json');
  assert.match(endError(compressed).message, /compress/);
  const huge = new Uint8Array(5);
  huge[1] = 0x7f;
  assert.equal(endError(await call('process.Process/Start', huge, 'application/connect+json')).code, 'invalid_argument');
  const missingConnect = await call('process.Process/Connect', frame(0, '{"process":{"pid":999999}}'), 'application/connect+json');
  assert.equal(endError(missingConnect).code, 'not_found');
});

test('keepalives arrive at the requested interval and the deadline ends watches', async () => {
  const r = await call('process.Process/Start', frame(0, '{"process":{"cmd":"/bin/sleep","args":["2.5"]},"stdin":false}'), 'application/connect+json', {
    'keepalive-ping-interval': '1',
  });
  const events = frames(r.body).map((f) => JSON.parse(text(f.payload)));
  assert.ok(events[0].event.start.pid > 0);
  assert.ok(events.some((e) => e.event && 'keepalive' in e.event), JSON.stringify(events));
  assert.deepEqual(events.at(-2).event.end, { exited: true, status: 'exit status 0' });
  const watch = await call('filesystem.Filesystem/WatchDir', frame(0, '{"path":"/home/user"}'), 'application/connect+json', {
    'connect-timeout-ms': '300',
  });
  const watchFrames = frames(watch.body).map((f) => JSON.parse(text(f.payload)));
  assert.deepEqual(watchFrames[0], { start: {} });
  assert.equal(watchFrames.at(-1).error.code, 'deadline_exceeded');
});

test('StreamInput over h2c delivers input in order', async () => {
  const start = await fetch(`${envd.url}/process.Process/Start`, {
    method: 'POST',
    headers: { 'content-type': 'application/connect+json' },
    body: frame(0, '{"process":{"cmd":"/bin/cat"},"stdin":true}'),
  });
  const reader = start.body.getReader();
  const first = await reader.read();
  const pid = JSON.parse(text(frames(first.value)[0].payload)).event.start.pid;
  const client = http2.connect(envd.url);
  const req = client.request({ ':method': 'POST', ':path': '/process.Process/StreamInput', 'content-type': 'application/connect+json' });
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  const done = new Promise((resolve) => req.on('end', resolve));
  req.write(frame(0, JSON.stringify({ start: { process: { pid } } })));
  for (const word of ['one ', 'two ', 'three\n']) {
    req.write(frame(0, JSON.stringify({ data: { input: { stdin: Buffer.from(word).toString('base64') } } })));
  }
  req.write(frame(0, '{"keepalive":{}}'));
  req.end();
  await done;
  client.close();
  const answer = frames(new Uint8Array(Buffer.concat(chunks)));
  assert.deepEqual(answer.map((f) => [f.flags, text(f.payload)]), [[0, '{}'], [2, '{}']]);
  let output = '';
  while (!output.includes('three')) {
    const { value } = await reader.read();
    for (const f of frames(value)) {
      const data = JSON.parse(text(f.payload)).event?.data;
      if (data?.stdout) output += Buffer.from(data.stdout, 'base64').toString();
    }
  }
  assert.equal(output, 'one two three\n');
  await call('process.Process/SendSignal', JSON.stringify({ process: { pid }, signal: 'SIGNAL_SIGKILL' }), 'application/json');
  await reader.cancel();
});

test('CORS preflight is answered before auth with envd headers', async () => {
  const r = await fetch(`${envd.url}/process.Process/Start`, {
    method: 'OPTIONS',
    headers: { origin: 'https://example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-access-token,content-type' },
  });
  assert.equal(r.status, 204);
  assert.equal(r.headers.get('access-control-allow-origin'), '*');
  assert.equal(r.headers.get('access-control-allow-headers'), 'x-access-token,content-type');
  assert.equal(r.headers.get('access-control-max-age'), '7200');
  const normal = await fetch(`${envd.url}/health`, { headers: { origin: 'https://example.com' } });
  assert.match(normal.headers.get('access-control-expose-headers'), /Grpc-Status/);
});
