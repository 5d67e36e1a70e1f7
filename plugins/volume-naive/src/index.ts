import { mkdir } from 'node:fs/promises';
import { defineVolumeDriver, PluginError } from '@conveyor/plugin-api';
import { type NaiveVolumesConfig, volumesRoot } from './config.js';
import { copyTree } from './copy-tree.js';
import { extractTar } from './extract-tar.js';
import { packTar } from './pack-tar.js';
import { assertResolvesInside, resolveInside } from './paths.js';
import { matchesLabels, VolumeStore } from './volume-store.js';

export type { NaiveVolumesConfig } from './config.js';

const store = (config: NaiveVolumesConfig) => new VolumeStore(volumesRoot(config));

/**
 * The naive volume driver: a volume is a directory, a child is a full copy of its parent. It works
 * on any filesystem, which is its whole point; the overlay and btrfs drivers make children cheap.
 */
export default defineVolumeDriver<NaiveVolumesConfig>({
  info: () => ({ capabilities: { copyOnWrite: false } }),

  async createVolume({ handle, strategy, privileged, labels }, { config }) {
    const volumes = store(config);
    const record = {
      handle,
      labels: labels ?? {},
      ...(strategy.type === 'child' ? { parent: strategy.parent } : {}),
      ...(privileged ? { privileged } : {}),
      createdAt: new Date().toISOString(),
    };
    if (strategy.type === 'empty') {
      await volumes.create(record, (dataDir) => mkdir(dataDir).then(() => undefined));
    } else {
      if (!(await volumes.read(strategy.parent))) {
        throw new PluginError(
          'NAIVE_PARENT_NOT_FOUND',
          `cannot create volume ${handle} as a child of ${strategy.parent}: no such volume in ${volumes.root}`,
        );
      }
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
    const root = volumes.dataDir(handle);
    const dir = resolveInside(root, path, 'path');
    await assertResolvesInside(root, dir, `path ${JSON.stringify(path)}`);
    await mkdir(dir, { recursive: true });
    return { bytes: await extractTar(context.read(), dir, context.log) };
  },

  async streamOut({ handle, path }, context) {
    const volumes = store(context.config);
    await volumes.get(handle);
    const root = volumes.dataDir(handle);
    const source = resolveInside(root, path, 'path');
    await assertResolvesInside(root, source, `path ${JSON.stringify(path)}`);
    const bytes = await packTar(source, context.write, context.log);
    context.end();
    return { bytes };
  },
});
