/**
 * `cc plugin link|unlink|update|mirror` as a user runs them: the real `cc` against real
 * registry-mirrors on loopback, and the core's plugin host over the store they change.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PluginHost } from '@conveyor/core/plugins';
import type { RunningRegistry } from '@conveyor/registry-mirror';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cc, generateSigningKey, repoRoot, startPluginRegistry, startSiteRegistry } from './helpers.js';

const fixtures = join(repoRoot, 'test', 'fixtures', 'plugins');
const token = 'publisher-token';

let work: string;
let registry: RunningRegistry;
let registryUrl: string;
let key: { pem: string; pub: string };

beforeAll(async () => {
  // Inside the repository, so installed fixture plugins resolve @conveyor/plugin-api from its node_modules.
  work = await mkdtemp(join(repoRoot, 'test', '.cc-plugin-lifecycle-'));
  registry = await startPluginRegistry(token, 'plugins/**');
  registryUrl = `${registry.url}/plugins`;
  key = await generateSigningKey(join(work, 'key'));
});

afterAll(async () => {
  await registry?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

/** A copy of the echo fixture as `name@version`, answering lookups with `tag` appended. */
async function echoPackage(name: string, version: string, tag = ''): Promise<string> {
  const dir = await mkdtemp(join(work, `${name}-${version}-`));
  await cp(join(fixtures, 'echo-v1', 'index.js'), join(dir, 'index.js'));
  if (tag !== '') {
    const source = await readFile(join(dir, 'index.js'), 'utf8');
    await writeFile(
      join(dir, 'index.js'),
      source.replace("context.config.suffix ?? ''", JSON.stringify(tag)),
    );
  }
  const manifest = JSON.parse(await readFile(join(fixtures, 'echo-v1', 'conveyor-plugin.json'), 'utf8'));
  await writeFile(join(dir, 'conveyor-plugin.json'), JSON.stringify({ ...manifest, name, version }));
  return dir;
}

async function publish(dir: string, url = registryUrl): Promise<string> {
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
  ]);
  expect(result.code, result.stderr + result.stdout).toBe(0);
  return (JSON.parse(result.stdout) as { digest: string }).digest;
}

function ccJson(args: string[]) {
  return cc([...args, '--json']);
}

/** Which directory and version the host picks for `name`, and what the plugin answers. */
async function hostView(
  store: string,
  name: string,
): Promise<{ dir: string; version: string; answer: unknown }> {
  const host = await PluginHost.create({ builtinDirs: [], installedDir: store });
  try {
    const plugin = host.resolve(name);
    const answer = await host.client('credentials', name).call('lookup', { team: 'main', path: 'a' });
    return { dir: plugin.dir, version: plugin.manifest.version, answer };
  } finally {
    await host.close();
  }
}

describe('cc plugin link and unlink', () => {
  it('makes the host use the linked package over every installed version, and unlink restores them', async () => {
    await publish(await echoPackage('linky', '1.0.0'));
    await publish(await echoPackage('linky', '2.0.0'));
    const data = await mkdtemp(join(work, 'data-'));
    const store = join(data, 'plugins');
    for (const range of ['^1', '^2']) {
      const result = await ccJson([
        'plugin',
        'install',
        `linky@${range}`,
        '--registry',
        registryUrl,
        '--data-dir',
        data,
        '--trust',
        key.pub,
      ]);
      expect(result.code, result.stdout).toBe(0);
    }
    expect(await hostView(store, 'linky')).toMatchObject({ version: '2.0.0', answer: { value: 'a' } });

    // The package under development has the same version as an installed one, and a lower one than another.
    const dev = await echoPackage('linky', '1.0.0', '-dev');
    const linked = await ccJson(['plugin', 'link', dev, '--data-dir', data]);
    expect(linked.code, linked.stdout).toBe(0);
    expect(JSON.parse(linked.stdout)).toMatchObject({
      name: 'linky',
      version: '1.0.0',
      shadowed: ['1.0.0', '2.0.0'],
    });
    expect(await hostView(store, 'linky')).toEqual({
      dir: dev,
      version: '1.0.0',
      answer: { found: true, value: 'a-dev' },
    });

    // Relinking replaces the link.
    const dev2 = await echoPackage('linky', '3.0.0-dev', '-dev2');
    expect((await ccJson(['plugin', 'link', dev2, '--data-dir', data])).code).toBe(0);
    expect(await hostView(store, 'linky')).toMatchObject({ dir: dev2, answer: { value: 'a-dev2' } });

    // Removing under a link is refused: it would delete the hidden installed versions.
    const removed = await ccJson(['plugin', 'remove', 'linky', '--data-dir', data]);
    expect(removed.code).not.toBe(0);
    expect(JSON.parse(removed.stdout).error.message).toContain('cc plugin unlink linky');

    const unlinked = await ccJson(['plugin', 'unlink', 'linky', '--data-dir', data]);
    expect(unlinked.code, unlinked.stdout).toBe(0);
    expect(JSON.parse(unlinked.stdout)).toMatchObject({
      name: 'linky',
      path: dev2,
      restored: ['1.0.0', '2.0.0'],
    });
    const view = await hostView(store, 'linky');
    expect(view).toMatchObject({ version: '2.0.0', answer: { value: 'a' } });
    expect(view.dir.startsWith(store)).toBe(true);
    // The package under development is left alone.
    expect(JSON.parse(await readFile(join(dev2, 'conveyor-plugin.json'), 'utf8')).version).toBe('3.0.0-dev');

    const again = await ccJson(['plugin', 'unlink', 'linky', '--data-dir', data]);
    expect(again.code).not.toBe(0);
    expect(JSON.parse(again.stdout).error.code).toBe('CC_E_CLI_PLUGIN_NOT_LINKED');
  });

  it('links a plugin that is not installed at all', async () => {
    const data = await mkdtemp(join(work, 'data-'));
    const dev = await echoPackage('fresh', '0.1.0', '-new');
    expect((await ccJson(['plugin', 'link', dev, '--data-dir', data])).code).toBe(0);
    expect(await hostView(join(data, 'plugins'), 'fresh')).toEqual({
      dir: dev,
      version: '0.1.0',
      answer: { found: true, value: 'a-new' },
    });
    expect((await ccJson(['plugin', 'unlink', 'fresh', '--data-dir', data])).code).toBe(0);
    const host = await PluginHost.create({ builtinDirs: [], installedDir: join(data, 'plugins') });
    try {
      expect(host.list()).toEqual([]);
    } finally {
      await host.close();
    }
  });
});

describe('cc plugin update', () => {
  it('updates to the highest version within the locked range, not past it', async () => {
    const v100 = await publish(await echoPackage('upd', '1.0.0'));
    const data = await mkdtemp(join(work, 'data-'));
    const store = join(data, 'plugins');
    const installed = await ccJson([
      'plugin',
      'install',
      'upd@^1',
      '--registry',
      registryUrl,
      '--data-dir',
      data,
      '--trust',
      key.pub,
    ]);
    expect(installed.code, installed.stdout).toBe(0);

    const nothing = await ccJson(['plugin', 'update', 'upd', '--data-dir', data, '--trust', key.pub]);
    expect(nothing.code, nothing.stdout).toBe(0);
    expect(JSON.parse(nothing.stdout)).toMatchObject([
      { name: 'upd', from: '1.0.0', to: '1.0.0', status: 'current' },
    ]);

    const v110 = await publish(await echoPackage('upd', '1.1.0', '-1.1'));
    await publish(await echoPackage('upd', '2.0.0', '-2'));
    // Not trusted: nothing changes.
    const untrusted = await ccJson(['plugin', 'update', 'upd', '--data-dir', data]);
    expect(untrusted.code).not.toBe(0);
    expect(JSON.parse(untrusted.stdout).error.code).toBe('CC_E_CLI_PLUGIN_UNTRUSTED');
    expect(await hostView(store, 'upd')).toMatchObject({ version: '1.0.0' });

    const updated = await ccJson(['plugin', 'update', '--data-dir', data, '--trust', key.pub]);
    expect(updated.code, updated.stdout).toBe(0);
    expect(JSON.parse(updated.stdout)).toMatchObject([
      { name: 'upd', from: '1.0.0', to: '1.1.0', range: '^1', digest: v110, status: 'updated' },
    ]);
    expect(v110).not.toBe(v100);
    expect(JSON.parse(await readFile(join(data, 'conveyor-plugins.lock'), 'utf8'))).toEqual({
      lockfileVersion: 1,
      plugins: [
        {
          name: 'upd',
          version: '1.1.0',
          digest: v110,
          registry: registry.url,
          repository: 'plugins/upd',
          range: '^1',
        },
      ],
    });
    const host = await PluginHost.create({ builtinDirs: [], installedDir: store });
    try {
      expect(host.list().map((p) => p.version)).toEqual(['1.1.0']);
      expect(await host.client('credentials', 'upd').call('lookup', { team: 'main', path: 'a' })).toEqual({
        found: true,
        value: 'a-1.1',
      });
    } finally {
      await host.close();
    }
  });

  it('defaults an entry without a recorded range to ^<installed major> and records it', async () => {
    const data = await mkdtemp(join(work, 'data-'));
    const installed = await ccJson([
      'plugin',
      'install',
      'upd@1.0.0',
      '--registry',
      registryUrl,
      '--data-dir',
      data,
      '--trust',
      key.pub,
    ]);
    expect(installed.code, installed.stdout).toBe(0);
    const lockFile = join(data, 'conveyor-plugins.lock');
    const lock = JSON.parse(await readFile(lockFile, 'utf8'));
    // A lock written before ranges were recorded.
    delete lock.plugins[0].range;
    await writeFile(lockFile, JSON.stringify(lock));
    const updated = await ccJson(['plugin', 'update', 'upd', '--data-dir', data, '--trust', key.pub]);
    expect(updated.code, updated.stdout).toBe(0);
    expect(JSON.parse(updated.stdout)).toMatchObject([{ from: '1.0.0', to: '1.1.0', range: '^1' }]);
    expect(JSON.parse(await readFile(lockFile, 'utf8')).plugins).toMatchObject([
      { version: '1.1.0', range: '^1' },
    ]);

    const missing = await ccJson(['plugin', 'update', 'nope', '--data-dir', data]);
    expect(JSON.parse(missing.stdout).error.code).toBe('CC_E_CLI_PLUGIN_NOT_INSTALLED');
  });
});

describe('cc plugin mirror', () => {
  let second: RunningRegistry;
  let digests: Record<string, string>;
  beforeAll(async () => {
    digests = {
      '1.0.0': await publish(await echoPackage('mirrored', '1.0.0', '-m1')),
      '1.2.0': await publish(await echoPackage('mirrored', '1.2.0', '-m12')),
      '2.0.0': await publish(await echoPackage('mirrored', '2.0.0', '-m2')),
    };
    await publish(await echoPackage('carried', '1.1.0'));
    second = await startSiteRegistry();
  });
  afterAll(async () => {
    await second?.close();
  });

  it('copies the versions in range with their signatures to another registry, which install verifies', async () => {
    const siteUrl = `${second.url}/site`;
    const mirrored = await ccJson([
      'plugin',
      'mirror',
      siteUrl,
      '--from',
      registryUrl,
      'mirrored@^1',
      '--dest-token',
      'site-token',
    ]);
    expect(mirrored.code, mirrored.stderr + mirrored.stdout).toBe(0);
    const results = JSON.parse(mirrored.stdout) as Array<{
      version: string;
      digest: string;
      signatures: string[];
    }>;
    expect(results.map((r) => [r.version, r.digest])).toEqual([
      ['1.0.0', digests['1.0.0']],
      ['1.2.0', digests['1.2.0']],
    ]);
    expect(results.every((r) => r.signatures.length === 1)).toBe(true);

    const data = await mkdtemp(join(work, 'data-'));
    const installed = await ccJson([
      'plugin',
      'install',
      'mirrored',
      '--registry',
      siteUrl,
      '--data-dir',
      data,
      '--trust',
      key.pub,
    ]);
    expect(installed.code, installed.stdout).toBe(0);
    expect(JSON.parse(installed.stdout)).toMatchObject([
      {
        name: 'mirrored',
        version: '1.2.0',
        digest: digests['1.2.0'],
        signedBy: expect.any(String),
        repository: 'site/mirrored',
      },
    ]);
    expect(await hostView(join(data, 'plugins'), 'mirrored')).toMatchObject({ answer: { value: 'a-m12' } });
    // 2.0.0 was outside the range: not mirrored.
    const none = await ccJson([
      'plugin',
      'install',
      'mirrored@^2',
      '--registry',
      siteUrl,
      '--data-dir',
      data,
      '--trust',
      key.pub,
    ]);
    expect(JSON.parse(none.stdout).error.code).toBe('CC_E_CLI_PLUGIN_NO_MATCHING_VERSION');
    // Without the publisher's key the copied signature is of no one trusted.
    const other = await mkdtemp(join(work, 'data-'));
    const untrusted = await ccJson([
      'plugin',
      'install',
      'mirrored',
      '--registry',
      siteUrl,
      '--data-dir',
      other,
    ]);
    expect(JSON.parse(untrusted.stdout).error.code).toBe('CC_E_CLI_PLUGIN_UNTRUSTED');
  });

  it('copies a lock file to an OCI layout directory that install reads, signature verified and digests checked', async () => {
    const source = await mkdtemp(join(work, 'data-'));
    for (const spec of ['mirrored@^2', 'carried@^1']) {
      const result = await ccJson([
        'plugin',
        'install',
        spec,
        '--registry',
        registryUrl,
        '--data-dir',
        source,
        '--trust',
        key.pub,
      ]);
      expect(result.code, result.stdout).toBe(0);
    }
    const layout = join(await mkdtemp(join(work, 'layout-')), 'offline');
    const lockFile = join(source, 'conveyor-plugins.lock');
    const mirrored = await ccJson(['plugin', 'mirror', layout, '--lock', lockFile]);
    expect(mirrored.code, mirrored.stderr + mirrored.stdout).toBe(0);
    expect(JSON.parse(mirrored.stdout)).toHaveLength(2);
    expect(JSON.parse(await readFile(join(layout, 'oci-layout'), 'utf8'))).toEqual({
      imageLayoutVersion: '1.0.0',
    });

    // By name from the layout.
    const data = await mkdtemp(join(work, 'data-'));
    const byName = await ccJson([
      'plugin',
      'install',
      'mirrored',
      '--registry',
      `oci-layout:${layout}`,
      '--data-dir',
      data,
      '--trust',
      key.pub,
    ]);
    expect(byName.code, byName.stdout).toBe(0);
    expect(JSON.parse(byName.stdout)).toMatchObject([
      { version: '2.0.0', digest: digests['2.0.0'], signedBy: expect.any(String) },
    ]);
    expect(await hostView(join(data, 'plugins'), 'mirrored')).toMatchObject({ answer: { value: 'a-m2' } });

    // The whole lock file from the layout, as a mirror of the registries it names.
    const fromLock = await mkdtemp(join(work, 'data-'));
    await cp(lockFile, join(fromLock, 'conveyor-plugins.lock'));
    const locked = await ccJson([
      'plugin',
      'install',
      '--registry',
      `oci-layout:${layout}`,
      '--data-dir',
      fromLock,
      '--trust',
      key.pub,
    ]);
    expect(locked.code, locked.stdout).toBe(0);
    expect((JSON.parse(locked.stdout) as Array<{ name: string }>).map((r) => r.name).sort()).toEqual([
      'carried',
      'mirrored',
    ]);

    // Unsigned is refused from a layout too: a layout holds no signature for an unknown key's trust.
    const untrusted = await ccJson([
      'plugin',
      'install',
      'carried',
      '--registry',
      `oci-layout:${layout}`,
      '--data-dir',
      await mkdtemp(join(work, 'data-')),
    ]);
    expect(JSON.parse(untrusted.stdout).error.code).toBe('CC_E_CLI_PLUGIN_UNTRUSTED');

    // A layer altered in the layout is refused.
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as {
      manifests: Array<{ digest: string; annotations?: Record<string, string> }>;
    };
    const entry = index.manifests.find(
      (m) => m.annotations?.['org.opencontainers.image.ref.name'] === 'plugins/carried:1.1.0',
    );
    expect(entry).toBeDefined();
    const manifest = JSON.parse(
      await readFile(join(layout, 'blobs', 'sha256', (entry?.digest ?? '').slice(7)), 'utf8'),
    );
    const layer = join(layout, 'blobs', 'sha256', manifest.layers[0].digest.slice(7));
    const bytes = await readFile(layer);
    bytes.writeUInt8((bytes.at(-1) ?? 0) ^ 0xff, bytes.length - 1);
    await writeFile(layer, bytes);
    const tampered = await mkdtemp(join(work, 'data-'));
    const refused = await ccJson([
      'plugin',
      'install',
      'carried',
      '--registry',
      `oci-layout:${layout}`,
      '--data-dir',
      tampered,
      '--trust',
      key.pub,
    ]);
    expect(JSON.parse(refused.stdout).error.code).toBe('CC_E_CLI_PLUGIN_DIGEST_MISMATCH');
  });
});
