import { defineVolumeDriver } from '@conveyor/plugin-api';
import {
  matchesLabels,
  shiftOwnership,
  streamIntoVolume,
  streamOutOfVolume,
  type VolumeRecord,
} from '@conveyor/plugin-api/volume-kit';
import { BtrfsVolumes } from './btrfs-volumes.js';
import { type BtrfsVolumesConfig, CODE_PREFIX, volumesRoot } from './config.js';

export type { BtrfsVolumesConfig } from './config.js';
export { BTRFS_FAILURES, type BtrfsFailure } from './errors.js';

const volumesOf = (config: BtrfsVolumesConfig) => new BtrfsVolumes(volumesRoot(config));

/**
 * The btrfs volume driver: a child is a snapshot subvolume of its parent, made in constant time
 * and independent of it afterwards, in both directions.
 */
export default defineVolumeDriver<BtrfsVolumesConfig>({
  async info(_request, { config }) {
    await volumesOf(config).assertSupported();
    return { capabilities: { copyOnWrite: true } };
  },

  async createVolume({ handle, strategy, idMapping, labels }, { config }) {
    const volumes = volumesOf(config);
    const record: VolumeRecord = {
      handle,
      labels: labels ?? {},
      ...(strategy.type === 'child' ? { parent: strategy.parent } : {}),
      createdAt: new Date().toISOString(),
    };
    const created =
      strategy.type === 'empty'
        ? await volumes.createEmpty(record, idMapping)
        : await volumes.createChild(record, await volumes.store.getParent(handle, strategy.parent));
    return { volume: volumes.store.info(created) };
  },

  async destroyVolume({ handle }, { config }) {
    return { destroyed: await volumesOf(config).destroy(handle) };
  },

  async listVolumes({ labels }, { config }) {
    const { store } = volumesOf(config);
    const records = await store.list();
    return { volumes: records.filter((r) => matchesLabels(r.labels, labels)).map((r) => store.info(r)) };
  },

  async streamIn({ handle, path }, context) {
    const { store } = volumesOf(context.config);
    await store.get(handle);
    const dataDir = store.dataDir(handle);
    return { bytes: await streamIntoVolume({ dataDir, path, context, codePrefix: CODE_PREFIX }) };
  },

  async streamOut({ handle, path }, context) {
    const { store } = volumesOf(context.config);
    await store.get(handle);
    const dataDir = store.dataDir(handle);
    return { bytes: await streamOutOfVolume({ dataDir, path, context, codePrefix: CODE_PREFIX }) };
  },

  // Plain chowns: a snapshot's files share their data with the parent's until written, and a
  // change of owner writes only metadata.
  async shiftOwnership({ handle, idMapping }, { config }) {
    const { store } = volumesOf(config);
    await store.get(handle);
    const dataDir = store.dataDir(handle);
    return { entries: await shiftOwnership(dataDir, idMapping, { codePrefix: CODE_PREFIX }) };
  },
});
