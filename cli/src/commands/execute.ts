import { Flags } from '@oclif/core';
import { TargetCommand } from '../base-command.js';
import type { ApiClient, Build } from '../client/index.js';
import { CliError } from '../errors/index.js';
import {
  checkInputDir,
  downloadDir,
  type LocalArtifact,
  parseArtifactPairs,
  planInputs,
  readTaskConfig,
  uploadDir,
} from '../execute/index.js';
import { parseJobRef, teamFlag } from '../refs/index.js';
import { type WatchOutcome, watchBuild } from '../watch/index.js';

export default class Execute extends TargetCommand<typeof Execute> {
  static override summary = 'Run a task config as a one-off build, with local directories as its inputs.';
  static override description =
    `Like fly execute: creates a one-off build of the task, uploads each input directory (everything in it), starts the build, streams its log, then downloads each -o output into its directory. Exits like cc watch: 0 succeeded, 1 failed, 2 errored, 3 aborted.

An input not given with -i is the current directory when it is the task's only input or is named like the current directory; with --inputs-from, inputs not given come from the latest versions that job's inputs would use. Ctrl-C aborts the build.`;
  static override hiddenAliases = ['e'];
  static override examples = [
    '<%= config.bin %> <%= command.id %> -c ci/unit.yml',
    {
      description: 'Upload ./src as input `repo` and fetch output `dist` into ./dist.',
      command: '<%= config.bin %> <%= command.id %> -c ci/build.yml -i repo=./src -o dist=./dist',
    },
    {
      description: "Take the other inputs from job app/unit's latest versions.",
      command: '<%= config.bin %> <%= command.id %> -c ci/unit.yml -i repo=. -j app/unit',
    },
  ];
  static override flags = {
    config: Flags.string({
      char: 'c',
      summary: 'The task config file (YAML).',
      required: true,
      helpValue: '<FILE>',
    }),
    input: Flags.string({
      char: 'i',
      summary: 'An input of the task and the directory to upload as it; repeatable.',
      multiple: true,
      helpValue: '<NAME=DIR>',
    }),
    output: Flags.string({
      char: 'o',
      summary: 'An output of the task and the directory to download it into; repeatable.',
      multiple: true,
      helpValue: '<NAME=DIR>',
    }),
    'inputs-from': Flags.string({
      char: 'j',
      summary: 'Take the inputs not given with -i from this job, as PIPELINE/JOB.',
      helpValue: '<PIPELINE/JOB>',
    }),
    privileged: Flags.boolean({ char: 'p', summary: 'Run the task with full privileges.' }),
    team: teamFlag,
  };

  async run(): Promise<void> {
    const { flags } = this;
    const task = await readTaskConfig(flags.config);
    const inputsFrom =
      flags['inputs-from'] === undefined ? undefined : parseJobRef(flags['inputs-from'], '--inputs-from');
    const given = parseArtifactPairs(
      flags.input ?? [],
      task.inputs.map((i) => i.name),
      '--input',
    );
    const outputs = parseArtifactPairs(flags.output ?? [], task.outputs, '--output');
    const plan = planInputs(task.inputs, given, {
      cwd: process.cwd(),
      inputsFromJob: inputsFrom !== undefined,
    });
    for (const upload of plan.uploads) await checkInputDir(upload.name, upload.dir);

    const client = await this.client();
    const build = await client.createBuild(flags.team, {
      config: task.config,
      inputs: plan.uploads.map((u) => u.name),
      outputs: outputs.map((o) => o.name),
      ...(flags.privileged ? { privileged: true } : {}),
      ...(inputsFrom === undefined ? {} : { inputs_from: inputsFrom }),
    });
    this.log(`executing build ${build.id}`);
    await this.#uploadAndStart(client, build, plan.uploads);

    const interrupt = this.#abortOnInterrupt(client, build.id);
    let outcome: WatchOutcome;
    try {
      // Not watchAndExit: it would end the command before the downloads.
      outcome = await watchBuild(client, build.id, {
        write: (text) => this.write(text),
        warn: (text) => process.stderr.write(text),
        style: this.style,
      });
    } finally {
      interrupt();
    }
    await this.#download(client, build.id, outputs, outcome.status === 'succeeded');
    if (outcome.exitCode !== undefined && outcome.exitCode !== 0) this.exit(outcome.exitCode);
  }

  async #uploadAndStart(client: ApiClient, build: Build, uploads: readonly LocalArtifact[]): Promise<void> {
    try {
      for (const upload of uploads) {
        this.logToStderr(`uploading ${upload.name} from ${upload.dir}`);
        await uploadDir(client, build.id, upload.name, upload.dir);
      }
      await client.startBuild(build.id);
    } catch (error) {
      // A build that will never start would wait forever: abort it, best effort.
      await client.abortBuild(build.id).catch(() => {});
      throw error;
    }
  }

  /** The first Ctrl-C aborts the build (its log then ends with `aborted`); a second one kills `cc`. */
  #abortOnInterrupt(client: ApiClient, buildId: number): () => void {
    const onSignal = () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.stderr.write(`\naborting build ${buildId}...\n`);
      client.abortBuild(buildId).catch((error: unknown) => {
        process.stderr.write(
          `failed to abort build ${buildId}: ${error instanceof Error ? error.message : String(error)}\n`,
        );
      });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    return () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    };
  }

  /**
   * Downloads each output. After a build that did not succeed, an output the task never produced
   * is expected and only noted; after a success it is an error.
   */
  async #download(
    client: ApiClient,
    buildId: number,
    outputs: readonly LocalArtifact[],
    succeeded: boolean,
  ): Promise<void> {
    for (const output of outputs) {
      this.logToStderr(`downloading ${output.name} to ${output.dir}`);
      try {
        await downloadDir(client, buildId, output.name, output.dir);
      } catch (error) {
        if (
          succeeded ||
          !(error instanceof CliError) ||
          error.details.serverCode !== 'CC_E_API_BUILD_OUTPUT_NOT_FOUND'
        ) {
          throw error;
        }
        this.logToStderr(`output ${output.name} was not produced`);
      }
    }
  }
}
