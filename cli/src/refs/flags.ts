import { Flags } from '@oclif/core';

/*
 * The flags many commands share, spelt as fly spells them. Job and resource flags are plain
 * strings parsed in `run()` with parse-refs.ts, so a malformed value is our own usage error with
 * a hint rather than oclif's wrapped parse error.
 */

export const teamFlag = Flags.string({
  summary: 'Team the pipeline belongs to.',
  default: 'main',
  helpValue: '<TEAM>',
});

export const pipelineFlag = Flags.string({
  char: 'p',
  summary: 'Name of the pipeline.',
  required: true,
  helpValue: '<PIPELINE>',
});

/** `-j PIPELINE/JOB`, optional. */
export function jobFlag(summary: string) {
  return Flags.string({ char: 'j', summary, helpValue: '<PIPELINE/JOB>' });
}

/** `-j PIPELINE/JOB`, required. */
export function requiredJobFlag(summary: string) {
  return Flags.string({ char: 'j', summary, helpValue: '<PIPELINE/JOB>', required: true });
}

export const resourceFlag = Flags.string({
  char: 'r',
  summary: 'The resource, as PIPELINE/RESOURCE.',
  required: true,
  helpValue: '<PIPELINE/RESOURCE>',
});

/** `-v KEY:VALUE`, repeatable and required: fields of a resource version, parsed with parseVersionPairs. */
export function versionFlag(summary: string) {
  return Flags.string({ char: 'v', summary, multiple: true, required: true, helpValue: '<KEY:VALUE>' });
}

export const nonInteractiveFlag = Flags.boolean({
  char: 'n',
  summary: 'Do not ask for confirmation.',
  description:
    'Needed when stdin is not a terminal (scripts, CI): without it the command refuses rather than guess.',
});
