import { defineErrors } from './define.js';

/** Errors of core/pipeline/ (see the registry for the rules: stable, append-only codes). */
export const pipelineErrors = defineErrors({});
