import { coreErrors } from './codes-core.js';
import type { ErrorDefinition } from './define.js';

/**
 * Every concern contributes its own group of codes in its own file (codes-<concern>.ts), so
 * concerns never edit each other's lists. Add the group here.
 */
export const registry = {
  ...coreErrors,
} as const satisfies Record<string, ErrorDefinition>;

export type ErrorCode = keyof typeof registry;
export const errorCodes = Object.keys(registry) as ErrorCode[];
