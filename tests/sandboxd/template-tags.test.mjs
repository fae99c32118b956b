// Template tags through the official SDK (`name:tag` in Template.build and Sandbox.create,
// Template.assignTags/removeTags/getTags) and the template layer GC, checked on the host: a
// layer goes once no template, tag or running sandbox needs it, and not before.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { Sandbox, Template } from 'e2b';
import { startSandboxdForSdk } from '../helpers/sandboxd.mjs';
import { sandboxdApi, uniqueTag } from './util.mjs';

const NAME = `tags-${uniqueTag()}`;

let sd;

before(async () => {
  // Layers nobody needs go at the first collection, not after a day as by default.
  sd = await startSandboxdForSdk({ args: ['--build-cache-hours', '0'] });
});
after(async () => {
  await sd?.stop();
});

/** A template whose one RUN step writes `value` to /home/user/v. */
const writing = (value) => Template().fromBaseImage().runCmd(`echo ${value} > /home/user/v`);

/** What sandboxd recorded of a template, read from its control dir on the host. */
function record(name) {
  const records = JSON.parse(readFileSync(join(sd.dataDir, 'control/templates.json'), 'utf8'));
  return Object.values(records).find((r) => r.names.includes(name));
}

/** Whether template layer `key` is on the host. */
const layerExists = (key) => existsSync(join(sd.dataDir, 'runtime/template-layers', key, 'root'));

const cat = async (sbx) => (await sbx.commands.run('cat /home/user/v')).stdout.trim();
const api = (path, init) => sandboxdApi(sd, path, init);

describe('tags', () => {
  let v1;
  let v2;
  let fromV1;
  before(async () => {
    v1 = await Template.build(writing('one'), `${NAME}:v1`);
    v2 = await Template.build(writing('two'), NAME);
  });

  test('a tag given at build time keeps naming its build after the next build', async () => {
    const tags = await Template.getTags(NAME);
    assert.deepEqual(tags.map((t) => [t.tag, t.buildId]), [['default', v2.buildId], ['v1', v1.buildId]]);
    assert.ok(tags.every((t) => t.createdAt instanceof Date && !Number.isNaN(t.createdAt.getTime())));
    fromV1 = await Sandbox.create(`${NAME}:v1`);
    assert.equal(await cat(fromV1), 'one');
    const current = await Sandbox.create(NAME);
    assert.equal(await cat(current), 'two');
    assert.equal(await cat(await Sandbox.create(`${NAME}:default`)), 'two');
    // Like E2B, a sandbox of a tagged build reports the template's ID, not the tag.
    const info = await fromV1.getInfo();
    assert.equal(info.templateId, (await current.getInfo()).templateId);
    assert.doesNotMatch(info.templateId, /:/);
    await current.kill();
  });

  test('assignTags tags the build its target names; removeTags takes tags away', async () => {
    const assigned = await Template.assignTags(`${NAME}:v1`, ['stable', 'prod']);
    assert.deepEqual(assigned, { buildId: v1.buildId, tags: ['stable', 'prod'] });
    assert.deepEqual(await Template.assignTags(NAME, 'good'), { buildId: v2.buildId, tags: ['good'] });
    const stable = await Sandbox.create(`${NAME}:stable`);
    assert.equal(await cat(stable), 'one');
    await stable.kill();
    await Template.removeTags(NAME, 'stable');
    assert.deepEqual((await Template.getTags(NAME)).map((t) => t.tag), ['default', 'good', 'prod', 'v1']);
    await assert.rejects(Sandbox.create(`${NAME}:stable`), /tag 'stable' of template '.*' not found/);
    // Tags outlive a restart: they are in the control dir.
    assert.deepEqual(Object.keys(record(NAME).tagged).sort(), ['good', 'prod', 'v1']);
  });

  test('bad tag calls get a clear 400 or 404, and change nothing', async () => {
    const before = JSON.stringify(record(NAME));
    await assert.rejects(Template.assignTags(NAME, 'Not Valid'), /400.*invalid name 'Not Valid'/);
    await assert.rejects(Template.assignTags(NAME, '../../etc'), /400.*invalid name '\.\.\/\.\.\/etc'/);
    await assert.rejects(Template.assignTags(NAME, []), /400.*tags must not be empty/);
    await assert.rejects(Template.assignTags(NAME, 'default'), /400.*'default' tag/);
    await assert.rejects(Template.removeTags(NAME, 'default'), /400.*'default' tag/);
    await assert.rejects(Template.assignTags(`${NAME}:nope`, 'x'), /404.*tag 'nope'/);
    await assert.rejects(Template.assignTags('no-such-template', 'x'), /404.*not found/);
    await assert.rejects(Template.removeTags(NAME, ['prod', 'nope']), /404.*tag 'nope'/);
    await assert.rejects(Template.getTags('no-such-template'), /404/);
    const res = await api('/templates/tags', { method: 'POST', body: '{"target": 1, "tags": []}', headers: { 'Content-Type': 'application/json' } });
    assert.equal(res.status, 400);
    assert.equal(JSON.stringify(record(NAME)), before);
  });

  test('layer GC: unneeded layers go, layers of tags, builds and running sandboxes stay', async () => {
    const [v1Layer] = record(NAME).tagged.v1.build.layers;
    const [v2Layer] = record(NAME).ready.layers;
    // A template deleted while a sandbox of it runs: its layer stays until that sandbox ends.
    const gcName = `${NAME}-gc`;
    await Template.build(writing('gc'), gcName);
    const [gcLayer] = record(gcName).ready.layers;
    const gcSandbox = await Sandbox.create(gcName);
    assert.equal((await api(`/templates/${gcName}`, { method: 'DELETE' })).status, 204);
    assert.ok(layerExists(gcLayer), 'the layer of a running sandbox was removed');
    assert.equal(await cat(gcSandbox), 'gc');
    // Its end collects the layer.
    await gcSandbox.kill();
    assert.ok(!layerExists(gcLayer), 'an unneeded layer was kept');
    // A tag removal collects too; v1's layer stays for `prod`.
    await Template.removeTags(NAME, 'v1');
    assert.ok(layerExists(v1Layer) && layerExists(v2Layer));
    // No tag names v1 any more, but a sandbox started from it still runs on its layer.
    await Template.removeTags(NAME, 'prod');
    assert.ok(layerExists(v1Layer), 'the layer of a running sandbox was removed');
    assert.equal(await cat(fromV1), 'one');
    await fromV1.kill();
    assert.ok(!layerExists(v1Layer), 'an unneeded layer was kept');
    // The current build's layer stays, and the template still starts.
    assert.ok(layerExists(v2Layer));
    const current = await Sandbox.create(NAME);
    assert.equal(await cat(current), 'two');
    await current.kill();
  });

  test('after a restart tags still start their builds, and the start-up collection runs', async () => {
    await Template.assignTags(NAME, 'kept');
    const [v2Layer] = record(NAME).ready.layers;
    // A layer no template needs, last used two days ago, as a crash or an older sandboxd leaves.
    const stray = '0'.repeat(64);
    mkdirSync(join(sd.dataDir, 'runtime/template-layers', stray, 'root'), { recursive: true });
    writeFileSync(join(sd.dataDir, 'runtime/template-layers', stray, 'root/file'), 'stray');
    const twoDaysAgo = new Date(Date.now() - 48 * 3600 * 1000);
    utimesSync(join(sd.dataDir, 'runtime/template-layers', stray), twoDaysAgo, twoDaysAgo);
    await sd.stop({ keepDataDir: true });
    // The default cache age this time: 24 h.
    sd = await startSandboxdForSdk({ dataDir: sd.dataDir });
    assert.ok(!layerExists(stray), 'the start-up collection kept an unneeded layer');
    assert.ok(layerExists(v2Layer));
    assert.deepEqual((await Template.getTags(NAME)).map((t) => t.tag), ['default', 'good', 'kept']);
    const kept = await Sandbox.create(`${NAME}:kept`);
    assert.equal(await cat(kept), 'two');
    await kept.kill();
  });
});
