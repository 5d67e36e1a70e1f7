import { Flags } from '@oclif/core';
import { parseBuildId } from '../builds/index.js';
import type { ContainersQuery } from '../client/index.js';
import { CliError } from '../errors/index.js';
import { jobFlag, parseJobRef, parsePipelineName, teamFlag } from '../refs/index.js';

/** The filters `cc containers` and `cc volumes` share. */
export const listingFlags = {
  pipeline: Flags.string({ char: 'p', summary: 'Only those of this pipeline.', helpValue: '<PIPELINE>' }),
  job: jobFlag('Only those of this job, as PIPELINE/JOB.'),
  build: Flags.string({
    char: 'b',
    summary: 'Only those of one build: its name with --job, else its global id.',
    helpValue: '<BUILD>',
  }),
  step: Flags.string({
    char: 's',
    summary: 'Only those of this step: its name or plan id.',
    helpValue: '<STEP>',
  }),
  type: Flags.string({ summary: 'Only those of this type.', helpValue: '<TYPE>' }),
  team: teamFlag,
};

export interface ListingFlags {
  pipeline?: string | undefined;
  job?: string | undefined;
  build?: string | undefined;
  step?: string | undefined;
  type?: string | undefined;
}

/** The API query of the flags: `-b` is a build name under `-j`, a global id without. */
export function listingQuery(flags: ListingFlags): ContainersQuery {
  if (flags.job !== undefined && flags.pipeline !== undefined) {
    throw new CliError('CC_E_CLI_USAGE', 'give --job or --pipeline, not both', {
      hint: '-j PIPELINE/JOB names one job, -p PIPELINE every job of the pipeline',
    });
  }
  const query: ContainersQuery = {};
  if (flags.pipeline !== undefined) query.pipeline = parsePipelineName(flags.pipeline);
  if (flags.job !== undefined) {
    const { pipeline, job } = parseJobRef(flags.job);
    query.pipeline = pipeline;
    query.job = job;
    if (flags.build !== undefined) query.build = flags.build;
  } else if (flags.build !== undefined) {
    query.build_id = parseBuildId(flags.build);
  }
  if (flags.step !== undefined) query.step = flags.step;
  if (flags.type !== undefined) query.type = flags.type;
  return query;
}

/** `app/unit #3`, or `one-off #12`. */
export function buildLabel(item: {
  pipeline_name?: string;
  job_name?: string;
  build_name?: string;
  build_id?: number;
}): string {
  if (item.build_id === undefined) return 'n/a';
  if (item.job_name === undefined) return `one-off #${item.build_id}`;
  return `${item.pipeline_name ?? '?'}/${item.job_name} #${item.build_name ?? '?'}`;
}

/** The step's name, else its plan id. */
export function stepLabel(item: { step_name?: string; plan_id?: string }): string {
  return item.step_name ?? (item.plan_id === undefined ? 'n/a' : `#${item.plan_id}`);
}
