import { CliError } from '../errors/index.js';

/** A job named on the command line as `PIPELINE/JOB` (fly's `-j`). */
export interface JobRef {
  pipeline: string;
  job: string;
}

/** A resource named on the command line as `PIPELINE/RESOURCE` (fly's `-r`). */
export interface ResourceRef {
  pipeline: string;
  resource: string;
}

/**
 * `PIPELINE/JOB` → its parts. Pipeline and job names contain no `/` (the validator refuses them),
 * so exactly one is expected; anything else is a usage error (exit 2) that shows the expected form.
 */
export function parseJobRef(value: string, flag = '--job'): JobRef {
  const [pipeline, job] = splitPair(value, flag, 'PIPELINE/JOB', 'my-pipeline/unit-tests');
  return { pipeline, job };
}

export function parseResourceRef(value: string, flag = '--resource'): ResourceRef {
  const [pipeline, resource] = splitPair(value, flag, 'PIPELINE/RESOURCE', 'my-pipeline/repo');
  return { pipeline, resource };
}

/** A pipeline name (fly's `-p`): not empty, and without the `/` that would make it a job. */
export function parsePipelineName(value: string, flag = '--pipeline'): string {
  if (value === '' || value.includes('/')) {
    throw new CliError('CC_E_CLI_USAGE', `${flag} "${value}" is not a pipeline name: give it without "/"`, {
      hint: `e.g. ${flag} my-pipeline; a job or resource is PIPELINE/NAME and has its own flag`,
    });
  }
  return value;
}

/**
 * Version fields given as `KEY:VALUE` (fly's `-v ref:abc123` and `-f`), repeated for several
 * fields, into a version map. The value may itself contain `:` (a URL, a timestamp).
 */
export function parseVersionPairs(values: readonly string[], flag: string): Record<string, string> {
  const version: Record<string, string> = {};
  for (const value of values) {
    const colon = value.indexOf(':');
    if (colon <= 0) {
      throw new CliError('CC_E_CLI_USAGE', `${flag} "${value}" is not KEY:VALUE`, {
        hint: `e.g. ${flag} ref:abc123; repeat ${flag} for each field of the version`,
      });
    }
    version[value.slice(0, colon)] = value.slice(colon + 1);
  }
  return version;
}

function splitPair(value: string, flag: string, form: string, example: string): [string, string] {
  const parts = value.split('/');
  const [first, second] = parts;
  if (parts.length !== 2 || first === undefined || second === undefined || first === '' || second === '') {
    throw new CliError('CC_E_CLI_USAGE', `${flag} "${value}" is not ${form}`, {
      hint: `e.g. ${flag} ${example}`,
      details: { flag, value },
    });
  }
  return [first, second];
}
