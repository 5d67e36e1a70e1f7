import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { volumeDriverConformance } from '@conveyor/plugin-api/testing/vitest';
import { runCommand } from '@conveyor/plugin-api/volume-kit';
import { mountsUnder, readMounts } from '../src/mounts.js';
import { overlayUnavailable } from './overlay-support.js';

const skip = overlayUnavailable();

// A child reads through to its ancestors' layers: nothing isolates it from a parent written
// later, and a parent outlives its children. Once with the default (metacopy=on where the kernel
// takes it) and once copying up whole files, as on a kernel without it.
for (const metacopy of [true, false]) {
  volumeDriverConformance({
    name: metacopy ? 'overlay volume driver' : 'overlay volume driver without metacopy',
    packageDir: fileURLToPath(new URL('..', import.meta.url)),
    codePrefix: 'OVERLAY',
    guarantees: {
      copyOnWrite: true,
      childIsolatedFromLaterParentWrites: false,
      parentDestroyableBeforeChildren: false,
    },
    skip,
    async setup() {
      const root = await mkdtemp(join(tmpdir(), 'overlay-conformance-'));
      const cleanup = async () => {
        // The suite destroys what it made; should a destroy have failed, unmount before removing.
        for (const mount of mountsUnder(await readMounts(), root))
          await runCommand('umount', [mount.mountPoint]);
        await rm(root, { recursive: true, force: true });
      };
      return { config: { root, metacopy }, cleanup };
    },
  });
}
