import { Flags } from '@oclif/core';
import { TargetCommand } from '../base-command.js';
import { findBuild } from '../builds/index.js';
import { jobFlag, parseJobRef, teamFlag } from '../refs/index.js';

export default class Watch extends TargetCommand<typeof Watch> {
  static override summary = "Stream a build's log until it finishes.";
  static override description =
    `Prints the build's log as it comes, with a header for each task (initializing, running PATH ARGS) and the final status, then exits like fly: 0 succeeded, 1 failed, 2 errored, 3 aborted.

With -j, watches the job's running build (else its latest), or build -b NAME of the job; with -b alone, the build with that id; with neither, the latest one-off build. A dropped connection is resumed from the last event received, so no line is lost or repeated.`;
  static override hiddenAliases = ['w'];
  static override examples = [
    '<%= config.bin %> <%= command.id %> -j app/unit',
    '<%= config.bin %> <%= command.id %> -j app/unit -b 3',
    '<%= config.bin %> <%= command.id %> -b 42',
  ];
  static override flags = {
    job: jobFlag('Watch a build of this job, as PIPELINE/JOB.'),
    build: Flags.string({
      char: 'b',
      summary: 'The build: its name with --job, else its global id.',
      helpValue: '<BUILD>',
    }),
    team: teamFlag,
  };

  async run(): Promise<void> {
    const job = this.flags.job === undefined ? undefined : parseJobRef(this.flags.job);
    const client = await this.client();
    const build = await findBuild(client, this.flags.team, job, this.flags.build);
    await this.watchAndExit(client, build.id);
  }
}
