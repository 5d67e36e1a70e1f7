import { Flags } from '@oclif/core';
import { TargetCommand } from '../base-command.js';
import { readTextFile } from '../files/index.js';
import { confirm, requireInteractive } from '../interaction/index.js';
import { loadStaticVars, type SetPipelineOutcome, setPipeline } from '../pipeline/index.js';
import { nonInteractiveFlag, parsePipelineName, pipelineFlag, teamFlag } from '../refs/index.js';

export default class SetPipeline extends TargetCommand<typeof SetPipeline> {
  static override summary = 'Create or update a pipeline from its config file.';
  static override description =
    `Shows what the new config changes against the one the server has (resources, jobs and groups added, removed or changed, as a coloured line diff), asks "apply configuration? [yN]", then sets it. The config is sent as it is written; the server validates it and reports each problem as file:line:column: path: message.

The config is applied only if nobody changed the pipeline since the diff was shown; otherwise nothing is applied and the command says so (run it again to see the new diff).

Static vars fill ((var)) references when the config is set, as with fly: -l files first (a later file wins), then -v and -y, which win over files. The ((vars)) left are resolved by builds when they run; with --check-creds the server looks each up now (in the configured credential managers, then the pipeline's var_sources; never printing a value) and sets nothing if one is missing. A new pipeline starts paused; the command prints how to unpause it.`;
  static override hiddenAliases = ['sp'];
  static override examples = [
    '<%= config.bin %> <%= command.id %> -p app -c ci/pipeline.yml',
    {
      description: 'Set it from a script, with vars from a file and the command line.',
      command:
        '<%= config.bin %> <%= command.id %> -p app -c ci/pipeline.yml -l ci/vars.yml -v branch=main -n',
    },
  ];
  static override flags = {
    pipeline: pipelineFlag,
    config: Flags.string({
      char: 'c',
      summary: 'The pipeline config file (YAML).',
      required: true,
      helpValue: '<FILE>',
    }),
    var: Flags.string({
      char: 'v',
      summary: 'A static var as a string; repeatable.',
      multiple: true,
      helpValue: '<NAME=VALUE>',
    }),
    'yaml-var': Flags.string({
      char: 'y',
      summary: 'A static var as YAML (a number, a list, a mapping); repeatable.',
      multiple: true,
      helpValue: '<NAME=YAML>',
    }),
    'load-vars-from': Flags.string({
      char: 'l',
      summary: 'A YAML file of static vars; repeatable, later files win.',
      multiple: true,
      helpValue: '<FILE>',
    }),
    team: teamFlag,
    'non-interactive': nonInteractiveFlag,
    'check-creds': Flags.boolean({
      summary:
        "Have the server look up every ((var)) left after static vars in the pipeline's credential managers first; a missing one stops it, at its file:line:column.",
    }),
  };

  async run(): Promise<SetPipelineOutcome> {
    const { flags } = this;
    const pipeline = parsePipelineName(flags.pipeline);
    const nonInteractive = flags['non-interactive'];
    // Refuse before any work when nobody could answer the question at the end.
    if (!nonInteractive) requireInteractive('apply configuration?');
    const text = await readTextFile(flags.config);
    const vars = await loadStaticVars({
      vars: flags.var,
      yamlVars: flags['yaml-var'],
      files: flags['load-vars-from'],
    });
    const client = await this.client();
    return setPipeline({
      client,
      team: flags.team,
      pipeline,
      file: flags.config,
      text,
      vars,
      nonInteractive,
      checkCreds: flags['check-creds'],
      out: (line) => this.log(line),
      err: (line) => this.logToStderr(line),
      style: this.style,
      confirm: (question) => confirm(question),
    });
  }
}
