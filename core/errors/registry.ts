import { apiErrors } from './codes-api.js';
import { configErrors } from './codes-config.js';
import { coreErrors } from './codes-core.js';
import { credsErrors } from './codes-creds.js';
import { dbErrors } from './codes-db.js';
import { executorErrors } from './codes-executor.js';
import { pipelineErrors } from './codes-pipeline.js';
import { pluginsErrors } from './codes-plugins.js';
import { schedulerErrors } from './codes-scheduler.js';
import type { ErrorDefinition } from './define.js';

/**
 * Every concern contributes its own group of codes in its own file (codes-<concern>.ts), so
 * concerns never edit each other's lists.
 */
export const registry = {
  ...coreErrors,
  ...dbErrors,
  ...configErrors,
  ...pluginsErrors,
  ...apiErrors,
  ...pipelineErrors,
  ...executorErrors,
  ...schedulerErrors,
  ...credsErrors,
} as const satisfies Record<string, ErrorDefinition>;

export type ErrorCode = keyof typeof registry;
export const errorCodes = Object.keys(registry) as ErrorCode[];
