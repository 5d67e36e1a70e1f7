/** A problem in a pipeline config as the validator reports it (all fields but the message optional). */
export interface ConfigProblem {
  message: string;
  file?: string;
  line?: number;
  column?: number;
  path?: string;
  severity?: string;
}

/**
 * One line per problem, as compilers print them: `file:line:column: path: message`, with
 * `warning: ` before the path of a warning. `file` replaces the file name the server validated
 * the text as: the user edits their own file, and the positions are the same.
 */
export function renderProblem(problem: ConfigProblem, file?: string): string {
  const name = file ?? problem.file ?? 'pipeline.yml';
  const where =
    problem.line === undefined
      ? name
      : `${name}:${problem.line}${problem.column === undefined ? '' : `:${problem.column}`}`;
  const label = problem.severity === 'warning' ? 'warning: ' : '';
  const subject = problem.path ? `${problem.path}: ` : '';
  return `${where}: ${label}${subject}${problem.message}`;
}

/** The problems in an error's details (the server's or the validator's), if it carries any. */
export function problemsOf(details: Record<string, unknown>): ConfigProblem[] {
  const problems = details.problems;
  if (!Array.isArray(problems)) return [];
  return problems.filter(
    (p): p is ConfigProblem =>
      typeof p === 'object' && p !== null && 'message' in p && typeof p.message === 'string',
  );
}

/** `2 errors`, `1 error, 1 warning`, `3 warnings`: what a list of problems amounts to. */
export function countProblems(problems: readonly ConfigProblem[]): string {
  const errors = problems.filter((p) => p.severity !== 'warning').length;
  const warnings = problems.length - errors;
  const parts = [
    ...(errors > 0 || warnings === 0 ? [errors === 1 ? '1 error' : `${errors} errors`] : []),
    ...(warnings > 0 ? [warnings === 1 ? '1 warning' : `${warnings} warnings`] : []),
  ];
  return parts.join(', ');
}

/**
 * The problems of the core validator's CC_E_PIPELINE_INVALID error (thrown by validatePipeline
 * and formatPipeline); undefined for any other failure, which is not about the config.
 */
export function validatorProblems(error: unknown): ConfigProblem[] | undefined {
  if (!(error instanceof Error) || !('code' in error) || error.code !== 'CC_E_PIPELINE_INVALID')
    return undefined;
  const details =
    'details' in error && typeof error.details === 'object' && error.details !== null ? error.details : {};
  return problemsOf(details as Record<string, unknown>);
}
