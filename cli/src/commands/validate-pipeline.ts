import { Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { readTextFile } from '../files/index.js';
import { type ConfigProblem, renderProblem, validatorProblems } from '../output/index.js';
import { invalidConfig, loadStaticVars } from '../pipeline/index.js';

export interface ValidationResult {
  file: string;
  valid: boolean;
  problems: ConfigProblem[];
}

export default class ValidatePipeline extends BaseCommand<typeof ValidatePipeline> {
  static override summary = 'Check a pipeline config locally, without a server.';
  static override description =
    `Validates the config the way the server does (the pipeline schema and Concourse's rules: unique names, known resources and jobs, passed: constraints, ...) and prints every problem, one per line, as file:line:column: path: message. Exits 1 if any is an error, and with --strict also if any is a warning.

Resource types are not checked here: which ones exist, and the schemas of their source and params, are known to the server's plugins. cc set-pipeline checks them.`;
  static override hiddenAliases = ['vp'];
  static override examples = [
    '<%= config.bin %> <%= command.id %> -c ci/pipeline.yml',
    {
      description: 'Fail on warnings too, with the vars the pipeline is set with.',
      command: '<%= config.bin %> <%= command.id %> -c ci/pipeline.yml --strict -l ci/vars.yml',
    },
  ];
  static override enableJsonFlag = true;
  static override flags = {
    config: Flags.string({
      char: 'c',
      summary: 'The pipeline config file (YAML).',
      required: true,
      helpValue: '<FILE>',
    }),
    strict: Flags.boolean({ summary: 'Treat warnings as errors.' }),
    var: Flags.string({
      char: 'v',
      summary: 'A static var as a string; repeatable.',
      multiple: true,
      helpValue: '<NAME=VALUE>',
    }),
    'yaml-var': Flags.string({
      char: 'y',
      summary: 'A static var as YAML; repeatable.',
      multiple: true,
      helpValue: '<NAME=YAML>',
    }),
    'load-vars-from': Flags.string({
      char: 'l',
      summary: 'A YAML file of static vars; repeatable.',
      multiple: true,
      helpValue: '<FILE>',
    }),
  };

  async run(): Promise<ValidationResult> {
    const { flags } = this;
    const file = flags.config;
    const text = await readTextFile(file);
    const vars = await loadStaticVars({
      vars: flags.var,
      yamlVars: flags['yaml-var'],
      files: flags['load-vars-from'],
    });
    // Loaded here, not at the top: only the local commands need the core's validator.
    const { validatePipeline } = await import('@conveyor/core/config');
    const err = (line: string) => {
      if (!this.jsonEnabled()) this.logToStderr(line);
    };
    let warnings: ConfigProblem[];
    try {
      warnings = validatePipeline(text, { file, vars }).warnings;
    } catch (error) {
      const problems = validatorProblems(error);
      if (problems === undefined) throw error;
      throw invalidConfig(file, problems, err);
    }
    if (flags.strict && warnings.length > 0) {
      throw invalidConfig(file, warnings, err, {
        hint: '--strict makes warnings errors; fix them, or drop --strict',
      });
    }
    for (const warning of warnings) err(renderProblem(warning, file));
    this.log('looks good');
    return { file, valid: true, problems: warnings };
  }
}
