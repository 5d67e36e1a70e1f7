import { Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { readTextFile, replaceTextFile } from '../files/index.js';
import { validatorProblems } from '../output/index.js';
import { invalidConfig } from '../pipeline/index.js';

export default class FormatPipeline extends BaseCommand<typeof FormatPipeline> {
  static override summary = 'Format a pipeline config in the canonical layout.';
  static override description =
    `Like fly format-pipeline: known keys in a canonical order (name and step type first, hooks last), two-space indentation. Comments stay with what they describe and values are left as they are. Prints the result, or rewrites the file with --write.`;
  static override hiddenAliases = ['fp'];
  static override examples = [
    '<%= config.bin %> <%= command.id %> -c ci/pipeline.yml',
    '<%= config.bin %> <%= command.id %> -c ci/pipeline.yml -w',
  ];
  static override flags = {
    config: Flags.string({
      char: 'c',
      summary: 'The pipeline config file (YAML).',
      required: true,
      helpValue: '<FILE>',
    }),
    write: Flags.boolean({ char: 'w', summary: 'Rewrite the file in place instead of printing it.' }),
  };

  async run(): Promise<void> {
    const file = this.flags.config;
    const text = await readTextFile(file);
    const { formatPipeline } = await import('@conveyor/core/config');
    let formatted: string;
    try {
      formatted = formatPipeline(text, { file });
    } catch (error) {
      const problems = validatorProblems(error);
      if (problems === undefined) throw error;
      throw invalidConfig(file, problems, (line) => this.logToStderr(line));
    }
    if (!this.flags.write) {
      this.write(formatted);
      return;
    }
    if (formatted !== text) await replaceTextFile(file, formatted);
  }
}
