import {
  checkFailed,
  type ResourceRef,
  type ResourceService,
  resourceNotFound,
  resourcePinnedInConfig,
  resourceVersionNotFound,
} from '../../api/index.js';
import {
  listResources,
  listResourceVersions,
  pinResourceVersion,
  setResourceVersionEnabled,
  unpinResource,
} from '../../db/index.js';
import type { ApiServicesDeps } from './deps.js';
import { requirePipeline, requireResource, requireVersion } from './lookups.js';
import { presentResource, presentVersion, unixSeconds } from './present.js';
import { type ErrorTable, translating } from './translate-error.js';

export function createResourceService(deps: ApiServicesDeps): ResourceService {
  const { pool } = deps;

  const present = async (ref: ResourceRef) => {
    const { pipeline, resource } = await requireResource(pool, ref);
    return presentResource(resource, pipeline);
  };
  /** What the resource queries reject with, as the API says it. */
  const errors = (ref: ResourceRef, versionId?: number): ErrorTable => ({
    CC_E_SCHEDULER_RESOURCE_NOT_FOUND: () => resourceNotFound(ref),
    CC_E_SCHEDULER_RESOURCE_PINNED_IN_CONFIG: () => resourcePinnedInConfig(ref),
    ...(versionId === undefined
      ? {}
      : { CC_E_SCHEDULER_VERSION_NOT_FOUND: () => resourceVersionNotFound(ref, versionId) }),
  });

  return {
    async list(ref) {
      const pipeline = await requirePipeline(pool, ref);
      return (await listResources(pool, pipeline.id)).map((row) => presentResource(row, pipeline));
    },

    get: present,

    async listVersions(ref, page) {
      const { resource } = await requireResource(pool, ref);
      const versions = await listResourceVersions(pool, resource.id, page);
      return { ...versions, items: versions.items.map(presentVersion) };
    },

    async check(ref, { from, signal }) {
      const { resource } = await requireResource(pool, ref);
      const result = await translating(errors(ref), () =>
        deps.checker.checkNow(resource.id, { from, signal }),
      );
      if (result.status === 'errored') throw checkFailed(ref, result.error);
      return {
        // Stored oldest first; the API lists newest first.
        versions: [...result.versions].reverse().map(presentVersion),
        last_checked: unixSeconds(result.checkedAt),
      };
    },

    async pin(ref, versionId) {
      const { resource } = await requireResource(pool, ref);
      await requireVersion(pool, ref, resource.id, versionId);
      if (resource.config_pinned_version !== null) throw resourcePinnedInConfig(ref);
      await translating(errors(ref, versionId), () => pinResourceVersion(pool, resource.id, { versionId }));
      return present(ref);
    },

    async unpin(ref) {
      const { resource } = await requireResource(pool, ref);
      if (resource.config_pinned_version !== null) throw resourcePinnedInConfig(ref);
      await translating(errors(ref), () => unpinResource(pool, resource.id));
      return present(ref);
    },

    async enableVersion(ref, versionId) {
      return setEnabled(ref, versionId, true);
    },

    async disableVersion(ref, versionId) {
      return setEnabled(ref, versionId, false);
    },
  };

  async function setEnabled(ref: ResourceRef, versionId: number, enabled: boolean) {
    const { resource } = await requireResource(pool, ref);
    const version = await requireVersion(pool, ref, resource.id, versionId);
    await translating(errors(ref, versionId), () =>
      setResourceVersionEnabled(pool, resource.id, versionId, enabled),
    );
    return presentVersion({ ...version, enabled });
  }
}
