import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  containerdUnavailable,
  mountsUnder,
  startContainerd,
  type TestContainerd,
} from '@conveyor/test/harness/containerd.js';
import { cachedBuild } from '@conveyor/test/harness/debian-image.js';
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

// How test/harness/debian-image.ts keeps one build of an image per machine, with a trivial build.
const FLOCK = '/usr/bin/flock';
if (!existsSync(FLOCK)) {
  if (process.env.CI === 'true') throw new Error("CI must test the image cache: install Debian's util-linux");
  console.warn(`\n!!! SKIPPING the image cache tests: ${FLOCK} not found (Debian's util-linux)\n`);
}

describe.skipIf(!existsSync(FLOCK))('cached test image builds', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conveyor-cache-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function builder() {
    const builds: string[] = [];
    return {
      builds,
      build: async (into: string) => {
        builds.push(into);
        await writeFile(join(into, 'thing'), `build ${builds.length}`);
        return { path: join(into, 'thing') };
      },
    };
  }

  it('builds once for concurrent callers; again when the recipe changes, a build failed or the result is gone', async () => {
    const cache = join(dir, 'concurrent');
    const first = builder();
    const results = await Promise.all(
      Array.from({ length: 3 }, () => cachedBuild(cache, { recipe: 1 }, { build: first.build })),
    );
    expect(first.builds).toEqual([cache]);
    expect(new Set(results.map((r) => JSON.stringify(r))).size).toBe(1);
    expect(await readFile(join(cache, 'thing'), 'utf8')).toBe('build 1');

    // A failed build leaves nothing a later caller would take for finished.
    await expect(
      cachedBuild(
        cache,
        { recipe: 2 },
        {
          build: async (into) => {
            await writeFile(join(into, 'half'), '');
            throw new Error('the mirror went away');
          },
        },
      ),
    ).rejects.toThrow('the mirror went away');
    const second = builder();
    await cachedBuild(cache, { recipe: 2 }, { build: second.build });
    expect(second.builds.length).toBe(1);
    expect(existsSync(join(cache, 'half'))).toBe(false);
    await cachedBuild(cache, { recipe: 2 }, { build: second.build });
    expect(second.builds.length).toBe(1);

    const intact = async (r: { path: string }) => existsSync(r.path);
    await rm(join(cache, 'thing'));
    await cachedBuild(cache, { recipe: 2 }, { build: second.build, intact });
    expect(second.builds.length).toBe(2);
  });

  it('waits while another process holds the build lock', async () => {
    const cache = join(dir, 'other-process');
    await mkdir(cache);
    // Another process builds: it holds the lock until we close its stdin.
    const other = spawn(FLOCK, [join(cache, '.lock'), 'sh', '-c', 'echo locked; exec cat >/dev/null'], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    await new Promise((resolve) => other.stdout.once('data', resolve));
    const lines: string[] = [];
    const { builds, build } = builder();
    let done = false;
    const waiting = cachedBuild(cache, { recipe: 1 }, { build, log: (line) => lines.push(line) }).then(
      (result) => {
        done = true;
        return result;
      },
    );
    while (lines.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(lines[0]).toContain('waiting for another process');
    expect(done).toBe(false);
    expect(builds).toEqual([]);
    other.stdin.end();
    await waiting;
    expect(builds).toEqual([cache]);
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
