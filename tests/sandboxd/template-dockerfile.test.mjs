// `sandboxd template build <dir>`: an e2b.Dockerfile built on a running sandboxd through its
// REST API, then used through the official SDK. From the attacker's side: a COPY source cannot
// leave the context dir, and a symlink in the context is copied as a link, so no host file
// outside the context is read; what the CLI does not support fails naming the line.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Sandbox, Template } from 'e2b';
import { sandboxdBinary, startSandboxdForSdk } from '../helpers/sandboxd.mjs';
import { envWithout, stdoutOf as ok, uniqueTag } from './util.mjs';

const tag = uniqueTag();
const NAME = `df-${tag}`;

let sd;
let work;
/** A host file outside every context dir, which no build may read. */
let secret;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'sandboxd-dockerfile-'));
  secret = join(work, 'host-secret.txt');
  writeFileSync(secret, `host secret ${tag}\n`);
  sd = await startSandboxdForSdk();
});
after(() => sd?.stop());
after(() => rmSync(work, { recursive: true, force: true }));

/** A context dir `name` under the work dir holding `files` (path → content) and the Dockerfile. */
function contextDir(name, dockerfile, files = {}) {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  writeFileSync(join(dir, 'e2b.Dockerfile'), dockerfile);
  return dir;
}

/** Runs `sandboxd template build ARGS` against sd; spawnSync's result. */
function cli(args) {
  return spawnSync(sandboxdBinary(), ['template', 'build', ...args], { env: envWithout(sd), encoding: 'utf8', timeout: 300_000 });
}

const layersDir = () => join(sd.dataDir, 'runtime/template-layers');
/** Every host path of `rel` inside some template layer. */
const inLayers = (rel) => readdirSync(layersDir()).map((key) => join(layersDir(), key, 'root', rel)).filter((p) => {
  try {
    return lstatSync(p) !== undefined;
  } catch {
    return false;
  }
});

describe('sandboxd template build', () => {
  let built;
  let sbx;
  let dir;
  let buildMs;
  before(async () => {
    dir = contextDir('app', `# built by sandboxd template build
FROM e2bdev/base
ARG BUILD_ARG=argval
ENV GREETING="hello ${tag}" \\
    OTHER=two
RUN echo "ran as $(id -un) in $(pwd)" > /tmp/ran && mkdir -p /opt/app
COPY app.txt /opt/app/
COPY site /opt/app/site
COPY --chown=user link.txt /opt/app/
WORKDIR /opt/app
RUN echo "$GREETING $BUILD_ARG" > greeting && pwd > where
EXPOSE 8080
USER user
RUN whoami > /home/user/me
CMD echo started > /tmp/started && sleep 1000
`, { 'app.txt': `app ${tag}\n`, 'site/index.html': 'index\n', 'site/sub/deep.txt': 'deep\n' });
    symlinkSync(secret, join(dir, 'link.txt'));
    const started = Date.now();
    built = cli([dir, '--name', `${NAME}:v1`, '--ready-cmd', 'test -f /tmp/started']);
    buildMs = Date.now() - started;
    assert.equal(built.status, 0, `${built.stdout}\n${built.stderr}`);
    sbx = await Sandbox.create(NAME);
  });

  test('the build log streams to stdout', (t) => {
    t.diagnostic(`first build through the CLI (3 RUN, 3 COPY): ${buildMs} ms`);
    assert.match(built.stdout, /\[\d+\/\d+\] RUN echo "ran as/);
    assert.match(built.stdout, /\[\d+\/\d+\] COPY app.txt \/opt\/app\//);
    assert.match(built.stdout, new RegExp(`Template ${NAME}:v1 \\([a-z0-9]{20}\\) is ready`));
  });

  test('FROM, RUN, COPY (file and dir), WORKDIR, USER, ENV, ARG and CMD shape the sandbox', async () => {
    // The build starts as root in /, as the SDK's fromDockerfile does.
    assert.equal(await ok(sbx, 'cat /tmp/ran'), 'ran as root in /');
    assert.equal(await ok(sbx, 'cat /opt/app/app.txt /opt/app/site/index.html /opt/app/site/sub/deep.txt'), `app ${tag}\nindex\ndeep`);
    assert.equal(await ok(sbx, 'stat -c %U /opt/app/app.txt /opt/app/link.txt'), 'root\nuser');
    assert.equal(await ok(sbx, 'cat greeting where /home/user/me'), `hello ${tag} argval\n/opt/app\nuser`);
    assert.equal(await ok(sbx, 'whoami; pwd; echo "$GREETING|$OTHER|$BUILD_ARG"'), `user\n/opt/app\nhello ${tag}|two|argval`);
    // CMD is the start command; the ready command waited for it.
    assert.equal(await ok(sbx, 'cat /tmp/started'), 'started');
    // The tag of --name works with the SDK.
    assert.deepEqual((await Template.getTags(NAME)).map((t) => t.tag), ['default', 'v1']);
  });

  test('a symlink in the context is copied as a link: the host file it points to is not read', async () => {
    assert.equal(await ok(sbx, 'readlink /opt/app/link.txt'), secret);
    const read = await sbx.commands.run('cat /opt/app/link.txt', { timeoutMs: 60_000 }).catch((e) => e);
    assert.equal(read.exitCode, 1);
    assert.doesNotMatch(`${read.stdout}${read.stderr}`, /host secret/);
    // On the host the layer holds a link, not a copy of the secret.
    const links = inLayers('opt/app/link.txt');
    assert.equal(links.length, 1);
    assert.ok(lstatSync(links[0]).isSymbolicLink());
  });

  test('FROM a template built here stacks on it', async () => {
    const dir = contextDir('child', `FROM ${NAME}\nRUN cat /opt/app/greeting > /home/user/child\n`);
    const run = cli([dir, '--name', `${NAME}-child`]);
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
    const child = await Sandbox.create(`${NAME}-child`);
    // fromDockerfile's defaults: user in /home/user unless USER/WORKDIR say otherwise.
    assert.equal(await ok(child, 'cat /home/user/child; whoami; pwd'), `hello ${tag} argval\nuser\n/home/user`);
    await child.kill();
  });

  test('a rebuild of the unchanged dir takes every step from the build cache', (t) => {
    const started = Date.now();
    const again = cli([dir, '--name', NAME, '--ready-cmd', 'test -f /tmp/started']);
    assert.equal(again.status, 0, again.stderr);
    // 3 RUN and 3 COPY steps; ENV, WORKDIR and USER make no layer.
    assert.equal(again.stdout.split('\n').filter((l) => l.startsWith('CACHED [')).length, 6, again.stdout);
    t.diagnostic(`cached rebuild through the CLI: ${Date.now() - started} ms`);
  });

  test('a failing RUN exits 1 with its output', () => {
    const dir = contextDir('failing', 'FROM e2bdev/base\nRUN echo "bad output" && exit 3\n');
    const run = cli([dir, '--name', `${NAME}-failing`]);
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stdout, /bad output/);
    assert.match(run.stderr, /failed with exit code 3: bad output/);
  });
});

describe('what sandboxd template build refuses', () => {
  const refused = async (name, dockerfile, files, pattern) => {
    const dir = contextDir(name, dockerfile, files);
    const run = cli([dir, '--name', `${NAME}-${name}`]);
    assert.equal(run.status, 1, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stderr, pattern);
    // Refused before anything was sent: no template of that name.
    assert.equal(await Template.exists(`${NAME}-${name}`), false);
  };

  test('an unsupported instruction, naming its line', async () => {
    await refused('healthcheck', 'FROM e2bdev/base\nRUN true\n\nHEALTHCHECK CMD true\n', {}, /e2b\.Dockerfile: line 4: HEALTHCHECK is not supported/);
    await refused('multistage', 'FROM e2bdev/base AS one\nFROM e2bdev/base\n', {}, /line 2: multi-stage Dockerfiles are not supported/);
    await refused('url', 'FROM e2bdev/base\nADD http://127.0.0.1:1/x /x\n', {}, /line 2: ADD of a URL/);
  });

  test('a COPY source outside the context dir', async () => {
    await refused('dotdot', 'FROM e2bdev/base\nCOPY ../host-secret.txt /x\n', {}, /line 2: COPY \.\.\/host-secret\.txt: the source leaves the context dir/);
  });

  test('a COPY through a symlinked directory that leads outside the context', async () => {
    const dir = contextDir('linkdir', 'FROM e2bdev/base\nCOPY escape/host-secret.txt /x\n');
    symlinkSync(work, join(dir, 'escape'));
    const run = cli([dir, '--name', `${NAME}-linkdir`]);
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stderr, /line 2: COPY escape\/host-secret\.txt: .*escape is a symlink/);
    assert.equal(await Template.exists(`${NAME}-linkdir`), false);
    // And nothing of the secret reached any layer on the host.
    assert.equal(inLayers('x').length, 0);
  });

  test('a missing Dockerfile or API key', () => {
    const empty = join(work, 'empty');
    mkdirSync(empty, { recursive: true });
    const run = cli([empty]);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /e2b\.Dockerfile/);
    const dir = contextDir('nokey', 'FROM e2bdev/base\n');
    const nokey = spawnSync(sandboxdBinary(), ['template', 'build', dir, '--api-url', sd.apiUrl, '--api-key', 'e2b_wrong'], { env: envWithout(), encoding: 'utf8' });
    assert.equal(nokey.status, 1);
    assert.match(nokey.stderr, /401/);
  });
});
