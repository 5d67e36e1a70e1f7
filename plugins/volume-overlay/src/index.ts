import { defineVolumeDriver } from '@conveyor/plugin-api';
import {
  matchesLabels,
  shiftOwnership,
  streamIntoVolume,
  streamOutOfVolume,
  type VolumeStreamOptions,
} from '@conveyor/plugin-api/volume-kit';
import { CODE_PREFIX, type OverlayVolumesConfig, volumesRoot } from './config.js';
import { type OverlayRecord, OverlayVolumes } from './overlay-volumes.js';

export type { OverlayVolumesConfig } from './config.js';
export { OVERLAY_FAILURES, type OverlayFailure } from './errors.js';

const volumesOf = (config: OverlayVolumesConfig) =>
  new OverlayVolumes(volumesRoot(config), { metacopy: config.metacopy ?? true });

/** A volume's data directory, mounted again first if its mount is gone. */
async function mountedDataDir(volumes: OverlayVolumes, handle: string): Promise<string> {
  await volumes.ensureMounted(await volumes.store.get(handle));
  return volumes.store.dataDir(handle);
}

/**
 * The overlay volume driver: a child costs a mount, whatever its parent's size. Children read
 * through to their ancestors' layers, so a parent must not be written once it has children (the
 * core only makes children of finished outputs) and outlives them.
 */
export default defineVolumeDriver<OverlayVolumesConfig>(
  {
    async info(_request, { config }) {
      await volumesOf(config).assertSupported();
      return { capabilities: { copyOnWrite: true } };
    },

    async createVolume({ handle, strategy, idMapping, labels }, { config }) {
      const volumes = volumesOf(config);
      const record: OverlayRecord = {
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
      const volumes = volumesOf(config);
      const records = (await volumes.store.list()).filter((r) => matchesLabels(r.labels, labels));
      // Locations handed out are usable: mounts a restart or crash took are made again. One that
      // cannot be mounted is listed all the same, so that GC can still find and destroy it.
      for (const record of records) await volumes.ensureMounted(record).catch(() => undefined);
      return { volumes: records.map((r) => volumes.store.info(r)) };
    },

    async streamIn({ handle, path }, context) {
      const dataDir = await mountedDataDir(volumesOf(context.config), handle);
      const options: VolumeStreamOptions = { dataDir, path, context, codePrefix: CODE_PREFIX };
      return { bytes: await streamIntoVolume(options) };
    },

    async streamOut({ handle, path }, context) {
      const dataDir = await mountedDataDir(volumesOf(context.config), handle);
      return { bytes: await streamOutOfVolume({ dataDir, path, context, codePrefix: CODE_PREFIX }) };
    },

    // Through the mount: a child's files are copied up into its own layer, metadata only where
    // it is mounted with metacopy=on, and its parent's layer is left as it was. A volume that has
    // children is not to be shifted, as it is not to be written: they would see the change in
    // the files they have not copied up.
    async shiftOwnership({ handle, idMapping }, { config }) {
      const volumes = volumesOf(config);
      const record = await volumes.store.get(handle);
      await volumes.ensureMounted(record);
      const copiesData = record.lowerLayers !== undefined && !record.metacopy;
      const dataDir = volumes.store.dataDir(handle);
      return { entries: await shiftOwnership(dataDir, idMapping, { codePrefix: CODE_PREFIX, copiesData }) };
    },
  },
  {
    // What a restarted host finds: volumes on disk whose mounts are gone. Mount them before the
    // first call; one that cannot be mounted fails the calls that need it, with the reason.
    setup: async (config) => {
      // Never fails the worker: a root that cannot be read fails each call with its own error.
      await volumesOf(config)
        .remountAll()
        .catch(() => undefined);
    },
  },
);
