// Mirror mode against real upstreams on loopback: Debian's docker-registry behind htpasswd (the
// Basic challenge), and registry-mirror itself with Distribution's Bearer token flow.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type RegistryMirrorOptions,
  type RunningRegistry,
  startRegistryMirror,
} from '@conveyor/registry-mirror';
import {
  DOCKER_REGISTRY,
  dockerRegistryUnavailable,
  startDockerRegistry,
  type TestRegistry,
} from '@conveyor/test/harness/docker-registry.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  basicAuth,
  blob,
  descriptor,
  errorCodes,
  MEDIA,
  makeImage,
  OciClient,
  sha256,
} from './oci-client.js';

/** Registries started by a describe block, stopped (and their roots removed) after it. */
function registries() {
  const running: RunningRegistry[] = [];
  const roots: string[] = [];
  return {
    async root(): Promise<string> {
      const root = await mkdtemp(join(tmpdir(), 'conveyor-registry-mirror-'));
      roots.push(root);
      return root;
    },
    async start(options: RegistryMirrorOptions): Promise<RunningRegistry> {
      const registry = await startRegistryMirror({ port: 0, ...options });
      running.push(registry);
      return registry;
    },
    async stopAll(): Promise<void> {
      for (const registry of running.splice(0)) await registry.close();
      for (const root of roots.splice(0)) await rm(root, { recursive: true, force: true });
    },
  };
}

const unavailable = dockerRegistryUnavailable();

describe.skipIf(unavailable !== undefined)('mirror of a docker-registry with htpasswd auth', () => {
  if (unavailable) it.skip(`needs ${DOCKER_REGISTRY}: ${unavailable}`, () => {});
  const started = registries();
  let upstream: TestRegistry;
  let upstreamClient: OciClient;
  let cacheRoot: string;
  let mirror: OciClient;
  let upstreamOptions: RegistryMirrorOptions['upstream'];
  const v1 = makeImage({ layerSize: 300_000 });
  const v2 = makeImage();
  const v3 = makeImage();
  let v1Digest: string;

  beforeAll(async () => {
    upstream = await startDockerRegistry({ auth: true });
    const { username, password } = upstream.credentials!;
    upstreamClient = new OciClient(upstream.url, basicAuth(username, password));
    v1Digest = await upstreamClient.pushImage('library/app', v1, 'v1');
    cacheRoot = await started.root();
    upstreamOptions = { url: upstream.url, username, password, tagTtlSeconds: 3600 };
    mirror = new OciClient((await started.start({ root: cacheRoot, upstream: upstreamOptions })).url);
  });
  afterAll(async () => {
    await started.stopAll();
    await upstream?.stop();
  });

  it('serves pulls by tag and by digest, blobs included', async () => {
    const byTag = await mirror.pullImage('library/app', 'v1');
    expect(byTag.manifest.equals(v1.manifest.data)).toBe(true);
    expect(byTag.mediaType).toBe(MEDIA.ociManifest);
    expect(byTag.blobs.map(sha256)).toEqual([v1.config.digest, ...v1.layers.map((l) => l.digest)]);
    const byDigest = await mirror.pullImage('library/app', v1Digest);
    expect(byDigest.manifest.equals(v1.manifest.data)).toBe(true);
    const head = await mirror.fetch(`/v2/library/app/manifests/v1`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('docker-content-digest')).toBe(v1Digest);
  });

  it('answers HEAD of a blob it has not cached from the upstream, and serves a range of it', async () => {
    const other = makeImage({ layers: 1, layerSize: 5000 });
    await upstreamClient.pushImage('library/other', other, 'v1');
    const layer = other.layers[0]!;
    const head = await mirror.fetch(`/v2/library/other/blobs/${layer.digest}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(layer.size));
    const range = await mirror.fetch(`/v2/library/other/blobs/${layer.digest}`, {
      headers: { range: 'bytes=10-19' },
    });
    expect(range.status).toBe(206);
    expect(Buffer.from(await range.arrayBuffer()).equals(layer.data.subarray(10, 20))).toBe(true);
  });

  it('answers MANIFEST_UNKNOWN, BLOB_UNKNOWN and NAME_UNKNOWN as the upstream does', async () => {
    const manifest = await mirror.fetch('/v2/library/app/manifests/no-such-tag');
    expect(manifest.status).toBe(404);
    expect(await errorCodes(manifest)).toContain('MANIFEST_UNKNOWN');
    const missing = sha256(randomBytes(8));
    const blobResponse = await mirror.fetch(`/v2/library/app/blobs/${missing}`);
    expect(blobResponse.status).toBe(404);
    expect(await errorCodes(blobResponse)).toContain('BLOB_UNKNOWN');
    const tags = await mirror.fetch('/v2/library/never/tags/list');
    expect(tags.status).toBe(404);
    expect(await errorCodes(tags)).toContain('NAME_UNKNOWN');
  });

  it('lists the upstream tags', async () => {
    const response = await mirror.fetch('/v2/library/app/tags/list');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ name: 'library/app', tags: ['v1'] });
  });

  it('refuses pushes and deletes', async () => {
    const post = await mirror.fetch('/v2/library/app/blobs/uploads/', { method: 'POST' });
    expect(post.status).toBe(405);
    expect(await errorCodes(post)).toContain('UNSUPPORTED');
    const put = await mirror.putManifest('library/app', 'v9', v2.manifest.data, MEDIA.ociManifest);
    expect(put.status).toBe(405);
    const del = await mirror.fetch(`/v2/library/app/manifests/${v1Digest}`, { method: 'DELETE' });
    expect(del.status).toBe(405);
  });

  it('serves a cached tag for its TTL, then asks the upstream again', async () => {
    const v2Digest = await upstreamClient.pushImage('library/app', v2, 'v1');
    // The mirror with a one-hour TTL still serves what it cached.
    const cached = await mirror.fetch('/v2/library/app/manifests/v1', { method: 'HEAD' });
    expect(cached.headers.get('docker-content-digest')).toBe(v1Digest);
    // The same cache with a TTL of zero checks the tag on every pull, and sees it moved.
    const eager = new OciClient(
      (await started.start({ root: cacheRoot, upstream: { ...upstreamOptions!, tagTtlSeconds: 0 } })).url,
    );
    expect((await eager.pullImage('library/app', 'v1')).manifest.equals(v2.manifest.data)).toBe(true);
    expect(
      (await eager.fetch('/v2/library/app/manifests/v1', { method: 'HEAD' })).headers.get(
        'docker-content-digest',
      ),
    ).toBe(v2Digest);
    // A one-second TTL: once a second has passed, the next pull sees the tag move again.
    const short = new OciClient(
      (await started.start({ root: cacheRoot, upstream: { ...upstreamOptions!, tagTtlSeconds: 1 } })).url,
    );
    await short.pullImage('library/app', 'v1');
    await upstreamClient.pushImage('library/app', v3, 'v1');
    await sleep(1100);
    expect((await short.pullImage('library/app', 'v1')).manifest.equals(v3.manifest.data)).toBe(true);
  });

  it('serves what it cached once the upstream is stopped, and UNAVAILABLE for the rest', async () => {
    const eager = new OciClient(
      (await started.start({ root: cacheRoot, upstream: { ...upstreamOptions!, tagTtlSeconds: 0 } })).url,
    );
    await upstream.stop();
    // Tag past its TTL (0 s), by digest, and every blob, from the cache alone.
    expect((await eager.pullImage('library/app', 'v1')).manifest.equals(v3.manifest.data)).toBe(true);
    expect((await mirror.pullImage('library/app', v1Digest)).blobs).toHaveLength(3);
    expect((await eager.pullImage('library/app', v1Digest)).manifest.equals(v1.manifest.data)).toBe(true);
    const never = await mirror.fetch('/v2/library/app/manifests/never-pulled');
    expect(never.status).toBe(503);
    expect(await errorCodes(never)).toContain('UNAVAILABLE');
    const blobResponse = await mirror.fetch(`/v2/library/app/blobs/${sha256(randomBytes(8))}`);
    expect(blobResponse.status).toBe(503);
    // The tag list falls back to the tags the cache knows.
    const tags = await mirror.fetch('/v2/library/app/tags/list');
    expect(await tags.json()).toEqual({ name: 'library/app', tags: ['v1'] });
  });
});

describe('mirror of a registry-mirror serving corrupt bytes', () => {
  const started = registries();
  afterAll(() => started.stopAll());

  it('never caches, nor hands over whole, a blob whose bytes do not match its digest', async () => {
    const upstreamRoot = await started.root();
    const upstream = await started.start({ root: upstreamRoot });
    const data = randomBytes(3 * 1024 * 1024);
    const digest = await new OciClient(upstream.url).pushBlob('corrupt/repo', data);
    const hex = digest.slice('sha256:'.length);
    // Rot on the upstream's disk: same size, one byte flipped at the very end.
    const rotten = Buffer.from(data);
    rotten[rotten.length - 1]! ^= 0xff;
    await writeFile(join(upstreamRoot, 'blobs', 'sha256', hex.slice(0, 2), hex), rotten);

    const mirrorRoot = await started.root();
    const mirror = await started.start({ root: mirrorRoot, upstream: { url: upstream.url } });
    const response = await fetch(`${mirror.url}/v2/corrupt/repo/blobs/${digest}`);
    expect(response.status).toBe(200);
    // The last chunk is held back until the digest is checked: the body breaks off short.
    await expect(response.arrayBuffer()).rejects.toThrow();
    const ranged = await fetch(`${mirror.url}/v2/corrupt/repo/blobs/${digest}`, {
      headers: { range: 'bytes=0-9' },
    });
    expect(ranged.status).toBe(503);
    expect(await errorCodes(ranged)).toContain('UNAVAILABLE');
    expect(existsSync(join(mirrorRoot, 'blobs', 'sha256', hex.slice(0, 2), hex))).toBe(false);
    expect(await readdir(join(mirrorRoot, 'tmp'))).toEqual([]);
  });
});

describe('mirror of a registry-mirror with Distribution Bearer token auth', () => {
  const started = registries();
  let upstream: RunningRegistry;
  let upstreamClient: OciClient;
  const image = makeImage();
  let digest: string;
  const secret = `upstream-${randomBytes(8).toString('hex')}`;

  beforeAll(async () => {
    upstream = await started.start({
      root: await started.root(),
      auth: {
        scheme: 'bearer',
        anonymous: 'none',
        tokens: [{ name: 'mirror', token: secret, access: [{ repository: '**', actions: ['*'] }] }],
      },
    });
    upstreamClient = new OciClient(upstream.url, `Bearer ${secret}`);
    digest = await upstreamClient.pushImage('plugins/git', image, '2.0.0');
  });
  afterAll(() => started.stopAll());

  it('challenges with Bearer realm, service and scope, and refuses Basic on the API', async () => {
    const anonymous = await upstreamClient.fetch('/v2/plugins/git/manifests/2.0.0', {
      headers: { authorization: '' },
    });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe(
      `Bearer realm="${upstream.url}/token",service="conveyor-registry",scope="repository:plugins/git:pull"`,
    );
    const basic = await upstreamClient.fetch('/v2/plugins/git/manifests/2.0.0', {
      headers: { authorization: basicAuth('mirror', secret) },
    });
    expect(basic.status).toBe(401);
  });

  it('pulls through with the token dance: credentials → /token → Bearer', async () => {
    const mirror = new OciClient(
      (
        await started.start({
          root: await started.root(),
          upstream: { url: upstream.url, username: 'mirror', password: secret },
        })
      ).url,
    );
    const pulled = await mirror.pullImage('plugins/git', '2.0.0');
    expect(pulled.manifest.equals(image.manifest.data)).toBe(true);
    expect((await mirror.pullImage('plugins/git', digest)).blobs).toHaveLength(3);
  });

  it('passes the upstream referrers through', async () => {
    const empty = blob(MEDIA.ociEmpty, Buffer.from('{}'));
    await upstreamClient.pushBlob('plugins/git', empty.data);
    const signature = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA.ociManifest,
        artifactType: 'application/vnd.example.signature.v1',
        config: descriptor(empty),
        layers: [descriptor(empty)],
        subject: descriptor(image.manifest),
      }),
    );
    expect(
      (await upstreamClient.putManifest('plugins/git', sha256(signature), signature, MEDIA.ociManifest))
        .status,
    ).toBe(201);
    const mirror = new OciClient(
      (
        await started.start({
          root: await started.root(),
          upstream: { url: upstream.url, username: 'mirror', password: secret },
        })
      ).url,
    );
    const response = await mirror.fetch(`/v2/plugins/git/referrers/${digest}`);
    expect(response.status).toBe(200);
    const index = (await response.json()) as { manifests: Array<{ digest: string; artifactType: string }> };
    expect(index.manifests).toEqual([
      expect.objectContaining({
        digest: sha256(signature),
        artifactType: 'application/vnd.example.signature.v1',
      }),
    ]);
  });

  it('answers UNAVAILABLE when the upstream refuses the mirror its credentials', async () => {
    const mirror = new OciClient(
      (
        await started.start({
          root: await started.root(),
          upstream: { url: upstream.url, username: 'mirror', password: 'wrong' },
        })
      ).url,
    );
    const response = await mirror.fetch('/v2/plugins/git/manifests/2.0.0');
    expect(response.status).toBe(503);
    expect(await errorCodes(response)).toContain('UNAVAILABLE');
  });

  it('gets an anonymous token from an upstream that allows anonymous pulls', async () => {
    const open = await started.start({
      root: await started.root(),
      auth: {
        scheme: 'bearer',
        anonymous: 'pull',
        tokens: [{ token: secret, access: [{ repository: '**', actions: ['*'] }] }],
      },
    });
    const pushed = await new OciClient(open.url, `Bearer ${secret}`).pushImage(
      'plugins/time',
      image,
      '1.0.0',
    );
    const mirror = new OciClient(
      (await started.start({ root: await started.root(), upstream: { url: open.url } })).url,
    );
    const pulled = await mirror.pullImage('plugins/time', '1.0.0');
    expect(sha256(pulled.manifest)).toBe(pushed);
  });
});
