// Template builds through the official `Template` builder against sandboxd: every step kind the
// SDK sends, the build cache, failures, templates stacked on templates, apt from a repository
// this test serves in its own network namespace, list/exists/delete, and sandboxes created from
// the result. From the attacker's side: build steps, copy archives and upload links cannot reach
// the host, and a sandbox cannot change the layers other sandboxes of its template share.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { BuildError, Sandbox, Template, waitForURL } from 'e2b';
import { startSandboxdForSdk } from '../helpers/sandboxd.mjs';
import { OUTSIDE_PORT, buildLocalPackages, buildLocalRepository, startWithOutside, stopWithOutside } from './outside.mjs';
import { buildTemplate, runOfficialCli, stdoutOf, uniqueTag, waitUntil } from './util.mjs';

const tag = uniqueTag();
const NAME = `tpl-${tag}`;
const LOCAL_PACKAGE = 'sbxtest-tpl';

let sd;
let outside;
let context;
/** Build logs of the last `build()`, as text lines. */
let logs;

before(async () => {
  ({ outside, sd } = await startWithOutside((o) => buildLocalRepository(o.dir, LOCAL_PACKAGE, tag)));
  context = mkdtempSync(join(tmpdir(), 'sandboxd-template-'));
  writeFileSync(join(context, 'app.txt'), `app ${tag}\n`);
  mkdirSync(join(context, 'site/sub'), { recursive: true });
  writeFileSync(join(context, 'site/index.html'), 'index\n');
  writeFileSync(join(context, 'site/sub/deep.txt'), 'deep\n');
});
after(async () => {
  rmSync(context, { recursive: true, force: true });
  await stopWithOutside({ outside, sd });
});

function build(template, name) {
  logs = [];
  return buildTemplate(template, name, logs);
}

const ok = stdoutOf;

/** A REST call to sandboxd with the API key. */
function api(path, init = {}) {
  return fetch(new URL(path, sd.apiUrl), { ...init, headers: { 'X-API-KEY': sd.apiKey, ...init.headers } });
}

const layersDir = () => join(sd.dataDir, 'runtime/template-layers');
/** Every host path of a file that is `rel` inside some template layer. */
const inLayers = (rel) => readdirSync(layersDir()).map((key) => join(layersDir(), key, 'root', rel)).filter(existsSync);

const template = () =>
  Template({ fileContextPath: context })
    .fromBaseImage()
    .runCmd('echo first > /home/user/first.txt && id -un > /home/user/ran-as')
    .copy('app.txt', '/home/user/')
    .copy('site', '/srv/site', { user: 'root', mode: 0o750 })
    .setEnvs({ GREETING: `hi ${tag}`, SECOND: 'two words' })
    .makeDir('/home/user/made/deeper')
    .makeSymlink('/home/user/app.txt', '/home/user/app-link')
    .runCmd('echo gone > /home/user/gone.txt && echo moved > /home/user/old-name')
    .remove('/home/user/gone.txt')
    .rename('/home/user/old-name', '/home/user/new-name')
    .setUser('root')
    .runCmd('cp /bin/true /usr/local/bin/sbx-setuid && chmod 4755 /usr/local/bin/sbx-setuid && echo "$GREETING" > /root/env-seen')
    .setWorkdir('/opt/work')
    .runCmd('pwd > here');

describe('a template built with the official builder', () => {
  let first;
  let sbx;
  before(async () => {
    first = await build(template(), NAME);
    sbx = await Sandbox.create(NAME);
  });

  test('RUN, COPY, ENV, WORKDIR, USER and the SDK helpers shape the sandbox', async () => {
    assert.match(first.templateId, /^[a-z0-9]{20}$/);
    assert.equal(await ok(sbx, 'cat /home/user/first.txt /home/user/ran-as'), 'first\nuser');
    // copy of a file into a directory, and of a directory's contents, with owner and mode.
    assert.equal(await ok(sbx, 'cat /home/user/app.txt'), `app ${tag}`);
    assert.equal(await ok(sbx, 'stat -c %U:%a /home/user/app.txt'), 'user:644');
    assert.equal(await ok(sbx, 'cat /srv/site/index.html /srv/site/sub/deep.txt'), 'index\ndeep');
    assert.equal(await ok(sbx, 'stat -c %U:%a /srv/site/index.html /srv/site/sub', { user: 'root' }), 'root:750\nroot:750');
    assert.equal(await ok(sbx, 'test -d /home/user/made/deeper && readlink /home/user/app-link'), '/home/user/app.txt');
    assert.equal(await ok(sbx, 'test ! -e /home/user/gone.txt && test ! -e /home/user/old-name && cat /home/user/new-name'), 'moved');
    // The last USER and WORKDIR, and the envs, are what sandboxes get; ENV reached the steps.
    assert.equal(await ok(sbx, 'whoami; pwd; echo "$GREETING|$SECOND"; cat here; cat /root/env-seen'),
      `root\n/opt/work\nhi ${tag}|two words\n/opt/work\nhi ${tag}`);
    // A set-uid file made as root keeps its bit and owner through the layer.
    assert.equal(await ok(sbx, 'stat -c %U:%a /usr/local/bin/sbx-setuid'), 'root:4755');
    // On the host the layers are owned as base is: uid 1000 for user, 0 for root.
    const [app] = inLayers('home/user/app.txt');
    assert.equal(`${statSync(app).uid}:${statSync(app).gid}`, '1000:1000');
    const [setuid] = inLayers('usr/local/bin/sbx-setuid');
    assert.equal(statSync(setuid).uid, 0);
    assert.equal(statSync(setuid).mode & 0o7777, 0o4755);
    // The removed file is a file in one layer and a whiteout in the next.
    const gone = inLayers('home/user/gone.txt').map((p) => statSync(p));
    assert.deepEqual(gone.map((st) => st.isCharacterDevice()).sort(), [false, true]);
  });

  test('a rebuild reuses every step from the cache', async (t) => {
    const again = await build(template(), NAME);
    assert.equal(again.templateId, first.templateId);
    assert.notEqual(again.buildId, first.buildId);
    const cached = logs.filter((l) => l.startsWith('CACHED ['));
    // 10 RUN/COPY steps (makeDir, makeSymlink, remove and rename are RUN steps).
    assert.equal(cached.length, 10, logs.join('\n'));
    assert.ok(again.ms < first.ms, `rebuild ${again.ms} ms, first build ${first.ms} ms`);
    t.diagnostic(`first build ${first.ms} ms, cached rebuild ${again.ms} ms: ${first.ms - again.ms} ms saved`);
    // A changed step rebuilds itself and what follows, not what comes before.
    const changed = template().runCmd('echo last > /home/user/last');
    await build(changed, NAME);
    assert.equal(logs.filter((l) => l.startsWith('CACHED [')).length, 10, logs.join('\n'));
    assert.ok(logs.some((l) => l.startsWith('[14/14] RUN echo last')), logs.join('\n'));
  });

  test('a template built from it stacks on its layers', async () => {
    await build(Template().fromTemplate(NAME).runCmd('cat /home/user/new-name > /home/user/child.txt', { user: 'user' }), `${NAME}-child`);
    const child = await Sandbox.create(`${NAME}-child`);
    assert.equal(await ok(child, 'cat /home/user/child.txt /home/user/app.txt'), `moved\napp ${tag}`);
    assert.equal(await ok(child, 'whoami; echo "$GREETING"'), `root\nhi ${tag}`);
    await child.kill();
  });

  test("a sandbox's writes never reach the layers its template's other sandboxes share", async () => {
    const [hostFile] = inLayers('home/user/app.txt');
    const before = readFileSync(hostFile, 'utf8');
    await ok(sbx, 'echo changed > /home/user/app.txt && rm /home/user/first.txt && rm -rf /srv/site', { user: 'root' });
    const other = await Sandbox.create(NAME);
    assert.equal(await ok(other, 'cat /home/user/app.txt /home/user/first.txt /srv/site/index.html'), `app ${tag}\nfirst\nindex`);
    assert.equal(readFileSync(hostFile, 'utf8'), before);
    await other.kill();
  });

  test('root of a built template is as confined as in base', async () => {
    const root = { user: 'root' };
    // Two commands: bash stays, with the tag in its command line.
    const sleeper = `sleep 300 && echo ${tag}`;
    await sbx.commands.run(sleeper, { background: true, ...root });
    // The host sees that process under an id of the sandbox's range, not as root.
    let hostPid;
    await waitUntil(() => {
      hostPid = readdirSync('/proc').find((p) => /^\d+$/.test(p) && procText(p, 'cmdline').includes(tag));
      return hostPid !== undefined;
    }, 10_000, 'the sandbox process is not visible on the host');
    const uid = Number(/^Uid:\s+(\d+)/m.exec(procText(hostPid, 'status'))[1]);
    assert.ok(uid >= 2 ** 30, `host uid ${uid}`);
    const tries = await ok(sbx, '(echo b > /proc/sysrq-trigger) 2>&1; mount -t tmpfs x /mnt 2>&1; true', root);
    assert.match(tries, /sysrq-trigger: (Read-only file system|Permission denied|No such file or directory)/);
    assert.match(tries, /mount: .*(permission denied|must be superuser)/i);
  });
});

const procText = (pid, file) => {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return '';
  }
};

describe('failures and the attacker', () => {
  test('a failing step fails the build with its output and leaves nothing behind', async () => {
    const failing = Template().fromBaseImage().runCmd('echo fine').runCmd(`echo "output ${tag}"; exit 3`);
    await assert.rejects(build(failing, `${NAME}-fails`), (e) => {
      assert.ok(e instanceof BuildError, e);
      assert.match(e.message, new RegExp(`exit code 3[\\s\\S]*output ${tag}`));
      return true;
    });
    assert.ok(logs.includes(`output ${tag}`), logs.join('\n'));
    // No build sandbox, layer or half-made template layer stays.
    assert.deepEqual(readdirSync(join(sd.dataDir, 'runtime/layers')).filter((n) => n.startsWith('build-')), []);
    assert.deepEqual(readdirSync(layersDir()).filter((n) => n.startsWith('.')), []);
    assert.deepEqual(sd.leaks().filter((l) => l.includes('build-')), []);
    // The template has no build to start from.
    await assert.rejects(Sandbox.create(`${NAME}-fails`));
  });

  test('an image sandboxd cannot get fails with a clear BuildError', async () => {
    // Port 1 on loopback: nothing listens there.
    await assert.rejects(build(Template().fromImage('127.0.0.1:1/some/image:1'), `${NAME}-image`), (e) => {
      assert.ok(e instanceof BuildError, e);
      assert.match(e.message, /image 127\.0\.0\.1:1\/some\/image:1: registry unreachable/);
      return true;
    });
  });

  test('a build step as root cannot write outside its sandbox', async () => {
    const hostPath = join(tmpdir(), `escape-${tag}`);
    const attempt = Template()
      .fromBaseImage()
      .runCmd(
        [
          `echo owned > ${hostPath}`,
          '(echo b > /proc/sysrq-trigger) 2>&1 || true',
          '(mount -t tmpfs x /mnt) 2>&1 || true',
          '(mount --bind / /mnt) 2>&1 || true',
        ],
        { user: 'root' },
      );
    await build(attempt, `${NAME}-escape`);
    assert.ok(!existsSync(hostPath), `${hostPath} exists on the host`);
    assert.ok(logs.some((l) => /sysrq-trigger: (Read-only file system|Permission denied|No such file or directory)/.test(l)), logs.join('\n'));
    assert.equal(logs.filter((l) => /mount: .*(permission denied|must be superuser)/i.test(l)).length, 2, logs.join('\n'));
    // The write landed in the template's own layer instead.
    const escaped = await Sandbox.create(`${NAME}-escape`);
    assert.equal(await ok(escaped, `cat ${hostPath}`), 'owned');
    await escaped.kill();
  });

  test('a hostile copy archive only touches the build sandbox', async () => {
    // ../ entries, an absolute path, and a symlink followed by a file through it.
    const archive = join(context, 'hostile.tar');
    const python = `
import io, tarfile
def add(tar, name, data=b"x"):
    info = tarfile.TarInfo(name); info.size = len(data); tar.addfile(info, io.BytesIO(data))
with tarfile.open("${archive}", "w") as tar:
    add(tar, "../../dotdot-${tag}")
    add(tar, "/tmp/absolute-${tag}")
    link = tarfile.TarInfo("link"); link.type = tarfile.SYMTYPE; link.linkname = "/tmp"; tar.addfile(link)
    add(tar, "link/through-${tag}")
    add(tar, "plain.txt", b"plain")
`;
    execFileSync('python3', ['-c', python]);
    const hash = createHash('sha256').update(readFileSync(archive)).digest('hex');
    const created = await (await api('/v3/templates', { method: 'POST', body: JSON.stringify({ name: `${NAME}-tar` }) })).json();
    const link = await (await api(`/templates/${created.templateID}/files/${hash}`)).json();
    assert.equal(link.present, false);
    const put = await fetch(link.url, { method: 'PUT', body: readFileSync(archive) });
    assert.equal(put.status, 200);
    const start = await api(`/v2/templates/${created.templateID}/builds/${created.buildID}`, {
      method: 'POST',
      body: JSON.stringify({ fromImage: 'e2bdev/base', steps: [{ type: 'COPY', args: ['.', '/home/user/in/', 'root', ''], filesHash: hash }] }),
    });
    assert.equal(start.status, 202);
    let status;
    await waitUntil(async () => {
      status = await (await api(`/templates/${created.templateID}/builds/${created.buildID}/status`)).json();
      return status.status === 'ready' || status.status === 'error';
    }, 60_000, 'the build did not finish');
    for (const name of [`dotdot-${tag}`, `absolute-${tag}`, `through-${tag}`]) {
      for (const dir of ['/', '/tmp', tmpdir(), sd.dataDir, join(sd.dataDir, '..'), process.cwd()]) {
        assert.ok(!existsSync(join(dir, name)), `${join(dir, name)} exists on the host`);
      }
    }
    // tar, inside the sandbox, refused the entries and failed the step.
    assert.equal(status.status, 'error', JSON.stringify(status));
    assert.match(status.reason.message, /Member name contains '\.\.'/);
    assert.equal(status.reason.step, '1');
  });

  test('an upload link is good for its own template and files only', async () => {
    const a = await (await api('/v3/templates', { method: 'POST', body: JSON.stringify({ name: `${NAME}-up-a` }) })).json();
    const b = await (await api('/v3/templates', { method: 'POST', body: JSON.stringify({ name: `${NAME}-up-b` }) })).json();
    const hash = 'ab'.repeat(32);
    const linkA = new URL((await (await api(`/templates/${a.templateID}/files/${hash}`)).json()).url);
    const toB = new URL(linkA);
    toB.pathname = toB.pathname.replace(a.templateID, b.templateID);
    const withoutToken = new URL(toB);
    withoutToken.search = '';
    for (const url of [toB, withoutToken]) {
      const put = await fetch(url, { method: 'PUT', body: 'planted' });
      assert.equal(put.status, 403);
      assert.equal((await put.json()).code, 403);
    }
    assert.equal((await (await api(`/templates/${b.templateID}/files/${hash}`)).json()).present, false);
    assert.ok(!existsSync(join(sd.dataDir, 'control/template-files', b.templateID, hash)));
    // Its own link works.
    assert.equal((await fetch(linkA, { method: 'PUT', body: 'mine' })).status, 200);
    assert.equal(readFileSync(join(sd.dataDir, 'control/template-files', a.templateID, hash), 'utf8'), 'mine');
    assert.equal(statSync(join(sd.dataDir, 'control/template-files', a.templateID, hash)).mode & 0o777, 0o600);
  });
});

describe('apt, listing and deleting', () => {
  test('aptInstall installs a package from a repository only this test serves', async () => {
    const apt = Template()
      .fromBaseImage()
      .runCmd(
        [
          'mv /etc/apt/sources.list /etc/apt/sources.list.off',
          `echo 'deb [trusted=yes] http://${outside.a}:${OUTSIDE_PORT}/ ./' > /etc/apt/sources.list.d/local.list`,
        ],
        { user: 'root' },
      )
      .aptInstall(LOCAL_PACKAGE);
    await build(apt, `${NAME}-apt`);
    const sandbox = await Sandbox.create(`${NAME}-apt`);
    assert.equal(await ok(sandbox, `cat /usr/share/${LOCAL_PACKAGE}/hello.txt`), tag);
    assert.equal(await ok(sandbox, `dpkg-query -W -f='\${db:Status-Abbrev}' ${LOCAL_PACKAGE}`), 'ii');
    await sandbox.kill();
  });

  test('pipInstall and npmInstall install for root and for user, from packages only this test serves', async () => {
    const { wheel, tarball } = buildLocalPackages(outside.dir, 'sbxpkg', tag);
    const from = `http://${outside.a}:${OUTSIDE_PORT}`;
    const installers = Template()
      .fromBaseImage()
      // pip and npm ask nothing of PyPI or the npm registry: only the outside is talked to.
      .setEnvs({ PIP_DISABLE_PIP_VERSION_CHECK: '1', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' })
      .pipInstall(`${from}/${wheel}`)
      .pipInstall(`${from}/${wheel}`, { g: false })
      .npmInstall(`${from}/${tarball}`, { g: true })
      .npmInstall(`${from}/${tarball}`);
    await build(installers, `${NAME}-pkgs`);
    const sandbox = await Sandbox.create(`${NAME}-pkgs`);
    try {
      // pipInstall() is global (as root), pipInstall(.., { g: false }) for `user`.
      assert.equal(await ok(sandbox, 'cd / && python3 -c "import sbxpkg; print(sbxpkg.VALUE)"'), tag);
      assert.equal(await ok(sandbox, 'stat -c %U /usr/local/lib/python3*/dist-packages/sbxpkg/__init__.py'), 'root');
      assert.equal(await ok(sandbox, 'stat -c %U ~/.local/lib/python3*/site-packages/sbxpkg/__init__.py'), 'user');
      // npmInstall(.., { g: true }) into the global root, npmInstall() into user's workdir.
      assert.equal(await ok(sandbox, 'cd /tmp && NODE_PATH=$(npm root -g) node -p "require(\'sbxpkg\')"'), tag);
      assert.equal(await ok(sandbox, 'node -p "require(\'sbxpkg\')"'), tag);
      assert.equal(await ok(sandbox, 'stat -c %U node_modules/sbxpkg/package.json'), 'user');
    } finally {
      await sandbox.kill();
    }
    assert.match(outside.log(), new RegExp(`GET /${tarball} HTTP/1.1" 200`));
  });

  test('exists, list, get, delete, and the 404s of unknown ids', async () => {
    assert.equal(await Template.exists(NAME), true);
    assert.equal(await Template.exists(`${NAME}-never`), false);
    const listed = await (await api('/templates')).json();
    const entry = listed.find((t) => t.names.includes(NAME));
    assert.equal(entry.buildStatus, 'ready');
    assert.ok(listed.some((t) => t.names.includes('base')));
    const withBuilds = await (await api(`/templates/${entry.templateID}`)).json();
    assert.ok(withBuilds.builds.length >= 3 && withBuilds.builds.every((b) => b.status === 'ready'), JSON.stringify(withBuilds));
    // The official CLI lists it too (`e2b template list`), beside base.
    const cli = runOfficialCli(sd, ['template', 'list']);
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, new RegExp(`\\b${entry.templateID}\\s+${NAME}\\b`));
    assert.match(cli.stdout, /\brki5dems9wqfm4r03t7g\s+base\b/);
    for (const path of [`/templates/nosuchtemplate`, `/templates/${entry.templateID}/builds/00000000-0000-4000-8000-000000000000/status`]) {
      const res = await api(path);
      assert.equal(res.status, 404);
      assert.equal((await res.json()).code, 404);
    }
    assert.equal((await api(`/templates/${entry.templateID}`, { method: 'DELETE' })).status, 204);
    assert.equal(await Template.exists(NAME), false);
    await assert.rejects(Sandbox.create(NAME), /not found/);
    assert.equal((await api(`/templates/${entry.templateID}`, { method: 'DELETE' })).status, 404);
  });
});

describe('start and ready command', () => {
  test('a create returns once the ready command passes, with the start command running', async (t) => {
    const served = Template()
      .fromBaseImage()
      .runCmd(`mkdir -p /home/user/www && echo served-${tag} > /home/user/www/index.html`)
      .setStartCmd('sleep 1 && exec python3 -m http.server 8123 --bind 127.0.0.1 --directory /home/user/www', waitForURL('http://127.0.0.1:8123/'));
    await build(served, `${NAME}-start`);
    const started = Date.now();
    const sandbox = await Sandbox.create(`${NAME}-start`);
    const took = Date.now() - started;
    // Ready means ready: the first request after create is answered.
    assert.equal(await ok(sandbox, 'curl -sf http://127.0.0.1:8123/'), `served-${tag}`);
    assert.equal(await ok(sandbox, 'ps -o user= -C python3'), 'user');
    assert.ok(took >= 1000, `create took ${took} ms`);
    const plainStarted = Date.now();
    const plain = await Sandbox.create();
    t.diagnostic(`create with a 1 s start command: ${took} ms; base: ${Date.now() - plainStarted} ms`);
    await Promise.all([sandbox.kill(), plain.kill()]);
  });
});

describe('after a restart', () => {
  test('built templates are still there and start', async () => {
    const name = `${NAME}-kept`;
    await build(Template().fromBaseImage().runCmd('echo kept > /home/user/kept'), name);
    await sd.stop({ keepDataDir: true });
    sd = await startSandboxdForSdk({ dataDir: sd.dataDir });
    const sandbox = await Sandbox.create(name);
    assert.equal(await ok(sandbox, 'cat /home/user/kept'), 'kept');
    await sandbox.kill();
    // The second build of an unchanged template is all cache; its tag names the template too.
    const tagged = await build(Template().fromBaseImage().runCmd('echo kept > /home/user/kept'), `${name}:v1`);
    assert.deepEqual(tagged.tags, ['v1']);
    assert.equal(logs.filter((l) => l.startsWith('CACHED [')).length, 1, logs.join('\n'));
    const byTag = await Sandbox.create(`${name}:v1`);
    assert.equal(await ok(byTag, 'cat /home/user/kept'), 'kept');
    await byTag.kill();
    await assert.rejects(Sandbox.create(`${name}:v2`), /not found/);
  });
});
