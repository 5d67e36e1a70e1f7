import { mkdir } from 'node:fs/promises';
import { defineVolumeDriver } from '@conveyor/plugin-api';
import {
  copyTree,
  matchesLabels,
  ownByMappedRoot,
  shiftOwnership,
  streamIntoVolume,
  streamOutOfVolume,
  type VolumeRecord,
  VolumeStore,
} from '@conveyor/plugin-api/volume-kit';
import { CODE_PREFIX, DRIVER_NAME, type NaiveVolumesConfig, volumesRoot } from './config.js';

export type { NaiveVolumesConfig } from './config.js';

const store = (config: NaiveVolumesConfig) =>
  new VolumeStore({ root: volumesRoot(config), driver: DRIVER_NAME, codePrefix: CODE_PREFIX });

/**
 * The naive volume driver: a volume is a directory, a child is a full copy of its parent. It works
 * on any filesystem, which is its whole point; the overlay and btrfs drivers make children cheap.
 */
export default defineVolumeDriver<NaiveVolumesConfig>({
  info: () => ({ capabilities: { copyOnWrite: false } }),

  async createVolume({ handle, strategy, idMapping, labels }, { config }) {
    const volumes = store(config);
    const record: VolumeRecord = {
      handle,
      labels: labels ?? {},
      ...(strategy.type === 'child' ? { parent: strategy.parent } : {}),
      createdAt: new Date().toISOString(),
    };
    if (strategy.type === 'empty') {
      await volumes.create(record, async (dataDir) => {
        await mkdir(dataDir);
        if (idMapping) await ownByMappedRoot(dataDir, idMapping, { codePrefix: CODE_PREFIX });
      });
    } else {
      // A copy keeps its parent's owners, shifted or not.
      await volumes.getParent(handle, strategy.parent);
      await volumes.create(record, (dataDir) => copyTree(volumes.dataDir(strategy.parent), dataDir));
    }
    return { volume: volumes.info(record) };
  },

  async destroyVolume({ handle }, { config }) {
    return { destroyed: await store(config).destroy(handle) };
  },

  async listVolumes({ labels }, { config }) {
    const volumes = store(config);
    const records = await volumes.list();
    return {
      volumes: records.filter((r) => matchesLabels(r.labels, labels)).map((r) => volumes.info(r)),
    };
  },

  async streamIn({ handle, path }, context) {
    const volumes = store(context.config);
    await volumes.get(handle);
    const dataDir = volumes.dataDir(handle);
    return { bytes: await streamIntoVolume({ dataDir, path, context, codePrefix: CODE_PREFIX }) };
  },

  async streamOut({ handle, path }, context) {
    const volumes = store(context.config);
    await volumes.get(handle);
    const dataDir = volumes.dataDir(handle);
    return { bytes: await streamOutOfVolume({ dataDir, path, context, codePrefix: CODE_PREFIX }) };
  },

  async shiftOwnership({ handle, idMapping }, { config }) {
    const volumes = store(config);
    await volumes.get(handle);
    const dataDir = volumes.dataDir(handle);
    return { entries: await shiftOwnership(dataDir, idMapping, { codePrefix: CODE_PREFIX }) };
  },
});
