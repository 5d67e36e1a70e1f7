import { defineErrors } from './define.js';

/** Errors of core/scheduler/ (see the registry for the rules: stable, append-only codes). */
export const schedulerErrors = defineErrors({});
