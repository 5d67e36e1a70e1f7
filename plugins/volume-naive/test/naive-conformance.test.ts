import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { volumeDriverConformance } from '@conveyor/plugin-api/testing/vitest';

// A child is a full copy: independent of its parent in both directions, from the moment it is made.
volumeDriverConformance({
  name: 'naive volume driver',
  packageDir: fileURLToPath(new URL('..', import.meta.url)),
  codePrefix: 'NAIVE',
  guarantees: {
    copyOnWrite: false,
    childIsolatedFromLaterParentWrites: true,
    parentDestroyableBeforeChildren: true,
  },
  async setup() {
    const root = await mkdtemp(join(tmpdir(), 'naive-conformance-'));
    return { config: { root }, cleanup: () => rm(root, { recursive: true, force: true }) };
  },
});
