import { defineErrors } from './define.js';

/** Errors of core/config/. */
export const configErrors = defineErrors({});
