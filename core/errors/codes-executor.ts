import { defineErrors } from './define.js';

/** Errors of core/executor/ (see the registry for the rules: stable, append-only codes). */
export const executorErrors = defineErrors({});
