import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConveyorError } from '../errors/index.js';
import type { ConveyorConfig } from './conveyor-config.generated.js';
import { readEnvLayer } from './env.js';
import { mergeLayers } from './merge.js';
import {
  type ConfigProblem,
  placeInEnv,
  placeInFile,
  placeInFlags,
  renderProblem,
  schemaFindings,
} from './problems.js';
import { absolutePath, homeDir, type ResolvedConfig, resolveConfig } from './resolve.js';
import { configValidator, isRecord } from './schema.js';
import { parseYamlSource, type YamlSource } from './yaml-source.js';

/** Every field optional, all the way down: what command-line flags may set. */
export type DeepPartial<T> = T extends readonly (infer U)[]
  ? DeepPartial<U>[]
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

export interface LoadConfigOptions {
  /** The conveyor.yaml to read. Default: $CONVEYOR_CONFIG; with neither, no file is read. */
  file?: string;
  /** The environment to take CONVEYOR_* variables from. Default: process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Values from command-line flags; they beat everything else. Undefined fields are ignored. */
  overrides?: DeepPartial<ConveyorConfig>;
  /** What relative paths in `file`, the environment and `overrides` are relative to. Default: process.cwd(). */
  cwd?: string;
}

/**
 * Load the server configuration: defaults < file < environment < overrides. Every layer is
 * validated against conveyor.schema.json and every problem of every layer is reported at once, in
 * one CC_E_CONFIG_INVALID error, each at its file:line:column, variable or flag.
 */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<ResolvedConfig> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const home = homeDir(env);
  const validate = configValidator();
  const layers: ConveyorConfig[] = [];
  const problems: ConfigProblem[] = [];

  // 1. The file. Its relative paths are relative to the file, as a reader of the file expects.
  const fileName = options.file ?? (env.CONVEYOR_CONFIG || undefined);
  if (fileName !== undefined) {
    const path = absolutePath(fileName, cwd, home);
    const source = await readSource(path);
    // An empty file (or one of only comments) configures nothing.
    const value = source.value ?? {};
    if (validate(value)) layers.push(withAbsolutePaths(value, dirname(path), home));
    else
      problems.push(...placeInFile(schemaFindings(validate.errors, value, { describeActual: true }), source));
  }

  // 2. The environment; its values are strings, so "not a string" would only confuse.
  const envLayer = readEnvLayer(env);
  if (validate(envLayer.value)) layers.push(withAbsolutePaths(envLayer.value, cwd, home));
  else
    problems.push(
      ...placeInEnv(
        schemaFindings(validate.errors, envLayer.value, { describeActual: false }),
        envLayer.variables,
      ),
    );

  // 3. Flags.
  const flags = withoutUndefined(options.overrides ?? {});
  if (validate(flags)) layers.push(withAbsolutePaths(flags, cwd, home));
  else problems.push(...placeInFlags(schemaFindings(validate.errors, flags, { describeActual: true })));

  if (problems.length > 0) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    throw new ConveyorError(
      'CC_E_CONFIG_INVALID',
      `Configuration is invalid (${count}):\n${problems.map((problem) => `  ${renderProblem(problem)}`).join('\n')}`,
      {
        details: { problems, ...(fileName === undefined ? {} : { file: absolutePath(fileName, cwd, home) }) },
      },
    );
  }

  const merged: unknown = layers.reduce<unknown>(mergeLayers, {});
  // Valid layers merge into a valid whole; this check turns a merging bug into a clear error.
  if (!validate(merged)) {
    throw new ConveyorError('CC_E_INTERNAL', 'config: the merged configuration layers fail the schema', {
      details: { problems: schemaFindings(validate.errors, merged, { describeActual: true }) },
    });
  }
  return resolveConfig(merged, { env, isRoot: process.getuid?.() === 0 });
}

async function readSource(path: string): Promise<YamlSource> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error: unknown) {
    const code = isRecord(error) ? error.code : undefined;
    if (code === 'ENOENT') {
      throw new ConveyorError(
        'CC_E_CONFIG_NOT_FOUND',
        `Configuration file ${path} does not exist. Check the path, or name no file to run on defaults and CONVEYOR_* variables.`,
        { cause: error, details: { file: path } },
      );
    }
    throw new ConveyorError('CC_E_CONFIG_UNREADABLE', `Cannot read configuration file ${path}.`, {
      cause: error,
      details: { file: path },
    });
  }
  const source = parseYamlSource(text, { file: path });
  if (source.problems.length > 0) {
    const problems: ConfigProblem[] = source.problems.map((problem) => ({
      source: 'file',
      path: '',
      message: problem.message,
      keyword: 'yaml',
      file: path,
      line: problem.line,
      column: problem.column,
    }));
    throw new ConveyorError(
      'CC_E_CONFIG_YAML',
      `Configuration file ${path} is not valid YAML:\n${problems.map((problem) => `  ${renderProblem(problem)}`).join('\n')}`,
      { details: { file: path, problems } },
    );
  }
  return source;
}

/** The layer with `data_dir` and `plugins.dir` made absolute against the layer's own base. */
function withAbsolutePaths(layer: ConveyorConfig, base: string, home: string): ConveyorConfig {
  const result: ConveyorConfig = { ...layer };
  if (layer.data_dir !== undefined) result.data_dir = absolutePath(layer.data_dir, base, home);
  if (layer.plugins?.dir !== undefined)
    result.plugins = { ...layer.plugins, dir: absolutePath(layer.plugins.dir, base, home) };
  return result;
}

/** A copy without undefined values, which flag parsers produce for every unset flag. */
function withoutUndefined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutUndefined);
  if (!isRecord(value)) return value;
  const result: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (item !== undefined) result[key] = withoutUndefined(item);
  }
  return result;
}
