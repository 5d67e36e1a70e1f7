import { Flags } from '@oclif/core';
import { TargetCommand } from '../base-command.js';
import type { ApiClient, Build } from '../client/index.js';
import { CliError } from '../errors/index.js';
import { buildDuration, formatTime, renderTable } from '../output/index.js';
import { jobFlag, parseJobRef, parsePipelineName, teamFlag } from '../refs/index.js';

export default class Builds extends TargetCommand<typeof Builds> {
  static override summary = 'List builds, newest first.';
  static override description =
    'The builds of every team, of one pipeline (-p) or of one job (-j), newest first, like fly builds: id, pipeline/job (one-off for cc execute), build name, status, start, end and duration.';
  static override hiddenAliases = ['bs'];
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> -j app/unit -c 5',
    '<%= config.bin %> <%= command.id %> -p app --json',
  ];
  static override enableJsonFlag = true;
  static override flags = {
    job: jobFlag('Only the builds of this job, as PIPELINE/JOB.'),
    pipeline: Flags.string({
      char: 'p',
      summary: 'Only the builds of this pipeline.',
      helpValue: '<PIPELINE>',
    }),
    count: Flags.integer({ char: 'c', summary: 'How many builds to show.', default: 50, min: 1, max: 1000 }),
    team: teamFlag,
  };

  async run(): Promise<Build[]> {
    const { flags } = this;
    if (flags.job !== undefined && flags.pipeline !== undefined) {
      throw new CliError('CC_E_CLI_USAGE', 'give --job or --pipeline, not both', {
        hint: '-j PIPELINE/JOB lists one job, -p PIPELINE every job of the pipeline',
      });
    }
    const client = await this.client();
    const limit = flags.count;
    let builds: Build[];
    if (flags.job !== undefined) {
      const { pipeline, job } = parseJobRef(flags.job);
      builds = (await client.listJobBuilds({ team: flags.team, pipeline, job }, { limit })).items;
    } else if (flags.pipeline !== undefined) {
      builds = await pipelineBuilds(client, flags.team, parsePipelineName(flags.pipeline), limit);
    } else {
      builds = (await client.listBuilds({ limit })).items;
    }
    builds = builds.slice(0, limit);
    const now = Date.now();
    this.log(
      renderTable(builds, [
        { header: 'ID', get: (b) => String(b.id) },
        {
          header: 'PIPELINE/JOB',
          get: (b) => (b.pipeline_name === undefined ? 'one-off' : `${b.pipeline_name}/${b.job_name ?? ''}`),
        },
        { header: 'BUILD', get: (b) => (b.pipeline_name === undefined ? 'n/a' : b.name) },
        { header: 'STATUS', get: (b) => b.status },
        { header: 'START', get: (b) => formatTime(b.start_time) },
        { header: 'END', get: (b) => formatTime(b.end_time) },
        { header: 'DURATION', get: (b) => buildDuration(b.start_time, b.end_time, now) },
        { header: 'TEAM', get: (b) => b.team_name },
      ]),
    );
    return builds;
  }
}

/** The newest builds of a pipeline: the newest `limit` of each job, merged by id. */
async function pipelineBuilds(
  client: ApiClient,
  team: string,
  pipeline: string,
  limit: number,
): Promise<Build[]> {
  const jobs = await client.listJobs({ team, pipeline });
  const pages = await Promise.all(
    jobs.map((job) => client.listJobBuilds({ team, pipeline, job: job.name }, { limit })),
  );
  return pages.flatMap((page) => page.items).sort((a, b) => b.id - a.id);
}
