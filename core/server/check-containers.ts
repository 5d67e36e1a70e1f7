import { randomBytes } from 'node:crypto';
import type { Labels } from '@conveyor/plugin-api';
import { applyTrackedChanges, EXPIRES_LABEL, labelContainerRecords, type Pool } from '../db/index.js';
import { type ResourceContainers, ROLE_LABEL } from '../executor/index.js';
import type { PluginClient } from '../plugins/index.js';

export interface CheckContainersOptions {
  pool: Pool;
  runtime: PluginClient<'runtime'>;
  runtimeName: string;
  worker: string;
  /** The installation's owner labels (core/gc/labels.ts). */
  labels: Labels;
  /** How long past its start a check's container may live before gc takes it: the check's timeout. */
  lifetimeMs: number;
}

/** Past a check's own timeout, how long its container is left before gc may take it. */
const kExpiryMarginMs = 10 * 60_000;

/**
 * Containers for the checks of Concourse resource-type images, which run outside any build:
 * recorded before they are made and labelled to expire, so gc reaps one a crash left behind,
 * and destroyed as soon as the check's process has ended.
 */
export function checkContainers(options: CheckContainersOptions): ResourceContainers {
  const { pool, runtime, runtimeName, worker } = options;
  const track = (handle: string, state: 'creating' | 'created' | 'destroying' | 'gone') =>
    applyTrackedChanges(pool, [
      { kind: 'container', handle, state, plugin: runtimeName, worker, buildId: null },
    ]);
  return {
    async create(spec) {
      const handle = `check-c-${randomBytes(6).toString('hex')}`;
      await track(handle, 'creating');
      const expires = new Date(Date.now() + options.lifetimeMs + kExpiryMarginMs).toISOString();
      await labelContainerRecords(pool, [handle], { [EXPIRES_LABEL]: expires });
      await runtime.call('createContainer', {
        handle,
        spec,
        labels: { ...options.labels, [ROLE_LABEL]: 'check', [EXPIRES_LABEL]: expires },
      });
      await track(handle, 'created');
      return handle;
    },
    async release(handle) {
      // What cannot be destroyed now stays recorded `destroying`, for gc.
      await track(handle, 'destroying');
      await runtime.call('destroyContainer', { handle });
      await track(handle, 'gone');
    },
  };
}
