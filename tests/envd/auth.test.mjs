// envd with an access token (what secure sandboxes get): token on every call, signed URLs for
// /files (valid, invalid, expired), users in signed URLs, and /init.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { AuthenticationError, getSignature } from 'e2b';
import { startEnvd } from '../helpers/envd.mjs';

const TOKEN = 'test-token-' + Math.random().toString(16).slice(2);
let envd, sbx;
before(async () => {
  envd = await startEnvd({ accessToken: TOKEN });
  sbx = envd.sandbox();
  await sbx.files.write('secret.txt', 'classified');
});
after(() => envd?.stop());

test('the SDK with the token works; without it every call but /health is refused', async () => {
  assert.equal((await sbx.commands.run('echo ok')).stdout, 'ok\n');
  const anonymous = envd.sandbox({ envdAccessToken: undefined });
  await assert.rejects(anonymous.commands.run('echo no'), AuthenticationError);
  await assert.rejects(anonymous.files.read('secret.txt'), AuthenticationError);
  await assert.rejects(anonymous.files.list('.'), AuthenticationError);
  const wrong = envd.sandbox({ envdAccessToken: 'wrong' });
  await assert.rejects(wrong.files.read('secret.txt'), (e) => e instanceof AuthenticationError && /does not match/.test(e.message));
  assert.equal(await anonymous.isRunning(), true);
  const raw = await fetch(`${envd.url}/envs`);
  assert.equal(raw.status, 401);
  assert.deepEqual(await raw.json(), {
    code: 401,
    message: 'unauthorized access, please provide a valid access token or method signing if supported',
  });
});

test('a signed download URL works without the header; expiring and user-bound ones too', async () => {
  const plain = await sbx.downloadUrl('secret.txt');
  assert.equal(await (await fetch(plain)).text(), 'classified');
  const expiring = await sbx.downloadUrl('/home/user/secret.txt', { useSignatureExpiration: 120, user: 'user' });
  assert.match(expiring, /signature_expiration=\d+/);
  assert.match(expiring, /username=user/);
  const r = await fetch(expiring);
  assert.equal(r.status, 200);
  assert.equal(await r.text(), 'classified');
});

test('invalid, missing, expired and wrong-operation signatures are refused with envd messages', async () => {
  const refused = async (url, message) => {
    const r = await fetch(url);
    assert.equal(r.status, 401);
    assert.deepEqual(await r.json(), { code: 401, message });
  };
  const good = new URL(await sbx.downloadUrl('secret.txt'));
  const tampered = new URL(good);
  tampered.searchParams.set('path', 'other.txt');
  await refused(tampered, 'invalid signature');
  const missing = new URL(good);
  missing.searchParams.delete('signature');
  await refused(missing, 'missing signature query parameter');
  const { signature, expiration } = await getSignature({ path: 'secret.txt', operation: 'read', user: undefined, expirationInSeconds: -10, envdAccessToken: TOKEN });
  const expired = new URL(good);
  expired.searchParams.set('signature', signature);
  expired.searchParams.set('signature_expiration', String(expiration));
  await refused(expired, 'signature is already expired');
  // A read signature cannot upload.
  const upload = new URL(good);
  const r = await fetch(upload, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: 'x' });
  assert.equal(r.status, 401);
  assert.equal(await sbx.files.read('secret.txt'), 'classified');
});

test('a signed upload URL writes the file as the named user', async () => {
  const url = await sbx.uploadUrl('/home/user/via-url.txt', { useSignatureExpiration: 60, user: 'root' });
  const form = new FormData();
  form.append('file', new Blob(['uploaded']), 'via-url.txt');
  const r = await fetch(url, { method: 'POST', body: form });
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), [{ path: '/home/user/via-url.txt', name: 'via-url.txt', type: 'file' }]);
  assert.equal((await sbx.files.getInfo('via-url.txt')).owner, 'root');
});

test('/init needs the current token once one is set, and changes what it sets', async () => {
  const init = (body, headers = {}) =>
    fetch(`${envd.url}/init`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  assert.equal((await init({ envVars: { X: '1' } })).status, 401);
  const ok = await init({ accessToken: TOKEN, envVars: { SANDBOX_WIDE: 'yes' } });
  assert.equal(ok.status, 204);
  assert.equal(ok.headers.get('x-envd-version'), '0.6.13');
  assert.equal((await sbx.commands.run('echo $SANDBOX_WIDE $E2B_SANDBOX')).stdout, 'yes true\n');
  const envs = await (await fetch(`${envd.url}/envs`, { headers: { 'x-access-token': TOKEN } })).json();
  assert.equal(envs.SANDBOX_WIDE, 'yes');
});
