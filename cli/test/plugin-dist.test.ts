import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { type RunningRegistry, startRegistryMirror } from '@conveyor/registry-mirror';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MEDIA_TYPES,
  OciClient,
  type PluginArtifactConfig,
  packPlugin,
  publishPlugin,
  readPackageArchive,
  sha256Digest,
} from '../src/plugin-dist/index.js';
import { repoRoot } from './helpers.js';

const fixtures = join(repoRoot, 'test', 'fixtures', 'plugins');

describe('plugin artifacts: pack', () => {
  it('packs a directory deterministically into config, layer and manifest', async () => {
    const a = await packPlugin(join(fixtures, 'echo-v1'));
    // A copy made now has other mtimes and inode order: the digests must not care.
    const dir = await mkdtemp(join(tmpdir(), 'cc-pack-'));
    try {
      await cp(join(fixtures, 'echo-v1'), dir, { recursive: true });
      const b = await packPlugin(dir);
      expect(b.artifact.descriptor.digest).toBe(a.artifact.descriptor.digest);
      expect(b.layer.descriptor.digest).toBe(a.layer.descriptor.digest);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect(a.files).toEqual(['conveyor-plugin.json', 'index.js']);
    const config = JSON.parse(a.config.data.toString()) as PluginArtifactConfig;
    expect(config).toMatchObject({ name: 'echo', version: '1.0.0', kind: 'credentials', apiVersion: '^1.0' });
    expect(config.packageDigest).toBe(sha256Digest(gunzipSync(a.layer.data)));
    const manifest = JSON.parse(a.artifact.data.toString());
    expect(manifest).toMatchObject({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociManifest,
      artifactType: MEDIA_TYPES.plugin,
      config: { mediaType: MEDIA_TYPES.pluginConfig, digest: a.config.descriptor.digest },
      layers: [{ mediaType: MEDIA_TYPES.pluginLayer, digest: a.layer.descriptor.digest }],
    });
    const entries = await readPackageArchive(a.layer.data);
    expect(entries.map((e) => e.path)).toEqual(['conveyor-plugin.json', 'index.js']);
  });

  it('packs what package.json `files` lists, plus the manifest', async () => {
    const packed = await packPlugin(join(repoRoot, 'plugins', 'resource-mock'));
    expect(packed.files).toContain('conveyor-plugin.json');
    expect(packed.files).toContain('package.json');
    expect(packed.files).toContain('dist/index.js');
    expect(packed.files.some((f) => f.startsWith('src/') || f.startsWith('test/'))).toBe(false);
  });

  it('refuses a directory without a valid manifest', async () => {
    await expect(packPlugin(join(fixtures, 'bad-manifest'))).rejects.toMatchObject({
      code: 'CC_E_CLI_PLUGIN_PACKAGE_INVALID',
    });
  });
});

describe('plugin artifacts: the OCI client against registry-mirror', () => {
  let root: string;
  let registry: RunningRegistry;
  const token = 'push-token';

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'cc-registry-'));
    registry = await startRegistryMirror({
      root,
      port: 0,
      auth: {
        tokens: [{ token, access: [{ repository: 'plugins/**', actions: ['*'] }] }],
        anonymous: 'none',
      },
    });
  });
  afterAll(async () => {
    await registry?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('pushes, lists tags, and pulls back the same bytes', async () => {
    const client = new OciClient({ url: registry.url, token });
    const packed = await packPlugin(join(fixtures, 'echo-v1'));
    const published = await publishPlugin({
      from: packed,
      client,
      repository: (name) => `plugins/${name}`,
    });
    expect(published).toMatchObject({ name: 'echo', version: '1.0.0', repository: 'plugins/echo' });
    expect(published.digest).toBe(packed.artifact.descriptor.digest);
    // Pushing again is a no-op (blobs exist) with the same digest.
    expect((await publishPlugin({ from: packed, client, repository: (n) => `plugins/${n}` })).digest).toBe(
      published.digest,
    );

    expect(await client.listTags('plugins/echo')).toEqual(['1.0.0']);
    expect(await client.listTags('plugins/nothing-here')).toEqual([]);
    const manifest = await client.getManifest('plugins/echo', '1.0.0');
    expect(manifest.digest).toBe(published.digest);
    expect(await client.getBlob('plugins/echo', packed.layer.descriptor)).toEqual(packed.layer.data);
  });

  it('refuses a blob whose bytes were rewritten in the registry storage', async () => {
    const client = new OciClient({ url: registry.url, token });
    const packed = await packPlugin(join(fixtures, 'echo-v2'));
    await publishPlugin({ from: packed, client, repository: (n) => `plugins/${n}` });
    const hex = packed.config.descriptor.digest.slice('sha256:'.length);
    const file = join(root, 'blobs', 'sha256', hex.slice(0, 2), hex);
    const original = await readFile(file);
    await writeFile(file, Buffer.from(original.toString().replace('echo', 'ohce')));
    try {
      await expect(client.getBlob('plugins/echo', packed.config.descriptor)).rejects.toMatchObject({
        code: 'CC_E_CLI_PLUGIN_DIGEST_MISMATCH',
      });
    } finally {
      await writeFile(file, original);
    }
  });

  it('reports refused credentials and an unreachable registry with their codes', async () => {
    await expect(new OciClient({ url: registry.url }).listTags('plugins/echo')).rejects.toMatchObject({
      code: 'CC_E_CLI_PLUGIN_REGISTRY_ERROR',
    });
    await expect(
      new OciClient({ url: registry.url, token: 'wrong' }).listTags('plugins/echo'),
    ).rejects.toMatchObject({
      code: 'CC_E_CLI_PLUGIN_REGISTRY_ERROR',
    });
    await expect(new OciClient({ url: 'http://127.0.0.1:1' }).listTags('plugins/echo')).rejects.toMatchObject(
      {
        code: 'CC_E_CLI_PLUGIN_REGISTRY_UNREACHABLE',
      },
    );
  });

  it("follows Distribution's Bearer token flow", async () => {
    const bearerRoot = await mkdtemp(join(tmpdir(), 'cc-registry-bearer-'));
    const bearer = await startRegistryMirror({
      root: bearerRoot,
      port: 0,
      auth: {
        scheme: 'bearer',
        tokens: [{ token, access: [{ repository: 'plugins/**', actions: ['*'] }] }],
        anonymous: 'none',
      },
    });
    try {
      const client = new OciClient({ url: bearer.url, token });
      const published = await publishPlugin({
        from: join(fixtures, 'echo-v1'),
        client,
        repository: (n) => `plugins/${n}`,
      });
      expect((await client.getManifest('plugins/echo', '1.0.0')).digest).toBe(published.digest);
    } finally {
      await bearer.close();
      await rm(bearerRoot, { recursive: true, force: true });
    }
  });
});
