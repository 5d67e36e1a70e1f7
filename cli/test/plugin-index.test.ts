/**
 * The plugin index and download progress as a user meets them: the real `cc` against real
 * registry-mirrors on loopback. The index maps friendly names to repositories in any namespace of
 * the registry; install, info, search and mirror resolve names through it; lock files do not need it.
 */
import { execFileSync, spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PluginHost } from '@conveyor/core/plugins';
import type { RunningRegistry } from '@conveyor/registry-mirror';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EMPTY_CONFIG,
  EMPTY_CONFIG_DATA,
  INDEX_TAG,
  indexArtifact,
  indexRepositoryOf,
  MEDIA_TYPES,
  OciClient,
  type OciManifest,
  type PluginIndex,
  readPluginIndex,
  toBlob,
  updatePluginIndex,
} from '../src/plugin-dist/index.js';
import { cc, generateSigningKey, repoRoot, startPluginRegistry, startSiteRegistry } from './helpers.js';

const fixtures = join(repoRoot, 'test', 'fixtures', 'plugins');

/** util-linux `script`, which makes the pseudo-terminal of the progress bar test. */
const hasScript = (() => {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!hasScript) {
  const message = 'util-linux `script` is not installed: the terminal test of download progress cannot run';
  if (process.env.CI === 'true') throw new Error(message);
  console.warn(`SKIPPING: ${message}`);
}
const token = 'index-token';

let work: string;
let registry: RunningRegistry;
let key: { pem: string; pub: string };

beforeAll(async () => {
  // Inside the repository, so installed fixture plugins resolve @conveyor/plugin-api from its node_modules.
  work = await mkdtemp(join(repoRoot, 'test', '.cc-plugin-index-'));
  registry = await startPluginRegistry(token, '**');
  key = await generateSigningKey(join(work, 'key'));
});

afterAll(async () => {
  await registry?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

/** The registry URL of a namespace: each test works in its own. */
const ns = (namespace: string) => `${registry.url}/${namespace}`;

/** A copy of the echo fixture as `name@version`, answering lookups with `tag` appended. */
async function echoPackage(name: string, version: string, tag = '', description?: string): Promise<string> {
  const dir = await mkdtemp(join(work, `${name}-${version}-`));
  const source = await readFile(join(fixtures, 'echo-v1', 'index.js'), 'utf8');
  await writeFile(
    join(dir, 'index.js'),
    tag === '' ? source : source.replace("context.config.suffix ?? ''", JSON.stringify(tag)),
  );
  const manifest = JSON.parse(await readFile(join(fixtures, 'echo-v1', 'conveyor-plugin.json'), 'utf8'));
  await writeFile(
    join(dir, 'conveyor-plugin.json'),
    JSON.stringify({ ...manifest, name, version, ...(description === undefined ? {} : { description }) }),
  );
  return dir;
}

async function publish(dir: string, url: string, ...extra: string[]): Promise<{ digest: string }> {
  const result = await cc([
    'plugin',
    'publish',
    dir,
    '--registry',
    url,
    '--token',
    token,
    '--sign-key',
    key.pem,
    '--json',
    ...extra,
  ]);
  expect(result.code, result.stderr + result.stdout).toBe(0);
  return JSON.parse(result.stdout) as { digest: string };
}

function index(command: string, url: string, ...args: string[]) {
  return cc(['plugin', 'index', command, ...args, '--registry', url, '--token', token, '--json']);
}

function install(data: string, url: string, ...args: string[]) {
  return cc([
    'plugin',
    'install',
    ...args,
    '--registry',
    url,
    '--data-dir',
    data,
    '--trust',
    key.pub,
    '--json',
  ]);
}

function errorOf(result: { stdout: string }): {
  code: string;
  message: string;
  details?: Record<string, unknown>;
} {
  return (JSON.parse(result.stdout) as { error: { code: string; message: string } }).error;
}

async function answerOf(store: string, name: string): Promise<unknown> {
  const host = await PluginHost.create({ builtinDirs: [], installedDir: store });
  try {
    return await host.client('credentials', name).call('lookup', { team: 'main', path: 'a' });
  } finally {
    await host.close();
  }
}

interface ListResult {
  repository: string;
  digest: string | null;
  plugins: Array<{ name: string; repository: string; description: string | null }>;
}

describe('cc plugin index add, list and remove', () => {
  it('adds, replaces, lists and removes entries; refuses bad names and unknown ones with close names', async () => {
    const url = ns('round');
    const empty = await index('list', url);
    expect(empty.code, empty.stderr).toBe(0);
    expect(JSON.parse(empty.stdout)).toEqual({
      registry: registry.url,
      repository: 'round/index',
      digest: null,
      plugins: [],
    });

    const added = await index('add', url, 'git', 'acme/conveyor-git', '--description', 'Git repositories');
    expect(added.code, added.stderr + added.stdout).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({
      repository: 'round/index',
      name: 'git',
      entry: { repository: 'acme/conveyor-git', description: 'Git repositories' },
      previous: null,
      changed: true,
    });
    // Nothing is published there yet: a warning, not a refusal.
    expect(added.stderr).toContain('holds no plugin versions yet');
    expect((await index('add', url, 'time', 'other-team/time')).code).toBe(0);
    const again = await index('add', url, 'git', 'acme/conveyor-git', '--description', 'Git repositories');
    expect(JSON.parse(again.stdout)).toMatchObject({ changed: false });
    const moved = await index('add', url, 'time', 'acme/time');
    expect(JSON.parse(moved.stdout)).toMatchObject({
      previous: { repository: 'other-team/time' },
      changed: true,
    });

    const listed = JSON.parse((await index('list', url)).stdout) as ListResult;
    expect(listed.plugins).toEqual([
      { name: 'git', repository: 'acme/conveyor-git', description: 'Git repositories' },
      { name: 'time', repository: 'acme/time', description: null },
    ]);
    expect(listed.digest).toMatch(/^sha256:/);
    const text = await cc(['plugin', 'index', 'list', '--registry', url]);
    expect(text.stdout).toMatch(
      /^NAME\s+REPOSITORY\s+DESCRIPTION\ngit\s+acme\/conveyor-git\s+Git repositories\ntime\s+acme\/time\n$/,
    );

    // The artifact: its own artifactType, the empty config, one JSON layer.
    const client = new OciClient({ url: registry.url });
    const fetched = await client.getManifest('round/index', INDEX_TAG);
    expect(fetched.manifest).toMatchObject({
      artifactType: MEDIA_TYPES.pluginIndex,
      config: { mediaType: MEDIA_TYPES.ociEmpty },
      layers: [{ mediaType: MEDIA_TYPES.pluginIndexLayer }],
    });
    expect(JSON.parse((await client.getBlob('round/index', fetched.manifest.layers[0]!)).toString())).toEqual(
      {
        schemaVersion: 1,
        plugins: {
          git: { repository: 'acme/conveyor-git', description: 'Git repositories' },
          time: { repository: 'acme/time' },
        },
      },
    );

    const unknown = await index('remove', url, 'gti');
    expect(unknown.code).toBe(1);
    expect(errorOf(unknown).code).toBe('CC_E_CLI_PLUGIN_UNKNOWN_NAME');
    expect(errorOf(unknown).message).toContain('did you mean git?');
    const removed = await index('remove', url, 'time');
    expect(removed.code, removed.stdout).toBe(0);
    expect(JSON.parse(removed.stdout)).toMatchObject({ name: 'time', removed: { repository: 'acme/time' } });
    expect((JSON.parse((await index('list', url)).stdout) as ListResult).plugins.map((p) => p.name)).toEqual([
      'git',
    ]);

    for (const args of [
      ['Git', 'acme/git'],
      ['git', 'acme/../git'],
      ['git', 'https://elsewhere/acme/git'],
    ]) {
      const bad = await index('add', url, ...args);
      expect(errorOf(bad).code, args.join(' ')).toBe('CC_E_CLI_USAGE');
    }
    const anonymous = await cc(['plugin', 'index', 'add', 'x', 'acme/x', '--registry', url, '--json']);
    expect(errorOf(anonymous).code).toBe('CC_E_CLI_PLUGIN_REGISTRY_ERROR');
  });

  it('refuses to resolve through a tag that is not a plugin index, saying what to do', async () => {
    const client = new OciClient({ url: registry.url, token });
    const layer = toBlob('application/octet-stream', Buffer.from('not an index'));
    const manifest: OciManifest = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociManifest,
      artifactType: 'application/vnd.example.other',
      config: EMPTY_CONFIG,
      layers: [layer.descriptor],
    };
    await client.pushBlob('broken/index', EMPTY_CONFIG, EMPTY_CONFIG_DATA);
    await client.pushBlob('broken/index', layer.descriptor, layer.data);
    await client.pushManifest(
      'broken/index',
      INDEX_TAG,
      Buffer.from(JSON.stringify(manifest)),
      MEDIA_TYPES.ociManifest,
    );
    const result = await install(await mkdtemp(join(work, 'data-')), ns('broken'), 'anything');
    expect(errorOf(result).code).toBe('CC_E_CLI_PLUGIN_INDEX_INVALID');
    expect(errorOf(result).message).toContain('broken/index:latest is not a Conveyor plugin index');
  });
});

describe('names resolved through the index', () => {
  let digest: string;
  beforeAll(async () => {
    // The plugin lives in another namespace; publish --index lists it in the `team` namespace.
    ({ digest } = await publish(
      await echoPackage('gitty', '1.0.0', '-acme', 'Echo, published by acme'),
      ns('team'),
      '--repository',
      'acme/conveyor-gitty',
      '--index',
    ));
  });

  it('installs and shows a plugin by its friendly name from a repository in another namespace', async () => {
    const listed = JSON.parse((await index('list', ns('team'))).stdout) as ListResult;
    expect(listed.plugins).toEqual([
      { name: 'gitty', repository: 'acme/conveyor-gitty', description: 'Echo, published by acme' },
    ]);

    const info = await cc([
      'plugin',
      'info',
      'gitty',
      '--registry',
      ns('team'),
      '--trust',
      key.pub,
      '--json',
    ]);
    expect(info.code, info.stderr + info.stdout).toBe(0);
    expect(JSON.parse(info.stdout)).toMatchObject({
      name: 'gitty',
      repository: 'acme/conveyor-gitty',
      via: 'index',
      versions: [{ version: '1.0.0', digest, installs: true, signature: { status: 'trusted' } }],
    });

    const data = await mkdtemp(join(work, 'data-'));
    const installed = await install(data, ns('team'), 'gitty@^1');
    expect(installed.code, installed.stderr + installed.stdout).toBe(0);
    expect(JSON.parse(installed.stdout)).toMatchObject([
      { name: 'gitty', version: '1.0.0', digest, repository: 'acme/conveyor-gitty' },
    ]);
    expect(installed.stderr).toContain('gitty is acme/conveyor-gitty (plugin index');
    expect(await answerOf(join(data, 'plugins'), 'gitty')).toEqual({ found: true, value: 'a-acme' });

    // search lists the index (with its descriptions), not the catalog.
    const search = await cc(['plugin', 'search', '--registry', ns('team'), '--json']);
    expect(JSON.parse(search.stdout)).toEqual([
      {
        name: 'gitty',
        repository: 'acme/conveyor-gitty',
        latest: '1.0.0',
        kind: 'credentials',
        apiVersion: '^1.0',
        compatible: true,
        description: 'Echo, published by acme',
        indexed: true,
      },
    ]);
    const none = await cc(['plugin', 'search', 'nothing-like-it', '--registry', ns('team'), '--json']);
    expect(JSON.parse(none.stdout)).toEqual([]);
  });

  it('names the close names of an unknown name and how to add one', async () => {
    const data = await mkdtemp(join(work, 'data-'));
    const result = await install(data, ns('team'), 'gity');
    expect(result.code).toBe(1);
    const error = errorOf(result);
    expect(error.code).toBe('CC_E_CLI_PLUGIN_UNKNOWN_NAME');
    expect(error.message).toBe(
      `no plugin named gity: the plugin index ${registry.url}/team/index does not list it and team/gity holds no versions; did you mean gitty? \`cc plugin index add gity REPOSITORY\` adds it`,
    );
    expect(error.details).toMatchObject({ suggestions: ['gitty'] });
    const text = await cc(['plugin', 'info', 'gity', '--registry', ns('team')]);
    expect(text.code).toBe(1);
    // oclif wraps the text: compare it with the wrapping undone.
    const flat = text.stderr
      .replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '')
      .replace(/\s*›\s*/g, ' ');
    expect(flat).toContain('did you mean gitty?');
    expect(flat).toContain('cc plugin index add gity REPOSITORY');
    expect(flat).toContain('Try this: `cc plugin search` lists the names in the index');
    // --repository still wins over the index.
    const explicit = await install(data, ns('team'), 'gitty', '--repository', 'team/gitty');
    expect(errorOf(explicit).code).toBe('CC_E_CLI_PLUGIN_NO_MATCHING_VERSION');
  });

  it('records the resolved repository in the lock file, which installs with the index deleted', async () => {
    const data = await mkdtemp(join(work, 'data-'));
    expect((await install(data, ns('team'), 'gitty')).code).toBe(0);
    const lock = JSON.parse(await readFile(join(data, 'conveyor-plugins.lock'), 'utf8'));
    expect(lock.plugins).toEqual([
      { name: 'gitty', version: '1.0.0', digest, registry: registry.url, repository: 'acme/conveyor-gitty' },
    ]);

    // Its own namespace, so the other tests keep theirs.
    await publish(
      await echoPackage('gone', '1.0.0', '-gone'),
      ns('gone'),
      '--repository',
      'acme/gone',
      '--index',
    );
    const before = await mkdtemp(join(work, 'data-'));
    expect((await install(before, ns('gone'), 'gone')).code).toBe(0);
    const client = new OciClient({ url: registry.url, token });
    const { digest: indexDigest } = await client.getManifest('gone/index', INDEX_TAG);
    const deleted = await fetch(`${registry.url}/v2/gone/index/manifests/${indexDigest}`, {
      method: 'DELETE',
      headers: { authorization: `Basic ${Buffer.from(`conveyor:${token}`).toString('base64')}` },
    });
    expect(deleted.status).toBe(202);
    expect(await readPluginIndex(client, 'gone')).toBeNull();

    const other = await mkdtemp(join(work, 'data-'));
    await cp(join(before, 'conveyor-plugins.lock'), join(other, 'conveyor-plugins.lock'));
    const fromLock = await cc(['plugin', 'install', '--data-dir', other, '--trust', key.pub, '--json']);
    expect(fromLock.code, fromLock.stderr + fromLock.stdout).toBe(0);
    expect(JSON.parse(fromLock.stdout)).toMatchObject([{ name: 'gone', repository: 'acme/gone' }]);
    expect(await answerOf(join(other, 'plugins'), 'gone')).toEqual({ found: true, value: 'a-gone' });
    // By name it is gone with the index: back to <namespace>/<name>, which has nothing.
    const byName = await install(await mkdtemp(join(work, 'data-')), ns('gone'), 'gone');
    expect(errorOf(byName).code).toBe('CC_E_CLI_PLUGIN_NO_MATCHING_VERSION');
  });
});

describe('cc plugin mirror and the index', () => {
  let second: RunningRegistry;
  beforeAll(async () => {
    await publish(
      await echoPackage('mirrory', '1.0.0', '-m1', 'Its own description'),
      ns('origin'),
      '--repository',
      'vendor/conveyor-mirrory',
    );
    await publish(
      await echoPackage('mirrory', '1.1.0', '-m11', 'Its own description'),
      ns('origin'),
      '--repository',
      'vendor/conveyor-mirrory',
    );
    const added = await index(
      'add',
      ns('origin'),
      'mirrory',
      'vendor/conveyor-mirrory',
      '-d',
      'From the index',
    );
    expect(added.code, added.stdout).toBe(0);
    second = await startSiteRegistry();
  });
  afterAll(async () => {
    await second?.close();
  });

  it('copies the index entries to a registry, which then resolves the same names', async () => {
    const site = `${second.url}/site`;
    const mirrored = await cc([
      'plugin',
      'mirror',
      site,
      '--from',
      ns('origin'),
      'mirrory@^1',
      '--dest-token',
      'site-token',
      '--json',
    ]);
    expect(mirrored.code, mirrored.stderr + mirrored.stdout).toBe(0);
    expect((JSON.parse(mirrored.stdout) as Array<{ version: string }>).map((r) => r.version)).toEqual([
      '1.0.0',
      '1.1.0',
    ]);
    expect(mirrored.stderr).toContain('mirrory is vendor/conveyor-mirrory (plugin index');

    const listed = await cc(['plugin', 'index', 'list', '--registry', site, '--json']);
    expect((JSON.parse(listed.stdout) as ListResult).plugins).toEqual([
      { name: 'mirrory', repository: 'site/mirrory', description: 'From the index' },
    ]);
    const data = await mkdtemp(join(work, 'data-'));
    const installed = await install(data, site, 'mirrory');
    expect(installed.code, installed.stderr + installed.stdout).toBe(0);
    expect(JSON.parse(installed.stdout)).toMatchObject([{ version: '1.1.0', repository: 'site/mirrory' }]);
    expect(installed.stderr).toContain('(plugin index');
    expect(await answerOf(join(data, 'plugins'), 'mirrory')).toEqual({ found: true, value: 'a-m11' });

    // A lock made against the origin (repository vendor/…) installs from the mirror, which has
    // the same digest under its own namespace.
    const origin = await mkdtemp(join(work, 'data-'));
    expect((await install(origin, ns('origin'), 'mirrory@1.0.0')).code).toBe(0);
    const offline = await mkdtemp(join(work, 'data-'));
    await cp(join(origin, 'conveyor-plugins.lock'), join(offline, 'conveyor-plugins.lock'));
    const fromLock = await cc([
      'plugin',
      'install',
      '--registry',
      site,
      '--data-dir',
      offline,
      '--trust',
      key.pub,
      '--json',
    ]);
    expect(fromLock.code, fromLock.stderr + fromLock.stdout).toBe(0);
    expect(fromLock.stderr).toContain('reading mirrory from site/mirrory');
    expect(await answerOf(join(offline, 'plugins'), 'mirrory')).toEqual({ found: true, value: 'a-m1' });
    // The lock still names the origin: the mirror stood in for it.
    expect(await readFile(join(offline, 'conveyor-plugins.lock'), 'utf8')).toBe(
      await readFile(join(origin, 'conveyor-plugins.lock'), 'utf8'),
    );
    // update against the mirror finds it there the same way (1.0.0 was the range asked for).
    const updated = await cc([
      'plugin',
      'update',
      'mirrory',
      '--registry',
      site,
      '--data-dir',
      offline,
      '--trust',
      key.pub,
      '--json',
    ]);
    expect(updated.code, updated.stderr + updated.stdout).toBe(0);
    expect(JSON.parse(updated.stdout)).toMatchObject([
      { name: 'mirrory', status: 'current', range: '1.0.0' },
    ]);
  });

  it('writes the index into an OCI layout directory, which install reads by friendly name', async () => {
    const layout = join(await mkdtemp(join(work, 'layout-')), 'offline');
    const mirrored = await cc([
      'plugin',
      'mirror',
      layout,
      '--from',
      ns('origin'),
      'mirrory@1.0.0',
      '--json',
    ]);
    expect(mirrored.code, mirrored.stderr + mirrored.stdout).toBe(0);
    const listed = await cc(['plugin', 'index', 'list', '--registry', `oci-layout:${layout}`, '--json']);
    expect((JSON.parse(listed.stdout) as ListResult).plugins).toEqual([
      { name: 'mirrory', repository: 'plugins/mirrory', description: 'From the index' },
    ]);
    const layoutIndex = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as {
      manifests: Array<{ artifactType?: string; annotations?: Record<string, string> }>;
    };
    expect(layoutIndex.manifests).toContainEqual(
      expect.objectContaining({
        artifactType: MEDIA_TYPES.pluginIndex,
        annotations: { 'org.opencontainers.image.ref.name': 'plugins/index:latest' },
      }),
    );

    const data = await mkdtemp(join(work, 'data-'));
    const installed = await install(data, `oci-layout:${layout}`, 'mirrory');
    expect(installed.code, installed.stderr + installed.stdout).toBe(0);
    expect(JSON.parse(installed.stdout)).toMatchObject([{ version: '1.0.0', repository: 'plugins/mirrory' }]);
    expect(installed.stderr).toContain('(plugin index');
    const search = await cc(['plugin', 'search', '--registry', `oci-layout:${layout}`, '--json']);
    expect(JSON.parse(search.stdout)).toMatchObject([
      { name: 'mirrory', latest: '1.0.0', description: 'From the index', indexed: true },
    ]);
  });
});

describe('concurrent index updates', () => {
  /** Another writer's entry, written straight through the registry API. */
  async function writeStale(
    client: OciClient,
    namespace: string,
    base: PluginIndex,
    name: string,
  ): Promise<void> {
    const repository = indexRepositoryOf(namespace);
    const next: PluginIndex = {
      schemaVersion: 1,
      plugins: { ...base.plugins, [name]: { repository: `x/${name}` } },
    };
    const { layer, manifest } = indexArtifact(next);
    await client.pushBlob(repository, EMPTY_CONFIG, EMPTY_CONFIG_DATA);
    await client.pushBlob(repository, layer.descriptor, layer.data);
    await client.pushManifest(repository, INDEX_TAG, manifest, MEDIA_TYPES.ociManifest);
  }

  const add = (name: string) => (index: PluginIndex) => {
    index.plugins[name] = { repository: `x/${name}` };
    return index;
  };

  it('re-reads when the index changed between its read and its write', async () => {
    const other = new OciClient({ url: registry.url, token });
    await updatePluginIndex(other, 'race1', add('first'));
    // The other writer gets in while this one pushes its layer, before its check and PUT.
    let raced = false;
    class Racing extends OciClient {
      override async pushBlob(...args: Parameters<OciClient['pushBlob']>): Promise<void> {
        if (!raced && args[1].mediaType === MEDIA_TYPES.pluginIndexLayer) {
          raced = true;
          await updatePluginIndex(other, 'race1', add('theirs'));
        }
        return super.pushBlob(...args);
      }
    }
    const lines: string[] = [];
    const update = await updatePluginIndex(new Racing({ url: registry.url, token }), 'race1', add('ours'), {
      log: (line) => lines.push(line),
    });
    expect(raced).toBe(true);
    expect(lines.join('\n')).toContain('changed while updating it');
    expect(Object.keys(update.index.plugins)).toEqual(['first', 'ours', 'theirs']);
    expect(Object.keys((await readPluginIndex(other, 'race1'))!.index.plugins)).toEqual([
      'first',
      'ours',
      'theirs',
    ]);
  });

  it('merges again when a writer that read before its PUT overwrites it after', async () => {
    const other = new OciClient({ url: registry.url, token });
    await updatePluginIndex(other, 'race2', add('first'));
    let raced = false;
    class Overwritten extends OciClient {
      override async pushManifest(...args: Parameters<OciClient['pushManifest']>): Promise<string> {
        if (raced || args[1] !== INDEX_TAG) return super.pushManifest(...args);
        raced = true;
        // The other writer read the index before this PUT, and writes what it read plus its own after it.
        const stale = (await readPluginIndex(other, 'race2'))!.index;
        const digest = await super.pushManifest(...args);
        await writeStale(other, 'race2', stale, 'theirs');
        return digest;
      }
    }
    const lines: string[] = [];
    await updatePluginIndex(new Overwritten({ url: registry.url, token }), 'race2', add('ours'), {
      log: (line) => lines.push(line),
    });
    expect(raced).toBe(true);
    expect(lines.join('\n')).toContain('another writer replaced the plugin index');
    expect(Object.keys((await readPluginIndex(other, 'race2'))!.index.plugins)).toEqual([
      'first',
      'ours',
      'theirs',
    ]);
  });

  it('keeps every entry when several cc processes add to one index at once', async () => {
    const url = ns('race3');
    const names = ['alpha', 'bravo', 'charlie', 'delta'];
    const results = await Promise.all(names.map((name) => index('add', url, name, `x/${name}`)));
    for (const result of results) expect(result.code, result.stderr + result.stdout).toBe(0);
    const listed = JSON.parse((await index('list', url)).stdout) as ListResult;
    expect(listed.plugins.map((p) => p.name)).toEqual(names);
  });
});

describe('download progress', () => {
  it('prints one plain line per blob to stderr when it is not a terminal, and nothing more on stdout', async () => {
    const { digest } = await publish(await echoPackage('progressive', '1.0.0'), ns('progress'));
    const client = new OciClient({ url: registry.url });
    const { manifest } = await client.getManifest('progress/progressive', digest);

    const data = await mkdtemp(join(work, 'data-'));
    const json = await install(data, ns('progress'), 'progressive');
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject([{ name: 'progressive', digest }]);
    for (const blob of [manifest.config, manifest.layers[0]!]) {
      expect(json.stderr).toMatch(
        new RegExp(`^  progress/progressive@${blob.digest.slice(0, 19)} \\d+(\\.\\d)? (B|KiB)`, 'm'),
      );
    }
    // No bar: no carriage returns or escape sequences in a pipe.
    expect(json.stderr).not.toContain('\r');
    expect(json.stderr).not.toContain('\u001b');

    const plain = await cc([
      'plugin',
      'install',
      'progressive',
      '--registry',
      ns('progress'),
      '--data-dir',
      await mkdtemp(join(work, 'data-')),
      '--trust',
      key.pub,
    ]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toMatch(/^installed progressive@1\.0\.0 sha256:[0-9a-f]{64} \(signed by [^)]+\)\n$/);
    expect(plain.stderr).toContain(`progress/progressive@${manifest.layers[0]!.digest.slice(0, 19)}`);
  });

  it.skipIf(!hasScript)('draws bars on stderr when it is a terminal, and keeps them off stdout', async () => {
    await publish(await echoPackage('barred', '1.0.0'), ns('progress'));
    const data = await mkdtemp(join(work, 'data-'));
    const out = join(data, 'stdout.txt');
    const run = [
      'node',
      join(repoRoot, 'cli/bin/run.js'),
      'plugin install barred',
      `--registry ${ns('progress')}`,
      `--data-dir ${data}`,
      `--trust ${key.pub}`,
    ].join(' ');
    // util-linux `script` gives the command a pseudo-terminal; stdout goes to a file instead.
    const terminal = await new Promise<string>((resolve, reject) => {
      const base = Object.fromEntries(
        Object.entries(process.env).filter(([k]) => !k.startsWith('CONVEYOR_')),
      );
      const child = spawn('script', ['-qefc', `stty cols 120 rows 30; ${run} > ${out}`, '/dev/null'], {
        env: { ...base, TERM: 'xterm', NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      child.on('error', reject);
      child.on('close', (code) =>
        code === 0 ? resolve(output) : reject(new Error(`exit ${code}: ${output}`)),
      );
    });
    // A bar drawn in place (carriage return, erase line) at 0%, then its summary line.
    // Carriage return and erase-line, as regular-expression escapes.
    const redraw = '\\r\\u001b\\[K';
    expect(terminal).toMatch(
      new RegExp(`${redraw}  progress/barred@sha256:[0-9a-f]{12} \\[-+\\]   0%  0 B/`),
    );
    expect(terminal).toMatch(
      new RegExp(`${redraw}  progress/barred@sha256:[0-9a-f]{12} \\d+(\\.\\d)? (B|KiB)`),
    );
    expect(await readFile(out, 'utf8')).toMatch(
      /^installed barred@1\.0\.0 sha256:[0-9a-f]{64} \(signed by [^)]+\)\n$/,
    );
  });
});
