import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import {
  containerdUnavailable,
  mountsUnder,
  startContainerd,
  type TestContainerd,
} from '@conveyor/test/harness/containerd.js';
import { dockerRegistryUnavailable, startDockerRegistry } from '@conveyor/test/harness/docker-registry.js';
import {
  buildBusyboxImage,
  busyboxUnavailable,
  imageScratch,
  type OciImage,
} from '@conveyor/test/harness/oci-images.js';
import { processRuns } from '@conveyor/test/harness/processes.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContainerdClient } from '../src/containerd-client.js';

// The harness the containerd runtime's tests stand on, checked with containerd's own `ctr` and
// plain HTTP, so a fault in the plugin cannot hide a fault in the harness.
// Per process: containerd's runc state (/run/containerd/runc/<namespace>) is shared machine-wide.
const NAMESPACE = `harness-${process.pid}`;
const unavailable = containerdUnavailable() ?? busyboxUnavailable() ?? dockerRegistryUnavailable();

describe.skipIf(unavailable !== undefined)('containerd test harness', () => {
  let containerd: TestContainerd;
  let scratch: string;
  let image: OciImage;

  beforeAll(async () => {
    scratch = await imageScratch();
    image = await buildBusyboxImage(scratch);
    containerd = await startContainerd();
  });

  afterAll(async () => {
    await containerd?.stop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('builds the same image twice to the same digests', async () => {
    const again = await buildBusyboxImage(scratch);
    expect(again.manifest.digest).toBe(image.manifest.digest);
    expect(again.layers[0]?.diffId).toBe(image.layers[0]?.diffId);
  });

  it('starts a containerd that our gRPC client reaches, in a namespace of our choosing', async () => {
    const client = new ContainerdClient({ address: containerd.address, namespace: NAMESPACE });
    try {
      const version = await client.call<{ version: string }>('version', 'Version', {});
      expect(version.version).toMatch(/^1\.6\./);
      await client.call('leases', 'Create', { id: 'harness-lease', labels: { purpose: 'test' } });
      const { leases } = await client.call<{ leases: Array<{ id: string }> }>('leases', 'List', {});
      expect(leases.map((l) => l.id)).toEqual(['harness-lease']);
      await client.call('leases', 'Delete', { id: 'harness-lease', sync: true });
    } finally {
      client.close();
    }
  });

  it('builds an image that containerd imports and runs', async () => {
    await containerd.ctr(['images', 'import', '--no-unpack=false', image.tarball], { namespace: NAMESPACE });
    const output = await containerd.ctr(
      ['run', '--rm', `docker.io/library/${image.reference}`, 'harness-run', 'cat', '/etc/os-release'],
      { namespace: NAMESPACE },
    );
    expect(output).toContain('ID=conveyor-busybox');
  });

  it('stops, leaving no process, mount or directory behind, even with a container running', async () => {
    const other = await startContainerd();
    let shims: number[] = [];
    try {
      await other.ctr(['images', 'import', image.tarball], { namespace: NAMESPACE });
      await other.ctr(
        ['run', '-d', `docker.io/library/${image.reference}`, 'left-running', 'sleep', '1000'],
        {
          namespace: NAMESPACE,
        },
      );
      expect((await mountsUnder(other.dir)).length).toBeGreaterThan(0);
      shims = await shimsOf(other.address);
      expect(shims.length).toBe(1);
    } finally {
      await other.stop();
    }
    expect(await mountsUnder(other.dir)).toEqual([]);
    expect(existsSync(other.dir)).toBe(false);
    for (const pid of shims) expect(processRuns(pid)).toBe(false);
  });

  it('runs a registry that takes a push and serves it only with credentials', async () => {
    const registry = await startDockerRegistry({ auth: true });
    try {
      const digest = await registry.push(image, 'library/busybox', 'v1');
      expect(digest).toBe(image.manifest.digest);
      const url = `${registry.url}/v2/library/busybox/manifests/v1`;
      const accept = { accept: image.manifest.mediaType };
      expect((await fetch(url, { headers: accept })).status).toBe(401);
      const { username, password } = registry.credentials ?? { username: '', password: '' };
      const authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
      const response = await fetch(url, { headers: { ...accept, authorization } });
      expect(response.status).toBe(200);
      expect(response.headers.get('docker-content-digest')).toBe(image.manifest.digest);
    } finally {
      await registry.stop();
    }
  });
});

/** The shims serving the containerd at `address`, by their command line. */
async function shimsOf(address: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const argv = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
    if (argv.includes('containerd-shim') && argv.split('\0').includes(address)) pids.push(Number(name));
  }
  return pids;
}
