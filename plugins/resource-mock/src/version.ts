import type { Version } from '@conveyor/plugin-api';
import type { MockVersion } from './types.js';

/** A version as the mock writes it back: `version` always, `privileged` only when set. */
export function asVersion(version: MockVersion): Version {
  return {
    version: version.version ?? '',
    ...(version.privileged ? { privileged: version.privileged } : {}),
  };
}
