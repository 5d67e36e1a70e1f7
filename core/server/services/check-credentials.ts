import type { PipelineProblem, PipelineVarUse } from '../../config/index.js';
import { renderPipelineProblem } from '../../config/index.js';
import { type CredentialManager, createInterpolator } from '../../creds/index.js';
import { ConveyorError, toError } from '../../errors/index.js';

/** The var source of a build's local vars: load_var and across set them while the build runs. */
const kLocalSource = '.';

/**
 * `check_creds`: look up every `((var))` a config leaves for its builds, through the credential
 * managers those builds would ask (the configured ones, then the config's `var_sources`), before
 * the config is stored, as fly's `--check-creds` has Concourse do. Values are looked up and
 * dropped: none is kept, logged or answered. Throws CC_E_PIPELINE_CREDS_MISSING placing each use
 * that does not resolve.
 */
export async function checkCredentials(
  uses: readonly PipelineVarUse[],
  managers: readonly CredentialManager[],
  where: { team: string; pipeline: string; file: string },
): Promise<void> {
  const checked = uses.filter((use) => use.source !== kLocalSource);
  if (checked.length === 0) return;
  // One interpolator: a var used in ten places is looked up once.
  const interpolator = createInterpolator({ managers, team: where.team, pipeline: where.pipeline });
  const texts = [...new Set(checked.map((use) => use.text))];
  const outcomes = await Promise.allSettled(texts.map((text) => interpolator.interpolate(`((${text}))`)));
  const failures = new Map<string, string>();
  outcomes.forEach((outcome, i) => {
    if (outcome.status === 'rejected') failures.set(texts[i] as string, toError(outcome.reason).message);
  });
  if (failures.size === 0) return;

  const problems: PipelineProblem[] = checked
    .filter((use) => failures.has(use.text))
    .map((use) => ({
      file: use.file,
      line: use.line,
      column: use.column,
      path: use.path,
      message: failures.get(use.text) as string,
      severity: 'error',
    }));
  const count = failures.size === 1 ? '1 var' : `${failures.size} vars`;
  throw new ConveyorError(
    'CC_E_PIPELINE_CREDS_MISSING',
    `Pipeline ${where.file} uses ${count} that cannot be resolved now (--check-creds):\n${problems.map((problem) => `  ${renderPipelineProblem(problem)}`).join('\n')}`,
    { details: { file: where.file, problems } },
  );
}
