import type { Env } from '@conveyor/plugin-api';
import { canonicalJson } from '../config/index.js';
import { ConveyorError } from '../errors/index.js';

/** A task config once checked: Concourse's TaskConfig, with params already turned into env. */
export interface TaskConfig {
  platform: string;
  imageResource?: ImageResource;
  rootfsUri?: string;
  inputs: TaskInput[];
  outputs: TaskOutput[];
  caches: Array<{ path: string }>;
  env: Env;
  run: { path: string; args: string[]; dir?: string; user?: string };
  limits?: { cpuShares?: number; memoryBytes?: number };
}

export interface ImageResource {
  type: string;
  source: Record<string, unknown>;
  params?: Record<string, unknown>;
  version?: Record<string, string>;
}

export interface TaskInput {
  name: string;
  /** Where it is mounted, relative to the working directory (the name by default). */
  path: string;
  optional: boolean;
}

export interface TaskOutput {
  name: string;
  path: string;
}

/** Check a task config (after vars, params and interpolation), listing every problem at once. */
export function parseTaskConfig(raw: unknown, where: string): TaskConfig {
  const problems: string[] = [];
  if (!isRecord(raw)) {
    throw invalid(where, ['the config must be a map']);
  }
  const platform = raw.platform;
  if (typeof platform !== 'string' || !platform) problems.push("missing 'platform'");

  const run = isRecord(raw.run) ? raw.run : undefined;
  if (!run) problems.push("missing 'run'");
  else if (typeof run.path !== 'string' || !run.path)
    problems.push('missing path to executable to run (run.path)');
  const args = run?.args ?? [];
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string' || typeof a === 'number')) {
    problems.push('run.args must be a list of strings');
  }
  for (const key of ['dir', 'user'] as const) {
    if (run?.[key] !== undefined && typeof run[key] !== 'string')
      problems.push(`run.${key} must be a string`);
  }

  const inputs = namedList(raw.inputs, 'inputs', problems).map((input) => ({
    ...input,
    optional: input.raw.optional === true,
  }));
  const outputs = namedList(raw.outputs, 'outputs', problems);
  const caches: Array<{ path: string }> = [];
  list(raw.caches, 'caches', problems).forEach((cache, i) => {
    if (!isRecord(cache) || typeof cache.path !== 'string' || !cache.path) {
      problems.push(`cache in position ${i} is missing a path`);
    } else {
      caches.push({ path: cleanPath(cache.path) });
    }
  });

  let imageResource: ImageResource | undefined;
  if (raw.image_resource !== undefined) {
    const image = raw.image_resource;
    if (!isRecord(image) || typeof image.type !== 'string' || !image.type) {
      problems.push('image_resource must have a type');
    } else if (image.source !== undefined && !isRecord(image.source)) {
      problems.push('image_resource.source must be a map');
    } else {
      imageResource = {
        type: image.type,
        source: isRecord(image.source) ? image.source : {},
        ...(isRecord(image.params) ? { params: image.params } : {}),
        ...(isRecord(image.version) ? { version: stringMap(image.version) } : {}),
      };
    }
  }

  if (raw.params !== undefined && raw.params !== null && !isRecord(raw.params))
    problems.push('params must be a map');
  const limits = containerLimits(raw.container_limits, problems);

  if (problems.length > 0) throw invalid(where, problems);
  return {
    platform: platform as string,
    ...(imageResource ? { imageResource } : {}),
    ...(typeof raw.rootfs_uri === 'string' && raw.rootfs_uri ? { rootfsUri: raw.rootfs_uri } : {}),
    inputs: inputs.map(({ name, path, optional }) => ({ name, path, optional })),
    outputs: outputs.map(({ name, path }) => ({ name, path })),
    caches,
    env: taskEnv(isRecord(raw.params) ? raw.params : {}),
    run: {
      path: run?.path as string,
      args: (args as unknown[]).map(String),
      ...(typeof run?.dir === 'string' && run.dir ? { dir: run.dir } : {}),
      ...(typeof run?.user === 'string' && run.user ? { user: run.user } : {}),
    },
    ...(limits ? { limits } : {}),
  };
}

/**
 * Params as environment, as Concourse coerces them: strings as they are, numbers as written, null
 * as empty, anything else as JSON (Go marshals maps with sorted keys, and so do we).
 */
function taskEnv(params: Record<string, unknown>): Env {
  return Object.fromEntries(Object.entries(params).map(([name, value]) => [name, coerce(value)]));
}

function coerce(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  return canonicalJson(value);
}

function namedList(
  value: unknown,
  field: 'inputs' | 'outputs',
  problems: string[],
): Array<{ name: string; path: string; raw: Record<string, unknown> }> {
  const what = field === 'inputs' ? 'input' : 'output';
  const seen = new Set<string>();
  const items: Array<{ name: string; path: string; raw: Record<string, unknown> }> = [];
  list(value, field, problems).forEach((item, i) => {
    if (!isRecord(item) || typeof item.name !== 'string' || !item.name) {
      problems.push(`${what} in position ${i} is missing a name`);
      return;
    }
    if (item.path !== undefined && typeof item.path !== 'string') {
      problems.push(`${what} ${item.name}: path must be a string`);
      return;
    }
    if (seen.has(item.name)) problems.push(`${what} ${item.name} is listed twice`);
    seen.add(item.name);
    const path = cleanPath(item.path || item.name);
    if (path === '.' || path.startsWith('../') || path === '..') {
      problems.push(
        `${what} ${item.name}: path ${JSON.stringify(item.path)} must be a directory under the working directory`,
      );
      return;
    }
    items.push({ name: item.name, path, raw: item });
  });
  return items;
}

function list(value: unknown, field: string, problems: string[]): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    problems.push(`${field} must be a list`);
    return [];
  }
  return value;
}

/** `./a/b/` → `a/b`; relative to the task's working directory. */
function cleanPath(path: string): string {
  const trimmed = path.replace(/^\/+/, '');
  const parts: string[] = [];
  for (const part of trimmed.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..' && parts.length > 0 && parts[parts.length - 1] !== '..') parts.pop();
    else parts.push(part);
  }
  return parts.join('/') || '.';
}

function containerLimits(
  value: unknown,
  problems: string[],
): { cpuShares?: number; memoryBytes?: number } | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) {
    problems.push('container_limits must be a map');
    return undefined;
  }
  const limits: { cpuShares?: number; memoryBytes?: number } = {};
  if (value.cpu !== undefined && value.cpu !== null) {
    if (typeof value.cpu === 'number' && Number.isInteger(value.cpu) && value.cpu >= 0)
      limits.cpuShares = value.cpu;
    else problems.push('container_limits.cpu must be a whole number of CPU shares');
  }
  if (value.memory !== undefined && value.memory !== null) {
    const bytes = memoryBytes(value.memory);
    if (bytes === undefined)
      problems.push('container_limits.memory must be a size in bytes, or like 512MB or 1GB');
    else limits.memoryBytes = bytes;
  }
  return Object.keys(limits).length > 0 ? limits : undefined;
}

const MEMORY_UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

function memoryBytes(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const match = /^\s*(\d+)\s*([KMGT]?)I?B?\s*$/i.exec(value);
  if (!match) return undefined;
  return Number(match[1]) * (MEMORY_UNITS[(match[2] ?? '').toUpperCase()] ?? 1);
}

function stringMap(value: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, String(v)]));
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function invalid(where: string, problems: string[]): ConveyorError {
  return new ConveyorError(
    'CC_E_EXEC_TASK_CONFIG_INVALID',
    `invalid task config of ${where}:\n- ${problems.join('\n- ')}`,
    {
      details: { problems },
    },
  );
}
