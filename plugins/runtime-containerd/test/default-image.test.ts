import { chmod, readFile, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { runtime } from '@conveyor/plugin-api';
import { type CallResult, loadPluginForTest, type PluginUnderTest } from '@conveyor/plugin-api/testing';
import {
  containerdUnavailable,
  removeCgroups,
  startContainerd,
  type TestContainerd,
} from '@conveyor/test/harness/containerd.js';
import { debianImage, debianImageUnavailable } from '@conveyor/test/harness/debian-image.js';
import {
  buildBusyboxImage,
  busyboxUnavailable,
  imageScratch,
  type OciImage,
  type OciLayout,
} from '@conveyor/test/harness/oci-images.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerdId } from '../src/ids.js';

// Steps without an image of their own (the `host` image) run in the configured default image; and
// a real distribution's image (Debian with git, from test/harness/debian-image.ts) runs too.
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const unavailable = containerdUnavailable() ?? busyboxUnavailable();
const noDebian = unavailable ?? debianImageUnavailable();
// Per process: containerd's runc state (/run/containerd/runc/<namespace>) is shared machine-wide.
const NAMESPACE = `conveyor-default-image-${process.pid}`;
const CGROUP_PARENT = `conveyor-default-image-${process.pid}`;
/** The first build of the Debian image runs debootstrap: a minute or more, once per machine. */
const DEBIAN_BUILD_TIMEOUT_MS = 30 * 60_000;
/** The first container of the Debian image imports, unpacks and remaps ~250 MB. */
const DEBIAN_FIRST_RUN_TIMEOUT_MS = 5 * 60_000;

describe.skipIf(unavailable !== undefined)('containerd runtime: default image', () => {
  let containerd: TestContainerd;
  let scratch: string;
  let busybox: OciImage;
  let config: Record<string, unknown>;
  let plugin: PluginUnderTest<'runtime'>;
  let counter = 0;
  const created: Array<{ plugin: PluginUnderTest<'runtime'>; handle: string }> = [];

  beforeAll(async () => {
    scratch = await imageScratch();
    // The plugin's state lives here: user-namespaced containers must pass through.
    await chmod(scratch, 0o711);
    busybox = await buildBusyboxImage(scratch, { env: ['PATH=/bin'] });
    containerd = await startContainerd();
    config = {
      address: containerd.address,
      namespace: NAMESPACE,
      stateDir: join(scratch, 'state'),
      cgroupParent: CGROUP_PARENT,
      defaultImage: { reference: busybox.reference, layoutPath: busybox.layoutDir },
    };
    plugin = await loadPluginForTest<'runtime'>(packageDir, config);
  });

  afterAll(async () => {
    for (const { plugin, handle } of created)
      await plugin.call('destroyContainer', { handle }).catch(() => undefined);
    await containerd?.stop();
    await removeCgroups(CGROUP_PARENT);
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  async function createContainer(
    image: runtime.ContainerSpec['image'],
    on: PluginUnderTest<'runtime'> = plugin,
  ): Promise<string> {
    const handle = `d-${++counter}`;
    created.push({ plugin: on, handle });
    await on.call('createContainer', { handle, spec: { image } });
    return handle;
  }

  function run(handle: string, path: string, args: string[]): Promise<CallResult<runtime.RunResponse>> {
    return plugin.call('run', { handle, processId: `p-${++counter}`, process: { path, args } });
  }

  const stdout = (result: CallResult<unknown>) =>
    result.output
      .filter((o) => o.stream === 'stdout')
      .map((o) => o.data)
      .join('');

  it('says it has a default image, and reports no id mapping without a user namespace', async () => {
    expect((await plugin.call('info', {})).value.capabilities.defaultImage).toBe(true);
    const plain = await loadPluginForTest<'runtime'>(packageDir, { ...config, userNamespace: false });
    const { value } = await plain.call('info', {});
    expect(value.capabilities.defaultImage).toBe(true);
    expect(value).not.toHaveProperty('idMapping');
  });

  it("runs a step without an image in the default image, with its own hostname and root filesystem, not the host's", async () => {
    const handle = await createContainer({ type: 'host' });
    const result = await run(handle, 'sh', [
      '-c',
      'hostname; cat /etc/os-release; cat /etc/debian_version 2>/dev/null || echo "no debian_version"',
    ]);
    expect(result.value).toEqual({ exitStatus: 0 });
    const [name, ...rest] = stdout(result).split('\n');
    expect(name).toBe(containerdId(handle).slice(0, 63));
    expect(name).not.toBe(hostname());
    const output = rest.join('\n');
    // The busybox image's files, not this (Debian) host's.
    expect(output).toContain('ID=conveyor-busybox');
    expect(output).not.toContain((await readFile('/etc/os-release', 'utf8')).split('\n')[0]);
    expect(output).toContain('no debian_version');
  });

  describe.skipIf(noDebian !== undefined)('the Debian image (debootstrap, cached)', () => {
    let debian: OciLayout;

    beforeAll(async () => {
      debian = await debianImage();
    }, DEBIAN_BUILD_TIMEOUT_MS);

    const debianOci = (): runtime.ContainerSpec['image'] => ({
      type: 'oci',
      reference: debian.reference,
      layoutPath: debian.layoutDir,
    });

    it(
      "runs git and Debian's own shell in a container of it",
      async () => {
        const handle = await createContainer(debianOci());
        const git = await run(handle, 'git', ['--version']);
        expect(git.value).toEqual({ exitStatus: 0 });
        expect(stdout(git)).toMatch(/^git version 2\.\d+\.\d+/);
        const version = await run(handle, 'sh', ['-c', 'cat /etc/debian_version']);
        expect(version.value).toEqual({ exitStatus: 0 });
        expect(stdout(version)).toMatch(/^12\.\d+\n$/);
      },
      DEBIAN_FIRST_RUN_TIMEOUT_MS,
    );

    it(
      'is a default image for steps without one, as on a worker with a Debian rootfs',
      async () => {
        const withDebian = await loadPluginForTest<'runtime'>(packageDir, {
          ...config,
          defaultImage: { reference: debian.reference, layoutPath: debian.layoutDir },
        });
        const handle = await createContainer({ type: 'host' }, withDebian);
        const result = await withDebian.call('run', {
          handle,
          processId: 'git',
          process: { path: 'sh', args: ['-c', 'git --version && id -un'] },
        });
        expect(result.value).toEqual({ exitStatus: 0 });
        expect(stdout(result)).toMatch(/^git version 2\.\d+\.\d+.*\nroot\n$/);
      },
      DEBIAN_FIRST_RUN_TIMEOUT_MS,
    );
  });
});
