import { defineCredentialManager } from '@conveyor/plugin-api';
import { parseValue } from './parse-value.js';
import { candidateNames, DEFAULT_PREFIX } from './variable-names.js';

export interface EnvCredentialsConfig {
  prefix?: string;
}

/**
 * Credentials from the environment of the Conveyor process. Values never reach a log or an error
 * message: only variable names do.
 */
export default defineCredentialManager<EnvCredentialsConfig>({
  info: (_request, { config }) => {
    const prefix = config.prefix ?? DEFAULT_PREFIX;
    return {
      description: `environment variables ${prefix}<TEAM>_<PIPELINE>_<PATH>, ${prefix}<TEAM>_<PATH>, ${prefix}<PATH>`,
    };
  },
  lookup: ({ team, pipeline, path }, { config }) => {
    for (const name of candidateNames(config.prefix ?? DEFAULT_PREFIX, team, pipeline, path)) {
      const raw = process.env[name];
      if (raw !== undefined) return { found: true, value: parseValue(raw) };
    }
    return { found: false };
  },
});
