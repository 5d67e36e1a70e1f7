// Plugin artifacts on Distribution 2.8 (Debian's docker-registry), the reference registry: htpasswd
// Basic auth, and no referrers API, so signatures travel through the spec's `sha256-<hex>` tag.

import { createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PLUGIN_API_VERSION } from '@conveyor/plugin-api';
import {
  DOCKER_REGISTRY,
  dockerRegistryUnavailable,
  startDockerRegistry,
  type TestRegistry,
} from '@conveyor/test/harness/docker-registry.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  generateSigningKeys,
  installPlugin,
  keyIdOf,
  MEDIA_TYPES,
  OciClient,
  publishPlugin,
} from '../src/plugin-dist/index.js';
import { repoRoot } from './helpers.js';

const fixtures = join(repoRoot, 'test', 'fixtures', 'plugins');
const unavailable = dockerRegistryUnavailable();

describe.skipIf(unavailable !== undefined)(`plugin artifacts on docker-registry (${DOCKER_REGISTRY})`, () => {
  let registry: TestRegistry;
  let dir: string;
  beforeAll(async () => {
    registry = await startDockerRegistry({ auth: true });
    dir = await mkdtemp(join(tmpdir(), 'cc-plugin-distribution-'));
  });
  afterAll(async () => {
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('publishes a signed plugin and installs it with the signature found through the fallback tag', async () => {
    const { username, password } = registry.credentials!;
    const client = new OciClient({ url: registry.url, token: `${username}:${password}` });
    const keys = generateSigningKeys();
    const published = await publishPlugin({
      from: join(fixtures, 'echo-v1'),
      client,
      repository: (name) => `plugins/${name}`,
      signKey: createPrivateKey(keys.privateKey),
    });
    const referrers = await client.referrers('plugins/echo', published.digest, MEDIA_TYPES.signature);
    expect(referrers.map((r) => r.digest)).toEqual([published.signature?.digest]);

    const publicKey = createPublicKey(keys.publicKey);
    const lines: string[] = [];
    const result = await installPlugin(
      {
        store: join(dir, 'plugins'),
        lockFile: join(dir, 'conveyor-plugins.lock'),
        trust: new Map([[keyIdOf(publicKey), { name: 'publisher', key: publicKey }]]),
        allowUnsigned: false,
        hostApiVersion: PLUGIN_API_VERSION,
        log: (line) => lines.push(line),
      },
      { client, repository: 'plugins/echo' },
      'echo',
      '^1',
    );
    expect(result).toMatchObject({ version: '1.0.0', digest: published.digest, signedBy: 'publisher' });
    expect((await readdir(join(dir, 'plugins', 'echo', '1.0.0'))).sort()).toEqual([
      'conveyor-plugin.json',
      'index.js',
    ]);
  });
});
