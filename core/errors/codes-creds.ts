import { defineErrors } from './define.js';

/** Errors of core/creds/ (see the registry for the rules: stable, append-only codes). */
export const credsErrors = defineErrors({});
