import { parse, parseDocument } from 'yaml';
import { type ApiClient, isServerError, type SetPipelineConfigResponse } from '../client/index.js';
import { CliError } from '../errors/index.js';
import { type ConfigProblem, countProblems, problemsOf, renderProblem, type Style } from '../output/index.js';
import { diffPipelineConfigs, renderConfigDiff } from './config-diff.js';

export interface SetPipelineInput {
  client: ApiClient;
  team: string;
  pipeline: string;
  /** The config file as the user named it: problems are reported against it. */
  file: string;
  /** The config's YAML text, sent as it is (the server stores it byte for byte). */
  text: string;
  /** Static vars (`-v`, `-y`, `-l`), applied by the server when it sets the config. */
  vars: Record<string, unknown>;
  /** Apply without asking. */
  nonInteractive: boolean;
  /** Have the server look up the config's `((vars))` before it sets it (fly's `--check-creds`). */
  checkCreds?: boolean;
  /** A line of output (stdout) and of diagnostics (stderr). */
  out: (line: string) => void;
  err: (line: string) => void;
  style: Style;
  /** Asks a yes/no question; only called when `nonInteractive` is false. */
  confirm: (question: string) => Promise<boolean>;
}

export type SetPipelineOutcome =
  | { applied: false; reason: 'unchanged' | 'declined' }
  | { applied: true; result: SetPipelineConfigResponse; paused: boolean };

const question = 'apply configuration?';

/**
 * Sets a pipeline's config as `fly set-pipeline` does:
 * 1. fetch the config now stored (and its version) and show what the new one changes;
 * 2. ask `apply configuration? [yN]` unless told not to;
 * 3. send the config with `expected_version` of what was diffed, so a change made meanwhile by
 *    someone else is refused (CC_E_CLI_CONFLICT) instead of silently overwritten;
 * 4. print the server's warnings and, for a new paused pipeline, how to unpause it.
 * Validation problems are printed one per line as `file:line:column: path: message`.
 */
export async function setPipeline(input: SetPipelineInput): Promise<SetPipelineOutcome> {
  const { client, team, pipeline, file, text, out, style } = input;
  const after = parseLocally(text, file, input.err);
  const current = await client.getPipelineConfig({ team, pipeline });
  const before: unknown = current === null ? {} : parse(current.config);
  const hasVars = Object.keys(input.vars).length > 0;

  const diff = diffPipelineConfigs(before, after);
  if (diff.length > 0) out(renderConfigDiff(diff, style));
  else if (current !== null && current.config === text && !hasVars) {
    out('no changes to apply');
    return { applied: false, reason: 'unchanged' };
  } else if (current !== null) {
    // The stored text is kept byte for byte, so comments and layout are worth setting too.
    out(
      hasVars
        ? 'no changes to the config itself; the vars given are applied again'
        : 'no changes to what the config means; only comments or layout changed',
    );
  }
  out(`${style.bold('pipeline name:')} ${pipeline}`);
  out('');

  if (!input.nonInteractive && !(await input.confirm(question))) {
    out('bailing out');
    return { applied: false, reason: 'declined' };
  }

  let result: SetPipelineConfigResponse;
  try {
    result = await client.setPipelineConfig(
      { team, pipeline },
      {
        config: text,
        ...(hasVars ? { vars: input.vars } : {}),
        ...(input.checkCreds ? { check_creds: true } : {}),
        expected_version: current?.version ?? 0,
      },
    );
  } catch (error) {
    throw explainSetFailure(error, input);
  }

  for (const warning of result.warnings) input.err(renderProblem(warning, file));
  let paused = false;
  if (result.created) {
    out('pipeline created!');
    paused = (await client.getPipeline({ team, pipeline })).paused;
    if (paused) {
      const target = client.targetName === null ? '' : ` -t ${client.targetName}`;
      const teamFlag = team === 'main' ? '' : ` --team ${team}`;
      out('');
      out('the pipeline is currently paused. to unpause it, run:');
      out(`  cc${target} unpause-pipeline -p ${pipeline}${teamFlag}`);
    }
  } else {
    out('configuration updated');
  }
  return { applied: true, result, paused };
}

/** The config parsed for the diff; a YAML syntax error stops here, before anything is sent. */
function parseLocally(text: string, file: string, err: (line: string) => void): unknown {
  const document = parseDocument(text);
  if (document.errors.length === 0) return document.toJS({ maxAliasCount: 1000 });
  const problems: ConfigProblem[] = document.errors.map((error) => ({
    line: error.linePos?.[0].line ?? 1,
    column: error.linePos?.[0].col ?? 1,
    path: '',
    message: `is not valid YAML: ${error.message.split('\n')[0] ?? error.code}`,
    severity: 'error',
  }));
  throw invalidConfig(file, problems, err);
}

function explainSetFailure(error: unknown, input: SetPipelineInput): unknown {
  if (isServerError(error, 'CC_E_API_PIPELINE_CONFIG_CONFLICT')) {
    return new CliError(
      'CC_E_CLI_CONFLICT',
      `pipeline "${input.pipeline}" was changed by someone else after its config was fetched for the diff above; nothing was applied`,
      {
        cause: error,
        hint: 'run the same `cc set-pipeline` again to see the diff against the config as it is now',
        details: error.details,
      },
    );
  }
  if (isServerError(error, 'CC_E_PIPELINE_CREDS_MISSING')) {
    const problems = problemsOf(error.details);
    for (const problem of problems) input.err(renderProblem(problem, input.file));
    return new CliError(
      'CC_E_CLI_CREDS_MISSING',
      `${input.file} uses vars the server cannot resolve (${countProblems(problems)}); nothing was set`,
      {
        hint: 'add them to the credential manager, pass them as static vars (-v NAME=VALUE), or set the pipeline without --check-creds to let builds resolve them when they run',
        details: { file: input.file, problems, serverCode: error.details.serverCode },
      },
    );
  }
  if (error instanceof CliError && problemsOf(error.details).length > 0) {
    return invalidConfig(input.file, problemsOf(error.details), input.err, {
      serverCode: error.details.serverCode,
    });
  }
  return error;
}

/**
 * Prints each problem on its own line (stderr) and returns the error that ends the command. The
 * problems travel in its details (for --json); the validator's error is not chained as a cause,
 * since it would only print them all again.
 */
export function invalidConfig(
  file: string,
  problems: readonly ConfigProblem[],
  err: (line: string) => void,
  options: { serverCode?: unknown; hint?: string } = {},
): CliError {
  for (const problem of problems) err(renderProblem(problem, file));
  const { serverCode, hint } = options;
  return new CliError('CC_E_CLI_PIPELINE_INVALID', `${file} is invalid (${countProblems(problems)})`, {
    ...(hint === undefined ? {} : { hint }),
    details: { file, problems, ...(serverCode === undefined ? {} : { serverCode }) },
  });
}
