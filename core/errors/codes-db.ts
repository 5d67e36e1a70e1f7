import { defineErrors } from './define.js';

/** Errors of core/db/. */
export const dbErrors = defineErrors({});
