import { defineErrors } from './define.js';

/** Errors of core/config/. */
export const configErrors = defineErrors({
  CC_E_CONFIG_INVALID: {
    status: 400,
    docs: 'The configuration breaks its schema. `details.problems` lists every problem at once: where it came from (`source`: file, env or flag), the file position or environment variable, the field path and what was expected. Fix each and start again.',
  },
  CC_E_CONFIG_YAML: {
    status: 400,
    docs: 'A configuration file is not valid YAML. The message and `details.problems` give file:line:column of each syntax error.',
  },
  CC_E_CONFIG_NOT_FOUND: {
    status: 404,
    docs: 'The configuration file named (by a flag or CONVEYOR_CONFIG) does not exist. Check the path, or leave it out to run on defaults and environment variables.',
  },
  CC_E_CONFIG_UNREADABLE: {
    status: 500,
    docs: 'The configuration file exists but cannot be read (a directory, or no permission). The cause says why.',
  },
  CC_E_CONFIG_DURATION: {
    status: 400,
    docs: 'A duration is not in Go notation: a number and a unit (ms, s, m, h), possibly several, e.g. `90s`, `5m`, `1h30m`.',
  },
});
