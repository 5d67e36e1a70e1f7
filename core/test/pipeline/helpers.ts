import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { type PipelineProblem, type ValidatePipelineOptions, validatePipeline } from '@conveyor/core/config';
import { isConveyorError } from '@conveyor/core/errors';
import { parse } from 'yaml';

export const fixtures = new URL('../../../test/fixtures/pipelines/', import.meta.url);

/** The pipeline files of a fixture folder, by name. */
export function fixtureNames(folder: 'valid' | 'invalid'): string[] {
  return readdirSync(new URL(`${folder}/`, fixtures))
    .filter((name) => name.endsWith('.yml'))
    .sort();
}

export function readFixture(folder: 'valid' | 'invalid', name: string): string {
  return readFileSync(new URL(`${folder}/${name}`, fixtures), 'utf8');
}

/** The static vars a valid fixture is set with (valid/vars/<name>), if it has any. */
export function fixtureVars(name: string): Record<string, unknown> {
  const file = new URL(`valid/vars/${name}`, fixtures);
  return existsSync(file) ? (parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
}

/** The problems of a pipeline that must be rejected. */
export function problemsOf(text: string, options: Partial<ValidatePipelineOptions> = {}): PipelineProblem[] {
  try {
    validatePipeline(text, { file: 'pipeline.yml', ...options });
  } catch (error: unknown) {
    if (isConveyorError(error, 'CC_E_PIPELINE_INVALID')) return error.details.problems as PipelineProblem[];
    throw error;
  }
  throw new Error('expected the pipeline to be rejected, but it was accepted');
}

/** Problems as `line:column path severity` lines, easy to compare. */
export function brief(problems: readonly PipelineProblem[]): string[] {
  return problems.map(
    (problem) => `${problem.line}:${problem.column} ${problem.path || '-'} ${problem.severity}`,
  );
}

/** A pipeline from lines, so tests can say where each line is. */
export function yaml(...lines: string[]): string {
  return `${lines.join('\n')}\n`;
}
