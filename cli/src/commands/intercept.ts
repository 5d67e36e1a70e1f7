import { Args, Flags } from '@oclif/core';
import { TargetCommand } from '../base-command.js';
import { findBuild } from '../builds/index.js';
import type { ApiClient, Build, Container, InterceptQuery } from '../client/index.js';
import { CliError } from '../errors/index.js';
import { chooseContainer, runSession } from '../intercept/index.js';
import { jobFlag, parseJobRef, teamFlag } from '../refs/index.js';

export default class Intercept extends TargetCommand<typeof Intercept> {
  static override summary = "Run a shell or a command in the container of a build's step.";
  static override description =
    `Like fly intercept (hijack): runs COMMAND (default sh) in the container of a step, in the step's working directory with its environment, and exits with the command's exit status.

With -j, the container is one of the job's running build (else its latest), or of build -b NAME; with --build ID, of that build (a one-off build, say). When several containers match and no -s names the step, it lists them and asks which; without a terminal to ask on, it fails with the list.

When stdin is a terminal the command gets one (raw mode, resizes follow the local terminal); the local runtime cannot give one, so there use --no-tty, or a command with stdin not a terminal. A step has a container while it runs. Ending the command (or its connection) stops it, never the step.`;
  static override hiddenAliases = ['i', 'hijack'];
  static override strict = false;
  static override examples = [
    '<%= config.bin %> <%= command.id %> -j app/unit',
    '<%= config.bin %> <%= command.id %> -j app/unit -b 3 -s test -- cat /etc/os-release',
    '<%= config.bin %> <%= command.id %> --build 42 --no-tty -- ls -la',
  ];
  static override args = {
    command: Args.string({ description: 'The command and its arguments, after `--`; default sh.' }),
  };
  static override flags = {
    job: jobFlag('A build of this job, as PIPELINE/JOB.'),
    build: Flags.string({
      char: 'b',
      summary: 'The build: its name with --job (default its latest), else its global id.',
      helpValue: '<BUILD>',
    }),
    step: Flags.string({ char: 's', summary: 'The step: its name or plan id.', helpValue: '<STEP>' }),
    handle: Flags.string({
      summary: "The container's handle, as cc containers lists it.",
      helpValue: '<HANDLE>',
    }),
    tty: Flags.boolean({
      summary: 'Give the command a terminal (default: when stdin is one).',
      allowNo: true,
    }),
    team: teamFlag,
  };

  async run(): Promise<void> {
    const { flags } = this;
    const { argv } = await this.parse(Intercept);
    const [path = 'sh', ...args] = argv.map(String);
    if (flags.job === undefined && flags.build === undefined) {
      throw new CliError('CC_E_CLI_USAGE', 'name the build whose container to intercept', {
        hint: 'cc intercept -j PIPELINE/JOB [-b NAME] [-s STEP], or --build ID for a one-off build',
      });
    }
    const job = flags.job === undefined ? undefined : parseJobRef(flags.job);
    const client = await this.client();
    const build = await findBuild(client, flags.team, job, flags.build);
    const container = await chooseContainer(await candidates(client, build, flags));

    const tty = flags.tty ?? process.stdin.isTTY === true;
    const query: InterceptQuery = { container: container.handle, command: [path, ...args], tty };
    if (tty) {
      const { columns, rows } = process.stdout;
      if (process.stdout.isTTY && columns > 0 && rows > 0) Object.assign(query, { columns, rows });
      const term = process.env.TERM;
      if (term !== undefined && /^[A-Za-z0-9._+-]{1,64}$/.test(term)) query.term = term;
    }
    const socket = await client.openIntercept(build.id, query);
    const outcome = await runSession(
      socket,
      { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr },
      tty,
    );
    if (outcome.exitStatus !== 0) this.exit(outcome.exitStatus);
  }
}

/** The containers of the build that exist and match the step or handle, oldest first. */
async function candidates(
  client: ApiClient,
  build: Build,
  flags: { step?: string | undefined; handle?: string | undefined },
): Promise<Container[]> {
  const listed = await client.listContainers(build.team_name, {
    build_id: build.id,
    ...(flags.step === undefined ? {} : { step: flags.step }),
  });
  const found = listed.filter(
    (c) => c.state === 'created' && (flags.handle === undefined || c.handle === flags.handle),
  );
  if (found.length > 0) return found;
  const which =
    flags.handle !== undefined
      ? ` ${flags.handle}`
      : flags.step !== undefined
        ? ` for step "${flags.step}"`
        : '';
  const name =
    build.job_name === undefined
      ? `one-off build ${build.id}`
      : `build ${build.pipeline_name}/${build.job_name} #${build.name}`;
  const why =
    build.status === 'pending'
      ? 'it has not started yet'
      : build.status === 'started'
        ? 'a step has a container only while it runs'
        : `it has ${build.status}, and its containers went with it`;
  throw new CliError('CC_E_CLI_NOT_FOUND', `${name} has no container${which} to intercept: ${why}`, {
    hint: '`cc containers` lists the containers there are',
    details: { build: build.id, status: build.status },
  });
}
