import { apiErrors } from './codes-api.js';
import { configErrors } from './codes-config.js';
import { coreErrors } from './codes-core.js';
import { dbErrors } from './codes-db.js';
import { pluginsErrors } from './codes-plugins.js';
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
} as const satisfies Record<string, ErrorDefinition>;

export type ErrorCode = keyof typeof registry;
export const errorCodes = Object.keys(registry) as ErrorCode[];
