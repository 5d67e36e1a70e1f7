import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BtrfsLoop, skipUnlessBtrfs, startBtrfsLoop } from '../harness/btrfs.js';
import { containerdUnavailable, startContainerd, type TestContainerd } from '../harness/containerd.js';
import { debianImage, debianImageUnavailable } from '../harness/debian-image.js';
import type { OciLayout } from '../harness/oci-images.js';
import { type GitScenario, startGitScenario } from './git-scenario.js';

const unavailable =
  containerdUnavailable() ?? debianImageUnavailable() ?? skipUnlessBtrfs('the containerd pipeline tests');

/**
 * The pipelines issue's end-to-end check, unchanged, with `runtime: containerd` and each volume
 * driver: the pipeline's tasks (which have no image_resource) run in containers of the runtime's
 * default image, a Debian with git, and a one-off task shows it has its own root filesystem and
 * hostname, not the host's.
 */
describe.skipIf(unavailable !== undefined)('the git pipeline on containerd', () => {
  let containerd: TestContainerd;
  let image: OciLayout;
  let btrfs: BtrfsLoop;
  let scratch: string;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'conveyor-e2e-containerd-'));
    await chmod(scratch, 0o755);
    [containerd, image, btrfs] = await Promise.all([
      startContainerd(),
      debianImage({ log: () => {} }),
      startBtrfsLoop({ sizeBytes: 2 * 1024 * 1024 * 1024 }),
    ]);
  }, 600_000);

  afterAll(async () => {
    await containerd?.stop();
    await btrfs?.stop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  for (const driver of ['naive', 'overlay', 'btrfs'] as const) {
    it(`runs unchanged with volumes.driver: ${driver}, its tasks isolated in containers`, async () => {
      const volumesRoot = join(driver === 'btrfs' ? btrfs.path : scratch, `volumes-${driver}`);
      const serverConfig = `
runtime:
  plugin: containerd
  config:
    address: ${containerd.address}
    namespace: e2e-${driver}
    stateDir: ${join(scratch, `state-${driver}`)}
    defaultImage: { reference: ${image.reference}, layoutPath: ${image.layoutDir} }
volumes:
  driver: ${driver}
  config: { root: ${volumesRoot} }
`;
      let scenario: GitScenario | undefined;
      try {
        scenario = await startGitScenario({ serverConfig });
        await scenario.runPipeline();

        // A one-off task: its own hostname, its image's root filesystem, not the host's.
        const task = join(scratch, `probe-${driver}.yml`);
        await writeFile(
          task,
          `platform: linux
run:
  path: sh
  args: [-ec, 'echo "hostname=$(hostname)"; echo "sees-host-dir=$(test -e ${scratch} && echo yes || echo no)"; echo "debian=$(cat /etc/debian_version)"; git --version']
`,
        );
        const probe = await scenario.cc('execute', '-c', task);
        expect(probe.code, probe.stderr + probe.stdout).toBe(0);
        const seenHostname = /hostname=(\S+)/.exec(probe.stdout)?.[1];
        expect(seenHostname, probe.stdout).toBeDefined();
        expect(seenHostname).not.toBe(hostname());
        // The host's directory of this test is not there: the task has its own root filesystem.
        expect(probe.stdout).toContain('sees-host-dir=no');
        expect(probe.stdout).toMatch(/debian=12\./);
        expect(probe.stdout).toContain('git version');
      } finally {
        await scenario?.stop();
      }
      // Nothing of the builds is left in containerd once the server has stopped: no containers,
      // no tasks, no leases (images and their snapshots stay, as an image cache).
      const namespace = `e2e-${driver}`;
      const containers = (await containerd.ctr(['containers', 'ls', '-q'], { namespace })).trim();
      const tasks = (await containerd.ctr(['tasks', 'ls', '-q'], { namespace })).trim();
      expect({ containers, tasks }).toEqual({ containers: '', tasks: '' });
    }, 600_000);
  }
});
