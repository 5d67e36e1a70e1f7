import { Flags } from '@oclif/core';
import { TargetCommand } from '../base-command.js';
import type { Pipeline } from '../client/index.js';
import { type Column, formatTime, renderTable } from '../output/index.js';
import { teamFlag } from '../refs/index.js';

export default class Pipelines extends TargetCommand<typeof Pipelines> {
  static override summary = 'List the pipelines.';
  static override description =
    'Lists the pipelines of the team (main unless --team says otherwise), or of every team with --all. Archived pipelines are left out.';
  static override hiddenAliases = ['ps'];
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --all --json',
  ];
  static override enableJsonFlag = true;
  static override flags = {
    all: Flags.boolean({ char: 'a', summary: 'Show the pipelines of every team.' }),
    team: teamFlag,
  };

  async run(): Promise<Pipeline[]> {
    const client = await this.client();
    const { all, team } = this.flags;
    const pipelines = (await client.listPipelines(all ? undefined : team)).filter((p) => !p.archived);
    const columns: Column<Pipeline>[] = [
      { header: 'NAME', get: (p) => p.name },
      ...(all ? [{ header: 'TEAM', get: (p: Pipeline) => p.team_name }] : []),
      { header: 'PAUSED', get: (p) => (p.paused ? 'yes' : 'no') },
      { header: 'PUBLIC', get: (p) => (p.public ? 'yes' : 'no') },
      { header: 'LAST UPDATED', get: (p) => formatTime(p.last_updated) },
    ];
    this.log(renderTable(pipelines, columns));
    return pipelines;
  }
}
