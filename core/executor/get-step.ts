import type { Version } from '@conveyor/plugin-api';
import { ConveyorError } from '../errors/index.js';
import type { GetStep } from '../plan/build-plan.generated.js';
import type { BuildContext } from './build-context.js';
import { type Fetched, fetchVersion } from './fetch-version.js';
import { interrupted } from './interruption.js';
import { type StepOutcome, succeeded } from './outcome.js';
import { redactDeep } from './redaction.js';
import { checkResourceConfig, latestVersion, outputToLogs } from './resource-calls.js';
import { resourceCallHost } from './resource-host.js';
import type { RunScope } from './run-scope.js';

/**
 * get: fetch one version of a resource into a fresh volume and register it as the artifact
 * `name`. The version is the plan's, or the one its put produced (`fromPut`), or else the latest.
 */
export async function runGetStep(
  build: BuildContext,
  step: GetStep,
  scope: RunScope,
  signal: AbortSignal,
): Promise<StepOutcome> {
  const { events, deps } = build;
  const origin = { id: step.id };
  const what = `get ${JSON.stringify(step.name)}`;
  await events.emit({ event: 'initialize-get', data: { origin, time: events.time() } });

  const source = await build.interpolate(step.source, scope, `the source of ${what}`);
  const params = step.params
    ? await build.interpolate(step.params, scope, `the params of ${what}`)
    : undefined;
  const client = deps.resourceType(step.resourceType);
  checkResourceConfig(client, what, source, params, 'getParams');
  const version = await versionToFetch(build, step, source, what, signal);

  if (signal.aborted) return interrupted(signal);
  await events.emit({ event: 'start-get', data: { origin, time: events.time() } });

  const output = outputToLogs(events, step.id);
  let fetched: Fetched;
  try {
    // Fetched files are for the runtime's containers: within its user namespace, if it has one.
    const { idMapping } = await build.runtimeInfo();
    fetched = await fetchVersion(
      build,
      step.id,
      'get',
      { client, source, version, params, idMapping },
      (directory) =>
        client.call(
          'get',
          { source, version, ...(params ? { params } : {}), directory, build: deps.build },
          {
            signal,
            onOutput: output.onOutput,
            timeoutMs: step.timeoutMs,
            host: resourceCallHost(build, step.id, step.resourceType, [directory], output.onOutput),
          },
        ),
    );
  } finally {
    output.end();
  }
  const { volume: directory, response } = fetched;
  scope.registerArtifact(step.name, directory);
  await events.emit({
    event: 'finish-get',
    data: {
      origin,
      time: events.time(),
      succeeded: true,
      exit_status: 0,
      version: response.version,
      ...(response.metadata ? { metadata: redactDeep(response.metadata, events.redact) } : {}),
    },
  });
  return succeeded;
}

async function versionToFetch(
  build: BuildContext,
  step: GetStep,
  source: Record<string, unknown>,
  what: string,
  signal: AbortSignal,
): Promise<Version> {
  if (step.version) return step.version;
  if (step.fromPut) {
    const result = build.putResults.get(step.fromPut);
    if (!result) {
      throw new ConveyorError(
        'CC_E_EXEC_PUT_RESULT_MISSING',
        `${what} fetches the version put by step ${step.fromPut}, which has not produced one`,
        { details: { step: step.id, fromPut: step.fromPut } },
      );
    }
    return result.version;
  }
  const output = outputToLogs(build.events, step.id);
  try {
    return await latestVersion(build.deps.resourceType(step.resourceType), source, what, signal, {
      host: resourceCallHost(build, step.id, step.resourceType, [], output.onOutput),
    });
  } finally {
    output.end();
  }
}
