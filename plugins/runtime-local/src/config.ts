import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export interface LocalRuntimeConfig {
  /** Directory that holds the containers; default `<tmpdir>/conveyor-local-runtime`. */
  root?: string;
}

export function containersRoot(config: LocalRuntimeConfig): string {
  return resolve(config.root ?? join(tmpdir(), 'conveyor-local-runtime'));
}
