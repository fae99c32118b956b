// `sandbox.git` through both SDKs against sandboxd: a bare repository inside the sandbox is the
// remote (a file path), a loopback HTTP server that always answers 401 stands in for a private
// remote, and the files git writes are checked in the sandbox's layer on the host.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { useSandboxd } from '../helpers/sandboxd.mjs';
import { implementations } from './implementations.mjs';
import { startServerIn } from './server-sandbox.mjs';

const HOME = '/home/user';
const REMOTE = `${HOME}/remote.git`;
const WORK = `${HOME}/work`;
const CLONE = `${HOME}/clone`;
const AUTH_PORT = 8741;
// Asks for credentials on every request and refuses whatever it gets.
const DENY_ALL_SERVER = `
import http.server
class Deny(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(401)
        self.send_header('WWW-Authenticate', 'Basic realm="private"')
        self.send_header('Content-Length', '0')
        self.end_headers()
    do_POST = do_GET
    def log_message(self, *args): pass
http.server.ThreadingHTTPServer(('127.0.0.1', ${AUTH_PORT}), Deny).serve_forever()
`;

const suite = useSandboxd();

/** A file of the sandbox as the host sees it in the sandbox's writable layer. */
const layerPath = (sandboxId, path) => join(suite.sandboxd.dataDir, 'runtime/layers', sandboxId, 'fs/upper', path);

for (const [name, sdk] of implementations) {
  const { Sandbox, GitAuthError, GitUpstreamError, InvalidArgumentError, CommandExitError } = sdk;

  describe(`${name}: sandbox.git`, () => {
    let sbx;
    let git;
    before(async () => {
      sbx = await Sandbox.create({ timeoutMs: 300_000 });
      git = sbx.git;
    });
    after(async () => {
      await sbx?.kill();
    });

    test('configureUser and setConfig/getConfig write the global config the host sees', async () => {
      await git.configureUser('Test Author', 'author@example.com');
      assert.equal(await git.getConfig('user.name'), 'Test Author');
      assert.equal(await git.getConfig('user.email'), 'author@example.com');
      assert.equal(await git.getConfig('no.such-key'), undefined);
      await git.setConfig('init.defaultBranch', 'main');
      const onHost = readFileSync(layerPath(sbx.sandboxId, `${HOME}/.gitconfig`), 'utf8');
      assert.match(onHost, /name = Test Author/);
      assert.match(onHost, /email = author@example.com/);
      assert.match(onHost, /defaultBranch = main/);
      await assert.rejects(git.setConfig('a.b', 'c', { scope: 'planet' }), InvalidArgumentError);
      await assert.rejects(git.getConfig('a.b', { scope: 'local' }), /repository path is required/);
      await assert.rejects(git.configureUser('', 'x@example.com'), InvalidArgumentError);
    });

    test('init, remoteAdd/remoteGet, add, status, commit and push to a bare repository', async () => {
      await git.init(REMOTE, { bare: true, initialBranch: 'main' });
      await git.init(WORK, { initialBranch: 'main' });
      await git.remoteAdd(WORK, 'origin', REMOTE);
      assert.equal(await git.remoteGet(WORK, 'origin'), REMOTE);
      assert.equal(await git.remoteGet(WORK, 'nowhere'), undefined);
      await git.remoteAdd(WORK, 'origin', REMOTE, { overwrite: true, fetch: true });

      await sbx.files.write(`${WORK}/readme.txt`, 'first\n');
      let status = await git.status(WORK);
      assert.equal(status.currentBranch, 'main');
      assert.deepEqual(status.fileStatus, [{ name: 'readme.txt', status: 'untracked', indexStatus: '?', workingTreeStatus: '?', staged: false }]);
      assert.equal(status.hasUntracked, true);
      assert.equal(status.isClean, false);

      await git.add(WORK);
      status = await git.status(WORK);
      assert.deepEqual(status.fileStatus.map((f) => [f.name, f.status, f.staged]), [['readme.txt', 'added', true]]);
      assert.equal(status.stagedCount, 1);

      const committed = await git.commit(WORK, 'first commit');
      assert.match(committed.stdout, /first commit/);
      await git.push(WORK, { remote: 'origin', branch: 'main' });
      status = await git.status(WORK);
      assert.equal(status.isClean, true);
      assert.equal(status.upstream, 'origin/main');
      assert.equal(status.ahead, 0);

      // The commit reached the bare repository: its ref file on the host names a commit.
      const ref = readFileSync(layerPath(sbx.sandboxId, `${REMOTE}/refs/heads/main`), 'utf8').trim();
      assert.match(ref, /^[0-9a-f]{40}$/);
      const head = await sbx.commands.run(`git -C ${WORK} rev-parse HEAD`);
      assert.equal(head.stdout.trim(), ref);
    });

    test('clone, branches, pull of a later push', async () => {
      await git.clone(REMOTE, { path: CLONE });
      assert.equal(await sbx.files.read(`${CLONE}/readme.txt`), 'first\n');
      assert.deepEqual(await git.branches(CLONE), { branches: ['main'], currentBranch: 'main' });

      await sbx.files.write(`${WORK}/readme.txt`, 'first\nsecond\n');
      await git.add(WORK, { files: ['readme.txt'] });
      await git.commit(WORK, 'second commit', { authorName: 'Other Author', authorEmail: 'other@example.com' });
      await git.push(WORK);
      const status = await git.status(CLONE);
      assert.equal(status.currentBranch, 'main');
      await git.pull(CLONE);
      assert.equal(await sbx.files.read(`${CLONE}/readme.txt`), 'first\nsecond\n');
      const author = await sbx.commands.run(`git -C ${CLONE} log -1 --format=%an`);
      assert.equal(author.stdout.trim(), 'Other Author');
    });

    test('createBranch, checkoutBranch, deleteBranch', async () => {
      await git.createBranch(WORK, 'feature');
      assert.deepEqual(await git.branches(WORK), { branches: ['feature', 'main'], currentBranch: 'feature' });
      await git.checkoutBranch(WORK, 'main');
      assert.equal((await git.branches(WORK)).currentBranch, 'main');
      await git.deleteBranch(WORK, 'feature');
      assert.deepEqual((await git.branches(WORK)).branches, ['main']);
      await assert.rejects(git.deleteBranch(WORK, 'missing'), CommandExitError);
    });

    test('reset and restore undo changes in the index and the worktree', async () => {
      const file = `${WORK}/readme.txt`;
      const committed = await sbx.files.read(file);
      await sbx.files.write(file, 'changed\n');
      let status = await git.status(WORK);
      assert.deepEqual(status.fileStatus.map((f) => [f.name, f.status, f.staged]), [['readme.txt', 'modified', false]]);
      await git.restore(WORK, { paths: ['readme.txt'] });
      assert.equal(await sbx.files.read(file), committed);

      await sbx.files.write(file, 'staged change\n');
      await git.add(WORK);
      await git.restore(WORK, { paths: ['readme.txt'], staged: true });
      status = await git.status(WORK);
      assert.deepEqual(status.fileStatus.map((f) => [f.status, f.staged]), [['modified', false]]);
      assert.equal(await sbx.files.read(file), 'staged change\n');

      await git.add(WORK);
      await git.reset(WORK, { mode: 'hard' });
      assert.equal((await git.status(WORK)).isClean, true);
      assert.equal(readFileSync(layerPath(sbx.sandboxId, file), 'utf8'), committed);

      await assert.rejects(git.reset(WORK, { mode: 'sideways' }), /Reset mode must be one of soft, mixed, hard, merge, keep/);
      await assert.rejects(git.restore(WORK, { paths: [] }), InvalidArgumentError);
      await assert.rejects(git.restore(WORK, { paths: ['readme.txt'], staged: false, worktree: false }), InvalidArgumentError);
    });

    test('a branch without upstream: push and pull fail with GitUpstreamError', async () => {
      await git.createBranch(WORK, 'lonely');
      await git.commit(WORK, 'empty', { allowEmpty: true });
      await assert.rejects(git.push(WORK, { setUpstream: false }), (err) => err instanceof GitUpstreamError && err.name === 'GitUpstreamError' && /no upstream branch/.test(err.message));
      await assert.rejects(git.pull(WORK), (err) => err instanceof GitUpstreamError && /Git pull failed/.test(err.message));
      // Naming remote and branch needs no upstream.
      await git.push(WORK, { remote: 'origin', branch: 'lonely' });
      assert.equal((await git.status(WORK)).upstream, 'origin/lonely');
      await git.checkoutBranch(WORK, 'main');
    });

    test('a remote that wants credentials: GitAuthError, and credentials never stay in the remote URL', async () => {
      await startServerIn(sbx, DENY_ALL_SERVER, AUTH_PORT);
      const url = `http://127.0.0.1:${AUTH_PORT}/private.git`;

      await assert.rejects(git.clone(url, { path: `${HOME}/private` }), (err) =>
        err instanceof GitAuthError && err instanceof sdk.AuthenticationError && err.message === 'Git clone requires credentials for private repositories.');
      await assert.rejects(git.clone(url, { path: `${HOME}/private`, username: 'me' }), (err) =>
        err instanceof GitAuthError && err.message === 'Git clone requires a password/token for private repositories.');
      await assert.rejects(git.clone(url, { path: `${HOME}/private`, username: 'me', password: 'secret' }), GitAuthError);
      await assert.rejects(git.clone(url, { password: 'secret' }), /Username is required/);

      await git.remoteAdd(WORK, 'private', url);
      await assert.rejects(git.push(WORK, { remote: 'private', branch: 'main', username: 'me', password: 'secret' }), CommandExitError);
      assert.equal(await git.remoteGet(WORK, 'private'), url);
      const config = readFileSync(layerPath(sbx.sandboxId, `${WORK}/.git/config`), 'utf8');
      assert.doesNotMatch(config, /secret/);
      await assert.rejects(git.pull(WORK, { remote: 'private', branch: 'main' }), GitAuthError);
    });

    test('dangerouslyAuthenticate stores the credential where git reads it', async () => {
      await git.dangerouslyAuthenticate({ username: 'me', password: 'tok en', host: 'git.example.com' });
      assert.equal(await git.getConfig('credential.helper'), 'store');
      const path = layerPath(sbx.sandboxId, `${HOME}/.git-credentials`);
      assert.equal(readFileSync(path, 'utf8'), 'https://me:tok%20en@git.example.com\n');
      assert.equal(statSync(path).mode & 0o777, 0o600);
      await assert.rejects(git.dangerouslyAuthenticate({ username: 'me' }), InvalidArgumentError);
    });
  });
}
