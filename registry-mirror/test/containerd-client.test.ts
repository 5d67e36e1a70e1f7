// A real client against registry-mirror: containerd 1.6's resolver, through `ctr`, pulls (and
// unpacks) a busybox image, pushes one, and pulls through a mirror of docker-registry. Needs root
// and Debian's containerd, runc, busybox-static and docker-registry: skips loudly without them,
// throws in CI.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningRegistry, startRegistryMirror } from '@conveyor/registry-mirror';
import {
  containerdUnavailable,
  startContainerd,
  type TestContainerd,
} from '@conveyor/test/harness/containerd.js';
import {
  dockerRegistryUnavailable,
  startDockerRegistry,
  type TestRegistry,
} from '@conveyor/test/harness/docker-registry.js';
import {
  buildBusyboxImage,
  busyboxUnavailable,
  imageScratch,
  type OciImage,
} from '@conveyor/test/harness/oci-images.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, OciClient } from './oci-client.js';

const unavailable = containerdUnavailable() ?? busyboxUnavailable() ?? dockerRegistryUnavailable();
const NAMESPACE = `registry-mirror-test-${process.pid}`;

describe.skipIf(unavailable !== undefined)('containerd (ctr) against registry-mirror', () => {
  if (unavailable)
    it.skip(`needs containerd, root, busybox-static and docker-registry: ${unavailable}`, () => {});
  let containerd: TestContainerd;
  let registry: RunningRegistry;
  let mirror: RunningRegistry;
  let upstream: TestRegistry;
  let image: OciImage;
  let scratch: string;
  const roots: string[] = [];
  const ctr = (args: string[]) => containerd.ctr(args, { namespace: NAMESPACE });

  beforeAll(async () => {
    scratch = await imageScratch();
    image = await buildBusyboxImage(scratch);
    for (let i = 0; i < 2; i++) roots.push(await mkdtemp(join(tmpdir(), 'conveyor-registry-ctr-')));
    [containerd, upstream, registry] = await Promise.all([
      startContainerd(),
      startDockerRegistry({ auth: true }),
      startRegistryMirror({
        root: roots[0]!,
        port: 0,
        auth: {
          anonymous: 'none',
          tokens: [{ token: 'ctr-token', access: [{ repository: '**', actions: ['pull', 'push'] }] }],
        },
      }),
    ]);
    const { username, password } = upstream.credentials!;
    mirror = await startRegistryMirror({
      root: roots[1]!,
      port: 0,
      upstream: { url: upstream.url, username, password },
    });
  });

  afterAll(async () => {
    await mirror?.close();
    await registry?.close();
    await upstream?.stop();
    await containerd?.stop();
    for (const root of roots) await rm(root, { recursive: true, force: true });
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('pulls and unpacks an image pushed to registry-mirror', async () => {
    const digest = await new OciClient(registry.url, basicAuth('ci', 'ctr-token')).pushImage(
      'plugins/busybox',
      image,
      'latest',
    );
    const reference = `${registry.host}/plugins/busybox:latest`;
    await ctr(['images', 'pull', '--plain-http', '--user', 'ci:ctr-token', reference]);
    const listed = await ctr(['images', 'list', '--quiet']);
    expect(listed.split('\n')).toContain(reference);
    expect(await ctr(['images', 'check'])).toMatch(
      new RegExp(`${reference.replace(/[.]/g, '\\.')}\\s.*complete`),
    );
    expect(digest).toBe(image.manifest.digest);
  });

  it('takes a push from containerd', async () => {
    const source = `${registry.host}/plugins/busybox:latest`;
    const target = `${registry.host}/pushed/busybox:copy`;
    await ctr(['images', 'tag', source, target]);
    await ctr(['images', 'push', '--plain-http', '--user', 'ci:ctr-token', target]);
    const head = await new OciClient(registry.url, basicAuth('ci', 'ctr-token')).fetch(
      '/v2/pushed/busybox/manifests/copy',
      {
        method: 'HEAD',
      },
    );
    expect(head.status).toBe(200);
    expect(head.headers.get('docker-content-digest')).toBe(image.manifest.digest);
  });

  it('pulls through a mirror of an authenticated docker-registry', async () => {
    await upstream.push(image, 'library/busybox', 'stable');
    const reference = `${mirror.host}/library/busybox:stable`;
    await ctr(['images', 'pull', '--plain-http', reference]);
    expect((await ctr(['images', 'list', '--quiet'])).split('\n')).toContain(reference);
  });
});
