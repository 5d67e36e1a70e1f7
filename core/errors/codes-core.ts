import { defineErrors } from './define.js';

/** Errors that belong to no one concern. */
export const coreErrors = defineErrors({
  CC_E_INTERNAL: {
    status: 500,
    docs: 'An unexpected failure inside Conveyor. The message and its cause chain say what failed; please report it with the server log.',
  },
});
