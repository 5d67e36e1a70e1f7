import type { resourceType } from '@conveyor/plugin-api';
import { ConveyorError } from '../errors/index.js';
import type { PutStep } from '../plan/build-plan.generated.js';
import type { BuildContext } from './build-context.js';
import { interrupted } from './interruption.js';
import { type StepOutcome, succeeded } from './outcome.js';
import { redactDeep } from './redaction.js';
import { checkResourceConfig, outputToLogs } from './resource-calls.js';
import { resourceCallHost } from './resource-host.js';
import type { RunScope } from './run-scope.js';
import { copyIntoVolume } from './volume-files.js';

/**
 * put: assemble a working volume holding the put's inputs as subdirectories (as Concourse's
 * /tmp/build/put), run the resource type's put in it, and keep the version it produced for the
 * get that follows (`fromPut`).
 */
export async function runPutStep(
  build: BuildContext,
  step: PutStep,
  scope: RunScope,
  signal: AbortSignal,
): Promise<StepOutcome> {
  const { events, deps } = build;
  const origin = { id: step.id };
  const what = `put ${JSON.stringify(step.name)}`;
  await events.emit({ event: 'initialize-put', data: { origin, time: events.time() } });

  const source = await build.interpolate(step.source, scope, `the source of ${what}`);
  const params = step.params
    ? await build.interpolate(step.params, scope, `the params of ${what}`)
    : undefined;
  const client = deps.resourceType(step.resourceType);
  checkResourceConfig(client, what, source, params, 'putParams');

  const inputs = putInputs(step.inputs ?? 'all', params ?? {}, scope, what);
  const directory = await build.ledger.createVolume(step.id, 'put', { type: 'empty' });
  for (const name of inputs) {
    if (signal.aborted) return interrupted(signal);
    const artifact = scope.artifact(name);
    if (artifact) await copyIntoVolume(deps.volumes, artifact, directory, name);
  }
  if (signal.aborted) return interrupted(signal);
  await events.emit({ event: 'start-put', data: { origin, time: events.time() } });

  const output = outputToLogs(events, step.id);
  let put: resourceType.PutResponse;
  try {
    put = await client.call(
      'put',
      { source, ...(params ? { params } : {}), directory, build: deps.build },
      {
        signal,
        onOutput: output.onOutput,
        host: resourceCallHost(build, step.id, step.resourceType, [directory], output.onOutput),
      },
    );
  } finally {
    output.end();
  }
  build.putResults.set(step.id, { version: put.version });
  await events.emit({
    event: 'finish-put',
    data: {
      origin,
      time: events.time(),
      succeeded: true,
      exit_status: 0,
      version: put.version,
      ...(put.metadata ? { metadata: redactDeep(put.metadata, events.redact) } : {}),
    },
  });
  return succeeded;
}

/**
 * The artifacts a put sees: all of them, the ones its params mention (`detect`: the first path
 * segment of every string in the params that names an artifact), or a list, each of which must
 * exist.
 */
function putInputs(
  inputs: 'all' | 'detect' | string[],
  params: Record<string, unknown>,
  scope: RunScope,
  what: string,
): string[] {
  const available = scope.artifacts();
  if (inputs === 'all') return [...available.keys()];
  if (inputs === 'detect') {
    return [...new Set(detectNames(params))].filter((name) => available.has(name)).sort();
  }
  const missing = inputs.filter((name) => !available.has(name));
  if (missing.length > 0) {
    throw new ConveyorError(
      'CC_E_EXEC_INPUT_MISSING',
      `${what}: input not found: ${missing.join(', ')}; the build has ${[...available.keys()].join(', ') || 'no artifacts'}`,
      { details: { missing } },
    );
  }
  return [...new Set(inputs)];
}

function detectNames(value: unknown): string[] {
  if (typeof value === 'string') {
    const parts = value.split('/');
    if (parts.length === 1) return [value];
    const first = parts.find((part) => part !== '.' && part !== '..');
    return first ? [first] : [];
  }
  if (Array.isArray(value)) return value.flatMap(detectNames);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(detectNames);
  return [];
}
