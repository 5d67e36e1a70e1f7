import { describeProblems, type Version } from '@conveyor/plugin-api';
import { ConveyorError } from '../errors/index.js';
import { type HostServiceHandlers, type PluginClient, validateAgainst } from '../plugins/index.js';
import type { EventSink } from './event-sink.js';

/**
 * Check a get's or put's source and params, after interpolation, against the resource type's own
 * schemas, so a wrong value is named here rather than deep inside the plugin.
 */
export function checkResourceConfig(
  client: PluginClient<'resource-type'>,
  what: string,
  source: Record<string, unknown>,
  params: Record<string, unknown> | undefined,
  paramsSchema: 'getParams' | 'putParams',
): void {
  const schemas = client.manifest.resourceType ?? {};
  const problems = [
    ...validateAgainst(schemas.source, source).map((p) => ({ ...p, path: prefixed('source', p.path) })),
    ...validateAgainst(schemas[paramsSchema], params ?? {}).map((p) => ({
      ...p,
      path: prefixed('params', p.path),
    })),
  ];
  if (problems.length > 0) {
    throw new ConveyorError(
      'CC_E_EXEC_RESOURCE_CONFIG_INVALID',
      `${what}: ${describeProblems(problems)} (resource type ${client.id})`,
      { details: { plugin: client.id, problems } },
    );
  }
}

/** The newest version of a resource, by a check from scratch; for a get that names none. */
export async function latestVersion(
  client: PluginClient<'resource-type'>,
  source: Record<string, unknown>,
  what: string,
  signal: AbortSignal,
  options: { host?: HostServiceHandlers | undefined } = {},
): Promise<Version> {
  const { versions } = await client.call('check', { source }, { signal, host: options.host });
  const latest = versions.at(-1);
  if (!latest) {
    throw new ConveyorError(
      'CC_E_EXEC_NO_VERSION',
      `${what}: the resource has no version to fetch (a check found none); check the resource or put a version first`,
    );
  }
  return latest;
}

/**
 * A plugin call's output as build logs: a resource's stdout stays stdout, its stderr and its own
 * log lines go to stderr, where Concourse resources write their progress.
 */
export function outputToLogs(
  events: EventSink,
  id: string,
): { onOutput(stream: 'stdout' | 'stderr' | 'log', data: string): void; end(): void } {
  const stdout = events.logWriter({ id, source: 'stdout' });
  const stderr = events.logWriter({ id, source: 'stderr' });
  return {
    onOutput: (stream, data) => {
      if (stream === 'stdout') stdout.write(data);
      else stderr.write(stream === 'log' && !data.endsWith('\n') ? `${data}\n` : data);
    },
    end: () => {
      stdout.end();
      stderr.end();
    },
  };
}

function prefixed(root: string, path: string): string {
  return path ? `${root}.${path}` : root;
}
