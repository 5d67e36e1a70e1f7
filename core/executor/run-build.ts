import { toError } from '../errors/index.js';
import type { BuildPlan } from '../plan/build-plan.generated.js';
import { BuildRun, faultMessage } from './build-run.js';
import { isCanceled, type StepOutcome } from './outcome.js';
import { RunScope } from './run-scope.js';
import type { BuildResult, ExecutorDeps, RunBuildOptions } from './types.js';

const kDefaultOptions = {
  killGracePeriodMs: 10_000,
} as const;

/**
 * Run a build's plan to the end and say how it ended. Step failures and errors are outcomes,
 * never rejections: each errored step has an `error` event naming it. Every container and volume
 * the build made is destroyed before this resolves, except those `options.keep` keeps.
 * The caller emits the build's `status` events; this only returns the result.
 */
export async function runBuild(
  plan: BuildPlan,
  deps: ExecutorDeps,
  options: RunBuildOptions,
): Promise<BuildResult> {
  assertArguments(plan, deps, options);
  const killGracePeriodMs = options.killGracePeriodMs ?? kDefaultOptions.killGracePeriodMs;
  const run = new BuildRun(deps, killGracePeriodMs);
  const scope = new RunScope();
  // Artifacts the caller made (the uploaded inputs of a one-off build); the caller owns them.
  for (const [name, volume] of options.artifacts ?? []) scope.registerArtifact(name, volume);
  let outcome: StepOutcome = { ok: false, faults: [] };
  try {
    outcome = await run.run(plan.root, scope, options.signal);
  } catch (error) {
    // A bug of the executor itself; the build still ends, errored, with the reason shown.
    outcome = { ok: false, faults: [{ kind: 'error', error: toError(error) }] };
    await run.events
      .emit({
        event: 'error',
        data: { message: run.events.redact(faultMessage(outcome.faults[0]!)), time: run.events.time() },
      })
      .catch(() => undefined);
  } finally {
    // Before release: the caller picks which artifacts to keep (a one-off build's outputs).
    options.onArtifacts?.(scope.artifacts());
    await run.ledger.releaseAll(resultOf(outcome, options.signal), options.keep);
  }
  await run.events.flush().catch(() => undefined);
  return resultOf(outcome, options.signal);
}

function resultOf(outcome: StepOutcome, signal: AbortSignal): BuildResult {
  if (signal.aborted || isCanceled(outcome)) return 'aborted';
  if (outcome.faults.length > 0) return 'errored';
  return outcome.ok ? 'succeeded' : 'failed';
}

/** The boundary: programming errors of the caller, with uniform messages. */
function assertArguments(plan: BuildPlan, deps: ExecutorDeps, options: RunBuildOptions): void {
  if (plan?.schemaVersion !== 1 || !plan.root) {
    throw new TypeError('plan must be a BuildPlan of schemaVersion 1 with a root step');
  }
  for (const name of ['emit', 'interpolate', 'redact', 'track', 'resourceType'] as const) {
    if (typeof deps?.[name] !== 'function') throw new TypeError(`deps.${name} must be a function`);
  }
  if (!deps.runtime || !deps.volumes || !deps.build) {
    throw new TypeError('deps.build, deps.runtime and deps.volumes are required');
  }
  if (!(options?.signal instanceof AbortSignal)) throw new TypeError('options.signal must be an AbortSignal');
  const grace = options.killGracePeriodMs;
  if (grace !== undefined && !(Number.isInteger(grace) && grace >= 0)) {
    throw new TypeError('options.killGracePeriodMs must be a non-negative integer');
  }
}
