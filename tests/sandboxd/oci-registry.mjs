// A small OCI distribution registry for tests, served on 127.0.0.1 (port 0), and the tar
// writer its images are made with: template builds that say `fromImage('<this>/app:v1')` pull
// from it, so no test needs the internet. It serves what the pull side of the distribution spec
// needs: `GET /v2/`, manifests by tag or digest (GET and HEAD, with `Docker-Content-Digest`),
// blobs, and optional HTTP basic auth for all of it, as a registry with an htpasswd file does (a
// `401` with a `Basic` challenge when the credentials are missing or wrong). Layers are written entry by entry, so a test can make
// archives no well-behaved tar tool would (`../` paths, links out, device nodes).

import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { gzipSync } from 'node:zlib';

const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';
const LAYER_TYPE = 'application/vnd.oci.image.layer.v1.tar+gzip';
const CONFIG_TYPE = 'application/vnd.oci.image.config.v1+json';

const sha256 = (bytes) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

const TYPE_FLAGS = { file: '0', hardlink: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' };

/**
 * A tar archive of `entries`: { path, type ('file' | 'dir' | 'symlink' | 'hardlink' | 'char' |
 * 'block' | 'fifo'), content (Buffer or string, files), link (symlink and hardlink target), mode,
 * uid, gid, major, minor }. Paths are written as given (up to 100 bytes).
 */
export function tarOf(entries) {
  const blocks = [];
  for (const entry of entries) {
    const content = entry.type === 'file' ? Buffer.from(entry.content ?? '') : Buffer.alloc(0);
    const header = Buffer.alloc(512);
    const field = (offset, length, text) => header.write(text, offset, length, 'utf8');
    const octal = (offset, length, value) => field(offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
    if (Buffer.byteLength(entry.path) > 100) throw new Error(`path too long for this writer: ${entry.path}`);
    field(0, 100, entry.path);
    octal(100, 8, entry.mode ?? (entry.type === 'dir' ? 0o755 : 0o644));
    octal(108, 8, entry.uid ?? 0);
    octal(116, 8, entry.gid ?? 0);
    octal(124, 12, content.length);
    octal(136, 12, 1_700_000_000);
    field(156, 1, TYPE_FLAGS[entry.type]);
    field(157, 100, entry.link ?? '');
    field(257, 8, 'ustar\x0000');
    octal(329, 8, entry.major ?? 0);
    octal(337, 8, entry.minor ?? 0);
    // The checksum is taken with its own field as spaces.
    header.fill(' ', 148, 156);
    let sum = 0;
    for (const byte of header) sum += byte;
    field(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
    blocks.push(header, content, Buffer.alloc((512 - (content.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/**
 * Starts the registry. `auth`: { username, password } it requires, if any. Returns { host ('127.0.0.1:<port>'), push(name, tag,
 * image), requests (paths asked for), close() }.
 */
export async function serveRegistry({ auth } = {}) {
  const blobs = new Map();
  const manifests = new Map();
  const requests = [];

  const expected = auth && `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;

  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const send = (status, headers = {}, body = '') => {
      res.writeHead(status, { 'content-length': Buffer.byteLength(body), ...headers });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const deny = () => send(401, { 'www-authenticate': 'Basic realm="sandboxd-test"' }, '{"errors":[{"code":"UNAUTHORIZED"}]}');
    if (expected && req.headers.authorization !== expected) return deny();
    const path = new URL(req.url, 'http://registry').pathname;
    if (path === '/v2/' || path === '/v2') return send(200, { 'docker-distribution-api-version': 'registry/2.0' }, '{}');
    const match = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(path);
    if (!match || !['GET', 'HEAD'].includes(req.method)) return send(404, {}, '{"errors":[{"code":"UNSUPPORTED"}]}');
    const [, name, kind, reference] = match;
    if (kind === 'manifests') {
      const manifest = manifests.get(`${name}@${reference}`) ?? manifests.get(`${name}:${reference}`);
      if (!manifest) return send(404, {}, '{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
      return send(200, { 'content-type': MANIFEST_TYPE, 'docker-content-digest': manifest.digest }, manifest.body);
    }
    const blob = blobs.get(`${name}@${reference}`);
    if (!blob) return send(404, {}, '{"errors":[{"code":"BLOB_UNKNOWN"}]}');
    return send(200, { 'content-type': 'application/octet-stream', 'docker-content-digest': reference }, blob);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    host: `127.0.0.1:${server.address().port}`,
    requests,
    /**
     * Publishes an image as `name:tag`: `layers` are tar archives (lowest first, gzipped
     * here), `config` the image config's `config` object, `architecture` its platform.
     * Returns the manifest's digest.
     */
    push(name, tag, { layers, config = {}, architecture = 'amd64' }) {
      const described = layers.map((tar) => {
        const gz = gzipSync(tar);
        const digest = sha256(gz);
        blobs.set(`${name}@${digest}`, gz);
        return { mediaType: LAYER_TYPE, digest, size: gz.length, diffId: sha256(tar) };
      });
      const configBody = Buffer.from(
        JSON.stringify({ architecture, os: 'linux', config, rootfs: { type: 'layers', diff_ids: described.map((l) => l.diffId) } }),
      );
      const configDigest = sha256(configBody);
      blobs.set(`${name}@${configDigest}`, configBody);
      const body = JSON.stringify({
        schemaVersion: 2,
        mediaType: MANIFEST_TYPE,
        config: { mediaType: CONFIG_TYPE, digest: configDigest, size: configBody.length },
        layers: described.map(({ mediaType, digest, size }) => ({ mediaType, digest, size })),
      });
      const digest = sha256(body);
      manifests.set(`${name}:${tag}`, { body, digest });
      manifests.set(`${name}@${digest}`, { body, digest });
      return digest;
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
