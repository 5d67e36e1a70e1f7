import { defineErrors } from './define.js';

/** Errors of core/plugins/. */
export const pluginsErrors = defineErrors({});
