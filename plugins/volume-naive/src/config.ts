import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export interface NaiveVolumesConfig {
  /** Directory that holds the volumes; default `<tmpdir>/conveyor-naive-volumes`. */
  root?: string;
}

export const DRIVER_NAME = 'naive';
/** Every error code of this driver starts with it: NAIVE_VOLUME_NOT_FOUND, NAIVE_TAR_UNSAFE_ENTRY, … */
export const CODE_PREFIX = 'NAIVE';

export function volumesRoot(config: NaiveVolumesConfig): string {
  return resolve(config.root ?? join(tmpdir(), 'conveyor-naive-volumes'));
}
