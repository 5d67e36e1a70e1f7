import { defineErrors } from './define.js';

/** Errors of core/api/. */
export const apiErrors = defineErrors({});
