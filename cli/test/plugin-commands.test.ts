/**
 * `cc plugin pack|keygen|publish|install|remove` as a user runs them: the real `cc` binary against
 * a real registry-mirror on loopback, and the core's plugin host over the store it installs into.
 */
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PluginHost } from '@conveyor/core/plugins';
import { PLUGIN_API_VERSION } from '@conveyor/plugin-api';
import type { RunningRegistry } from '@conveyor/registry-mirror';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ANNOTATIONS,
  EMPTY_CONFIG,
  EMPTY_CONFIG_DATA,
  MEDIA_TYPES,
  OciClient,
  type OciManifest,
  readPrivateKey,
  sha256Digest,
  signManifest,
  toBlob,
  verifySignature,
} from '../src/plugin-dist/index.js';
import { cc, generateSigningKey, repoRoot, startPluginRegistry } from './helpers.js';

const fixtures = join(repoRoot, 'test', 'fixtures', 'plugins');
const token = 'publisher-token';

let root: string;
let registry: RunningRegistry;
let work: string;
let registryUrl: string;
let keys: { a: { pem: string; pub: string; id: string }; b: { pem: string; pub: string; id: string } };

beforeAll(async () => {
  const started = await startPluginRegistry(token, 'plugins/**');
  registry = started;
  root = started.root;
  registryUrl = `${registry.url}/plugins`;
  // Inside the repository, so installed fixture plugins resolve @conveyor/plugin-api from its node_modules.
  work = await mkdtemp(join(repoRoot, 'test', '.cc-plugin-work-'));
  keys = {
    a: await generateSigningKey(join(work, 'key-a')),
    b: await generateSigningKey(join(work, 'key-b')),
  };
});

afterAll(async () => {
  await registry?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

async function publish(dir: string, ...extra: string[]): Promise<{ digest: string; repository: string }> {
  const result = await cc([
    'plugin',
    'publish',
    dir,
    '--registry',
    registryUrl,
    '--token',
    token,
    '--json',
    ...extra,
  ]);
  expect(result.code, result.stderr + result.stdout).toBe(0);
  return JSON.parse(result.stdout) as { digest: string; repository: string };
}

async function dataDir(): Promise<string> {
  return mkdtemp(join(work, 'data-'));
}

function install(data: string, ...args: string[]) {
  return cc(['plugin', 'install', ...args, '--registry', registryUrl, '--data-dir', data, '--json']);
}

function errorOf(result: { stdout: string }): { code: string; message: string } {
  return (JSON.parse(result.stdout) as { error: { code: string; message: string } }).error;
}

/**
 * Everything under a directory, relative, sorted; [] when it does not exist. The store's
 * node_modules is the host's link to its plugin API (see linkHostPackages), not installed content.
 */
async function tree(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true }).catch(() => [] as string[]))
    .filter((path) => path !== 'node_modules' && !path.startsWith('node_modules/'))
    .sort();
}

/** A tar built header by header, so a test can put in what no honest packer would. */
function rawTar(entries: Array<{ path: string; type?: string; linkpath?: string; data?: string }>): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const data = Buffer.from(entry.data ?? '');
    const header = new tar.Header({
      path: entry.path,
      mode: 0o644,
      size: data.length,
      type: (entry.type ?? 'File') as 'File',
      mtime: new Date(0),
      uid: 0,
      gid: 0,
      ...(entry.linkpath === undefined ? {} : { linkpath: entry.linkpath }),
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** Pushes a hand-made plugin artifact (signed with key a) whose layer is `tarball`. */
async function pushCrafted(name: string, version: string, tarball: Buffer): Promise<void> {
  const client = new OciClient({ url: registry.url, token });
  const repository = `plugins/${name}`;
  const layer = toBlob(MEDIA_TYPES.pluginLayer, gzipSync(tarball));
  const config = toBlob(
    MEDIA_TYPES.pluginConfig,
    Buffer.from(
      JSON.stringify({
        name,
        version,
        kind: 'credentials',
        apiVersion: '^1.0',
        packageDigest: sha256Digest(tarball),
      }),
    ),
  );
  const manifest: OciManifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    artifactType: MEDIA_TYPES.plugin,
    config: config.descriptor,
    layers: [layer.descriptor],
  };
  const artifact = toBlob(MEDIA_TYPES.ociManifest, Buffer.from(JSON.stringify(manifest)));
  for (const blob of [layer, config]) await client.pushBlob(repository, blob.descriptor, blob.data);
  await client.pushManifest(repository, version, artifact.data, MEDIA_TYPES.ociManifest);
  const signature = signManifest(artifact.descriptor, await readPrivateKey(keys.a.pem));
  await client.pushBlob(repository, EMPTY_CONFIG, EMPTY_CONFIG_DATA);
  await client.pushBlob(repository, signature.layer.descriptor, signature.layer.data);
  await client.pushManifest(
    repository,
    signature.manifest.descriptor.digest,
    signature.manifest.data,
    MEDIA_TYPES.ociManifest,
  );
}

const manifestJson = (name: string) =>
  JSON.stringify({ name, version: '1.0.0', kind: 'credentials', apiVersion: '^1.0', main: 'index.js' });

describe('cc plugin pack, keygen and publish', () => {
  it('packs deterministically and writes an OCI image layout tarball', async () => {
    const output = join(work, 'echo.tar');
    const result = await cc(['plugin', 'pack', join(fixtures, 'echo-v1'), '-o', output, '--json']);
    expect(result.code, result.stderr).toBe(0);
    const packed = JSON.parse(result.stdout) as { digest: string; layer: string; config: string };
    const again = JSON.parse((await cc(['plugin', 'pack', join(fixtures, 'echo-v1'), '--json'])).stdout);
    expect(again.digest).toBe(packed.digest);

    const paths: string[] = [];
    await tar.t({ file: output, onReadEntry: (entry) => paths.push(entry.path) });
    for (const digest of [packed.digest, packed.layer, packed.config]) {
      expect(paths).toContain(`blobs/sha256/${digest.slice(7)}`);
    }
    expect(paths).toContain('oci-layout');
    expect(paths).toContain('index.json');
  });

  it('publishes with a detached Ed25519 signature found through the referrers API', async () => {
    const { digest, repository } = await publish(join(fixtures, 'echo-v1'), '--sign-key', keys.a.pem);
    expect(repository).toBe('plugins/echo');
    const client = new OciClient({ url: registry.url });
    expect(await client.listTags(repository)).toContain('1.0.0');
    const referrers = await client.referrers(repository, digest, MEDIA_TYPES.signature);
    expect(referrers).toHaveLength(1);
    const signature = await client.getManifest(repository, referrers[0]!.digest);
    expect(signature.manifest.subject?.digest).toBe(digest);
    expect(signature.manifest.annotations?.[ANNOTATIONS.keyId]).toBe(keys.a.id);
    const bytes = await client.getBlob(repository, signature.manifest.layers[0]!);
    const { createPublicKey } = await import('node:crypto');
    const publicKey = createPublicKey(await readFile(keys.a.pub, 'utf8'));
    expect(verifySignature(digest, bytes, publicKey)).toBe(true);
    expect(verifySignature(sha256Digest('other'), bytes, publicKey)).toBe(false);
  });

  it('refuses a push without a token, with the registry error', async () => {
    const result = await cc([
      'plugin',
      'publish',
      join(fixtures, 'faulty'),
      '--registry',
      registryUrl,
      '--json',
    ]);
    expect(result.code).toBe(1);
    expect(errorOf(result).code).toBe('CC_E_CLI_PLUGIN_REGISTRY_ERROR');
  });
});

describe('cc plugin install and remove', () => {
  let echoDigest: string;
  beforeAll(async () => {
    echoDigest = (await publish(join(fixtures, 'echo-v1'), '--sign-key', keys.a.pem)).digest;
    await publish(join(fixtures, 'echo-v2'), '--sign-key', keys.a.pem);
  });

  it('installs a signed plugin that the plugin host then lists and calls; reinstalls it from the lock file', async () => {
    const data = await dataDir();
    const result = await install(data, 'echo@^1', '--trust', keys.a.pub);
    expect(result.code, result.stderr + result.stdout).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject([
      { name: 'echo', version: '1.0.0', digest: echoDigest, signedBy: keys.a.pub, installed: true },
    ]);
    expect(result.stderr).toContain('downloading echo@1.0.0');
    const lock = JSON.parse(await readFile(join(data, 'conveyor-plugins.lock'), 'utf8'));
    expect(lock).toEqual({
      lockfileVersion: 1,
      plugins: [
        {
          name: 'echo',
          version: '1.0.0',
          digest: echoDigest,
          registry: registry.url,
          repository: 'plugins/echo',
          range: '^1',
        },
      ],
    });

    const host = await PluginHost.create({ builtinDirs: [], installedDir: join(data, 'plugins') });
    try {
      expect(host.list().map((p) => `${p.name}@${p.version}:${p.source}`)).toEqual(['echo@1.0.0:installed']);
      expect(await host.client('credentials', 'echo').call('lookup', { team: 'main', path: 'a' })).toEqual({
        found: true,
        value: 'a',
      });
    } finally {
      await host.close();
    }

    // Trusting the key through trusted-publishers.json instead of --trust; the newest version.
    await writeFile(
      join(data, 'trusted-publishers.json'),
      JSON.stringify({ publishers: [{ name: 'team-a', publicKey: await readFile(keys.a.pub, 'utf8') }] }),
    );
    const newest = await install(data, 'echo');
    expect(newest.code, newest.stdout).toBe(0);
    expect(JSON.parse(newest.stdout)[0]).toMatchObject({ version: '2.0.0', signedBy: 'team-a' });
    expect(await tree(join(data, 'plugins', 'echo'))).toContain('2.0.0');

    // Another machine: only the lock file, and the same digests come back.
    const other = await dataDir();
    await cp(join(data, 'conveyor-plugins.lock'), join(other, 'conveyor-plugins.lock'));
    const again = await cc(['plugin', 'install', '--data-dir', other, '--trust', keys.a.pub, '--json']);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(
      (JSON.parse(again.stdout) as Array<{ version: string; digest: string }>).map(
        (r) => `${r.version} ${r.digest}`,
      ),
    ).toEqual(
      (
        JSON.parse(await readFile(join(data, 'conveyor-plugins.lock'), 'utf8')).plugins as Array<{
          version: string;
          digest: string;
        }>
      ).map((e) => `${e.version} ${e.digest}`),
    );
    expect(await readFile(join(other, 'conveyor-plugins.lock'), 'utf8')).toBe(
      await readFile(join(data, 'conveyor-plugins.lock'), 'utf8'),
    );
    expect(await tree(join(other, 'plugins'))).toEqual(await tree(join(data, 'plugins')));

    // A second install of what is there changes nothing.
    const kept = await install(data, 'echo@1.0.0', '--trust', keys.a.pub);
    expect(JSON.parse(kept.stdout)[0]).toMatchObject({ installed: false });

    const removed = await cc(['plugin', 'remove', 'echo@1.0.0', '--data-dir', data, '--json']);
    expect(removed.code, removed.stdout).toBe(0);
    expect(await tree(join(data, 'plugins', 'echo'))).not.toContain('1.0.0');
    const after = JSON.parse(await readFile(join(data, 'conveyor-plugins.lock'), 'utf8'));
    expect(after.plugins.map((e: { version: string }) => e.version)).toEqual(['2.0.0']);
    const missing = await cc(['plugin', 'remove', 'echo@1.0.0', '--data-dir', data, '--json']);
    expect(errorOf(missing).code).toBe('CC_E_CLI_PLUGIN_NOT_INSTALLED');
  });

  it('publishes and installs a built plugin package (resource-mock) that the host runs', async () => {
    await publish(join(repoRoot, 'plugins', 'resource-mock'), '--sign-key', keys.a.pem);
    const data = await dataDir();
    const result = await install(data, 'mock@^1', '--trust', keys.a.pub);
    expect(result.code, result.stderr + result.stdout).toBe(0);
    expect(await tree(join(data, 'plugins', 'mock', '1.0.0'))).toContain(join('dist', 'index.js'));
    const host = await PluginHost.create({ builtinDirs: [], installedDir: join(data, 'plugins') });
    try {
      expect(host.refused()).toEqual([]);
      const check = await host.client('resource-type', 'mock').call('check', { source: {} } as never);
      expect(check).toMatchObject({ versions: [{ version: 'mock' }] });
    } finally {
      await host.close();
    }
  });

  it('keeps both lock file entries when two installs run at once', async () => {
    const data = await dataDir();
    const results = await Promise.all([
      install(data, 'echo@1', '--trust', keys.a.pub),
      install(data, 'echo@2', '--trust', keys.a.pub),
    ]);
    for (const result of results) expect(result.code, result.stdout).toBe(0);
    const lock = JSON.parse(await readFile(join(data, 'conveyor-plugins.lock'), 'utf8'));
    expect(lock.plugins.map((e: { version: string }) => e.version)).toEqual(['1.0.0', '2.0.0']);
    expect(await tree(join(data, 'plugins'))).not.toContain('.cc-plugin.lock');
  });

  it('refuses a blob rewritten in the registry storage, leaving the store unchanged', async () => {
    await publish(join(fixtures, 'streamer'), '--sign-key', keys.a.pem);
    const client = new OciClient({ url: registry.url });
    const manifest = await client.getManifest('plugins/streamer', '1.0.0');
    const hex = manifest.manifest.layers[0]!.digest.slice(7);
    const file = join(root, 'blobs', 'sha256', hex.slice(0, 2), hex);
    const original = await readFile(file);
    const tampered = Buffer.from(original);
    tampered[tampered.length - 10] = (tampered[tampered.length - 10]! + 1) % 256;
    await writeFile(file, tampered);
    const data = await dataDir();
    try {
      const result = await install(data, 'streamer', '--trust', keys.a.pub);
      expect(result.code).toBe(1);
      expect(errorOf(result).code).toBe('CC_E_CLI_PLUGIN_DIGEST_MISMATCH');
      expect(await tree(join(data, 'plugins'))).toEqual([]);
      expect(await tree(data)).not.toContain('conveyor-plugins.lock');
    } finally {
      await writeFile(file, original);
    }
  });

  it('refuses unsigned plugins, unknown publishers and forged signatures', async () => {
    const data = await dataDir();
    await publish(join(fixtures, 'faulty'));
    const unsigned = await install(data, 'faulty', '--trust', keys.a.pub);
    expect(errorOf(unsigned).code).toBe('CC_E_CLI_PLUGIN_UNSIGNED');

    await publish(join(fixtures, 'concurrent'), '--sign-key', keys.b.pem);
    const unknown = await install(data, 'concurrent', '--trust', keys.a.pub);
    expect(errorOf(unknown)).toMatchObject({ code: 'CC_E_CLI_PLUGIN_UNTRUSTED' });
    expect(errorOf(unknown).message).toContain(keys.b.id);
    expect(await tree(join(data, 'plugins'))).toEqual([]);

    // Signed with key b, claiming to be key a.
    const { digest } = await publish(join(fixtures, 'terminal'));
    const client = new OciClient({ url: registry.url, token });
    const forged = signManifest(
      {
        mediaType: MEDIA_TYPES.ociManifest,
        digest,
        size: (await client.getManifest('plugins/terminal', digest)).data.length,
      },
      await readPrivateKey(keys.b.pem),
    );
    const json = JSON.parse(forged.manifest.data.toString()) as OciManifest;
    json.annotations = { [ANNOTATIONS.keyId]: keys.a.id };
    const body = Buffer.from(JSON.stringify(json));
    await client.pushBlob('plugins/terminal', EMPTY_CONFIG, EMPTY_CONFIG_DATA);
    await client.pushBlob('plugins/terminal', forged.layer.descriptor, forged.layer.data);
    await client.pushManifest('plugins/terminal', sha256Digest(body), body, MEDIA_TYPES.ociManifest);
    const wrong = await install(data, 'terminal', '--trust', keys.a.pub, '--allow-unsigned');
    expect(errorOf(wrong).code).toBe('CC_E_CLI_PLUGIN_SIGNATURE_INVALID');
    expect(await tree(join(data, 'plugins'))).toEqual([]);

    // --allow-unsigned lets the unsigned and the unknown in.
    const allowed = await install(data, 'concurrent', '--allow-unsigned');
    expect(allowed.code, allowed.stdout).toBe(0);
    expect(JSON.parse(allowed.stdout)[0]).toMatchObject({ name: 'concurrent', signedBy: null });
    expect(allowed.stderr).toContain('--allow-unsigned');
  });

  it('refuses archives with tar-slip entries, links outside and device files; nothing is written', async () => {
    const cases: Array<[string, Array<{ path: string; type?: string; linkpath?: string; data?: string }>]> = [
      ['slip-dotdot', [{ path: '../../evil.js', data: 'pwned' }]],
      ['slip-absolute', [{ path: '/tmp/cc-evil.js', data: 'pwned' }]],
      ['slip-symlink', [{ path: 'lib', type: 'SymbolicLink', linkpath: '../../..' }]],
      [
        'slip-through',
        [
          { path: 'lib', type: 'SymbolicLink', linkpath: '.' },
          { path: 'lib/x.js', data: 'x' },
        ],
      ],
      [
        'slip-chain',
        [
          { path: 'b', type: 'SymbolicLink', linkpath: '.' },
          { path: 'a', type: 'SymbolicLink', linkpath: 'b/..' },
        ],
      ],
      ['slip-hardlink', [{ path: 'passwd', type: 'Link', linkpath: '/etc/passwd' }]],
      ['slip-device', [{ path: 'null', type: 'CharacterDevice' }]],
    ];
    const data = await dataDir();
    for (const [name, entries] of cases) {
      await pushCrafted(
        name,
        '1.0.0',
        rawTar([
          { path: 'conveyor-plugin.json', data: manifestJson(name) },
          { path: 'index.js', data: 'export default {};' },
          ...entries,
        ]),
      );
      const result = await install(data, name, '--trust', keys.a.pub);
      expect(result.code, `${name}: ${result.stdout}`).toBe(1);
      expect(errorOf(result).code, name).toBe('CC_E_CLI_PLUGIN_UNSAFE_ARCHIVE');
    }
    expect(await tree(join(data, 'plugins'))).toEqual([]);
    expect(await tree(work)).not.toContain('evil.js');

    // A link that stays inside the package is fine.
    await pushCrafted(
      'inside-link',
      '1.0.0',
      rawTar([
        { path: 'conveyor-plugin.json', data: manifestJson('inside-link') },
        { path: 'lib/', type: 'Directory' },
        { path: 'lib/index.js', data: 'export default {};' },
        { path: 'index.js', type: 'SymbolicLink', linkpath: 'lib/index.js' },
      ]),
    );
    const fine = await install(data, 'inside-link', '--trust', keys.a.pub);
    expect(fine.code, fine.stdout).toBe(0);
  });

  it('refuses a version built for another plugin API, naming the best installable one', async () => {
    const v2 = join(work, 'incompatible-2.7.0');
    await mkdir(v2);
    await cp(join(fixtures, 'incompatible', 'index.js'), join(v2, 'index.js'));
    const manifest = JSON.parse(
      await readFile(join(fixtures, 'incompatible', 'conveyor-plugin.json'), 'utf8'),
    );
    await writeFile(
      join(v2, 'conveyor-plugin.json'),
      JSON.stringify({ ...manifest, version: '2.7.0', apiVersion: '^1.0' }),
    );
    await publish(join(fixtures, 'incompatible'), '--sign-key', keys.a.pem);
    await publish(v2, '--sign-key', keys.a.pem);

    const data = await dataDir();
    const refused = await install(data, 'incompatible@^3', '--trust', keys.a.pub);
    expect(refused.code).toBe(1);
    expect(errorOf(refused)).toEqual({
      code: 'CC_E_CLI_PLUGIN_NO_MATCHING_VERSION',
      message: `incompatible@3.1.0 needs plugin API ^2.0, this host has ${PLUGIN_API_VERSION}; install incompatible@^2.7 instead`,
      exit: 1,
      details: expect.anything(),
    });
    const none = await install(data, 'incompatible@^9', '--trust', keys.a.pub);
    expect(errorOf(none).message).toContain('there are 3.1.0, 2.7.0');

    const picked = await install(data, 'incompatible', '--trust', keys.a.pub);
    expect(picked.code, picked.stdout).toBe(0);
    expect(JSON.parse(picked.stdout)[0]).toMatchObject({ version: '2.7.0' });
  });

  it('says clearly when the registry cannot be reached', async () => {
    const data = await dataDir();
    const result = await cc([
      'plugin',
      'install',
      'echo',
      '--registry',
      'http://127.0.0.1:1/plugins',
      '--data-dir',
      data,
      '--json',
    ]);
    expect(result.code).toBe(1);
    expect(errorOf(result).code).toBe('CC_E_CLI_PLUGIN_REGISTRY_UNREACHABLE');
    expect(errorOf(result).message).toContain('cannot reach the plugin registry at http://127.0.0.1:1');
  });
});
