import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { volumeDriverConformance } from '@conveyor/plugin-api/testing/vitest';
import { skipUnlessBtrfs, startBtrfsLoop } from '@conveyor/test/harness/btrfs.js';

// A child is a snapshot: independent of its parent in both directions, so a parent may go first.
volumeDriverConformance({
  name: 'btrfs volume driver',
  packageDir: fileURLToPath(new URL('..', import.meta.url)),
  codePrefix: 'BTRFS',
  guarantees: {
    copyOnWrite: true,
    childIsolatedFromLaterParentWrites: true,
    parentDestroyableBeforeChildren: true,
  },
  skip: skipUnlessBtrfs('the btrfs volume driver conformance suite'),
  async setup() {
    const loop = await startBtrfsLoop();
    const root = join(loop.path, 'volumes');
    await mkdir(root);
    return { config: { root }, cleanup: () => loop.stop() };
  },
});
