import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type BuildResult,
  type ExecutorDeps,
  type RunBuildOptions,
  runBuild,
  type SetPipelineRequest,
  type TrackedResource,
} from '@conveyor/core/executor';
import type { BuildPlan, GetStep, PlanStep, TaskStep } from '@conveyor/core/plan';
import { type PluginClient, PluginHost } from '@conveyor/core/plugins';

export { processRuns as isRunning } from '@conveyor/test/harness/processes.js';

export type BuildEvent = Parameters<ExecutorDeps['emit']>[0];

const pluginDir = (name: string) => fileURLToPath(new URL(`../../../plugins/${name}/`, import.meta.url));

/** The built-in plugins the executor runs with, on roots of their own in a scratch directory. */
export interface Harness {
  host: PluginHost;
  runtime: PluginClient<'runtime'>;
  volumes: PluginClient<'volume'>;
  /** A scratch directory for files tasks write on the host (the local runtime does not isolate). */
  scratch: string;
  close(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const scratch = await mkdtemp(join(tmpdir(), 'executor-test-'));
  const host = await PluginHost.create({
    builtinDirs: ['runtime-local', 'volume-naive', 'resource-mock'].map(pluginDir),
    callTimeoutMs: 60_000,
  });
  return {
    host,
    runtime: host.client('runtime', 'local', { root: join(scratch, 'containers') }),
    volumes: host.client('volume', 'naive', { root: join(scratch, 'volumes') }),
    scratch,
    async close() {
      await host.close();
      await rm(scratch, { recursive: true, force: true });
    },
  };
}

/** Everything a build did, as its caller saw it. */
export interface BuildRecord {
  result: BuildResult;
  events: BuildEvent[];
  tracked: TrackedResource[];
  setPipelineCalls: SetPipelineRequest[];
}

export interface RunOptions {
  /** Credentials `((name))` resolves to; they are redacted once resolved. */
  creds?: Record<string, unknown>;
  signal?: AbortSignal;
  /** Called with each event as it is emitted (e.g. to abort once a task has started). */
  onEvent?: (event: BuildEvent) => void;
  killGracePeriodMs?: number;
  keep?: RunBuildOptions['keep'];
  setPipeline?: ExecutorDeps['setPipeline'];
  pipeline?: string;
  deps?: Partial<ExecutorDeps>;
}

let buildIds = 0;

export async function runPlan(
  harness: Harness,
  root: PlanStep,
  options: RunOptions = {},
): Promise<BuildRecord> {
  const events: BuildEvent[] = [];
  const tracked: TrackedResource[] = [];
  const setPipelineCalls: SetPipelineRequest[] = [];
  const creds = options.creds ?? {};
  const resolvedSecrets = new Set<string>();
  const deps: ExecutorDeps = {
    build: {
      id: ++buildIds,
      name: String(buildIds),
      team: 'main',
      ...(options.pipeline ? { pipeline: options.pipeline, job: 'job' } : {}),
      url: `http://conveyor.test/builds/${buildIds}`,
    },
    runtime: harness.runtime,
    volumes: harness.volumes,
    resourceType: (type) => harness.host.client('resource-type', type),
    emit: async (event) => {
      events.push(event);
      options.onEvent?.(event);
    },
    interpolate: async (value, scope) =>
      interpolate(value, (ref) => {
        const found = resolve(ref, creds, scope.localVars);
        if (!ref.startsWith('.:') && typeof found === 'string') resolvedSecrets.add(found);
        return found;
      }),
    redact: (text) => {
      let result = text;
      for (const secret of resolvedSecrets) result = result.split(secret).join('((redacted))');
      return result;
    },
    track: async (resource) => {
      tracked.push({ ...resource });
    },
    setPipeline: async (request) => {
      setPipelineCalls.push(request);
      return options.setPipeline ? options.setPipeline(request) : { changed: true };
    },
    ...options.deps,
  };
  const plan: BuildPlan = { schemaVersion: 1, root };
  const result = await runBuild(plan, deps, {
    signal: options.signal ?? new AbortController().signal,
    killGracePeriodMs: options.killGracePeriodMs ?? 2_000,
    ...(options.keep ? { keep: options.keep } : {}),
  });
  return { result, events, tracked, setPipelineCalls };
}

/**
 * A small stand-in for core/creds' interpolation, enough for these tests: `((name.field))` from
 * the creds, `((.:name.field))` from local vars (names as Concourse's var syntax has them, so a
 * shell's `$((n+1))` is left alone); a value that is one var keeps its type.
 */
function interpolate<T>(value: T, lookup: (reference: string) => unknown): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const whole = /^\(\(([-\w./:]+)\)\)$/.exec(v);
      if (whole) return lookup(whole[1]!.trim());
      return v.replace(/\(\(([-\w./:]+)\)\)/g, (_, ref: string) => {
        const found = lookup(ref.trim());
        return typeof found === 'string' ? found : JSON.stringify(found);
      });
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value) as T;
}

function resolve(
  reference: string,
  creds: Record<string, unknown>,
  locals: Record<string, unknown>,
): unknown {
  const local = reference.startsWith('.:');
  const [name = '', ...fields] = (local ? reference.slice(2) : reference).split('.');
  const vars = local ? locals : creds;
  if (!Object.hasOwn(vars, name)) throw new Error(`undefined var: ${reference}`);
  let value = vars[name];
  for (const field of fields) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, field)) {
      throw new Error(`undefined var: ${reference}`);
    }
    value = (value as Record<string, unknown>)[field];
  }
  return value;
}

/* Plan builders. */

export function getStep(
  id: string,
  name: string,
  source: Record<string, unknown>,
  extra: Partial<GetStep> = {},
): GetStep {
  return { id, type: 'get', name, resource: name, resourceType: 'mock', source, ...extra };
}

export interface TaskOptions {
  inputs?: Array<{ name: string; path?: string; optional?: boolean }>;
  outputs?: Array<{ name: string; path?: string }>;
  params?: Record<string, unknown>;
  configParams?: Record<string, unknown>;
  step?: Partial<TaskStep>;
}

/** A task running `sh -c script` on the host. */
export function taskStep(id: string, script: string, options: TaskOptions = {}): TaskStep {
  return {
    id,
    type: 'task',
    name: id,
    config: {
      platform: 'linux',
      ...(options.inputs ? { inputs: options.inputs } : {}),
      ...(options.outputs ? { outputs: options.outputs } : {}),
      ...(options.configParams ? { params: options.configParams } : {}),
      run: { path: 'sh', args: ['-c', script] },
    },
    ...(options.params ? { params: options.params } : {}),
    ...options.step,
  };
}

/** A task that errors before it runs anything: its config has no run. */
export function erroringStep(id: string): TaskStep {
  return { id, type: 'task', name: id, config: { platform: 'linux' } };
}

export const doStep = (id: string, ...steps: PlanStep[]): PlanStep => ({ id, type: 'do', steps });

/* Reading what a build did. */

export function logOf(events: readonly BuildEvent[], id?: string, source?: 'stdout' | 'stderr'): string {
  return events
    .filter((e) => e.event === 'log')
    .filter(
      (e) => (id === undefined || e.data.origin.id === id) && (!source || e.data.origin.source === source),
    )
    .map((e) => (e.event === 'log' ? e.data.payload : ''))
    .join('');
}

export function errorsOf(events: readonly BuildEvent[], id?: string): string[] {
  return events.flatMap((e) =>
    e.event === 'error' && (id === undefined || e.data.origin?.id === id) ? [e.data.message] : [],
  );
}

/** Did the step do anything at all (any event names it)? */
export function ran(events: readonly BuildEvent[], id: string): boolean {
  return events.some((e) => 'origin' in e.data && e.data.origin?.id === id);
}

export function finishOf(events: readonly BuildEvent[], id: string) {
  const event = events.find(
    (e) => e.event.startsWith('finish-') && 'origin' in e.data && e.data.origin?.id === id,
  );
  return event?.event.startsWith('finish-')
    ? (event.data as { succeeded: boolean; exit_status?: number; version?: Record<string, string> })
    : undefined;
}

/** Nothing of any build is left on the runtime or the volume driver. */
export async function leftovers(harness: Harness): Promise<{ containers: string[]; volumes: string[] }> {
  const { containers } = await harness.runtime.call('listContainers', {});
  const { volumes } = await harness.volumes.call('listVolumes', {});
  return { containers: containers.map((c) => c.handle), volumes: volumes.map((v) => v.volume.handle) };
}

export async function readPid(path: string): Promise<number> {
  return Number((await readFile(path, 'utf8')).trim());
}
