import {
  createAjv,
  describeProblems,
  formatProblems,
  type MethodName,
  type MethodRequest,
  type MethodResponse,
  PLUGIN_API_VERSION,
  type PluginKind,
  type PluginManifest,
  type SchemaProblem,
} from '@conveyor/plugin-api';
import semver from 'semver';
import { ConveyorError } from '../errors/index.js';
import { type DiscoveredPlugin, discoverPlugins, linkHostPackages, type PluginSource } from './discovery.js';
import { type CallOptions, callConfig, PluginPool, type PoolLimits } from './plugin-pool.js';
import { PoolSnapshots } from './pool-snapshots.js';

export interface PluginHostOptions {
  /** Package directories of the built-in plugins. */
  builtinDirs: readonly string[];
  /** The plugin store (`<dir>/<name>/<version>/`). */
  installedDir?: string | undefined;
  /** Version ranges pinned by name (conveyor.yaml `plugins.pins`), used when a caller names no range. */
  pins?: Readonly<Record<string, string>> | undefined;
  /** Defaults for every pool; a manifest's `limits` and then these options refine them. */
  callTimeoutMs?: number | undefined;
  maxMemoryMb?: number | undefined;
  maxThreads?: number | undefined;
  idleTimeoutMs?: number | undefined;
}

type FilledHostOptions = Required<Omit<PluginHostOptions, 'installedDir' | 'pins'>> &
  Pick<PluginHostOptions, 'installedDir'> & { pins: Readonly<Record<string, string>> };

const kDefaultOptions = {
  callTimeoutMs: 5 * 60_000,
  maxMemoryMb: 512,
  maxThreads: 2,
  idleTimeoutMs: 30_000,
} as const;

/** A plugin as `cc plugin list` shows it. */
export interface PluginSummary {
  name: string;
  version: string;
  kind: PluginKind;
  apiVersion: string;
  description?: string;
  source: PluginSource;
  path: string;
}

/** A typed handle on one plugin@version with one configuration. */
export interface PluginClient<K extends PluginKind> {
  readonly id: string;
  readonly manifest: PluginManifest;
  call<M extends MethodName<K>>(
    method: M,
    request: MethodRequest<K, M>,
    options?: CallOptions,
  ): Promise<MethodResponse<K, M>>;
}

/**
 * The plugin host: finds plugins, checks them, and runs each plugin@version in its own pool of
 * worker threads. Plugins of one name may be installed side by side in several versions.
 */
export class PluginHost {
  readonly #options: FilledHostOptions;
  readonly #plugins = new Map<string, DiscoveredPlugin[]>();
  readonly #pools = new Map<string, PluginPool>();
  readonly #snapshots: PoolSnapshots | undefined;
  #refused: ConveyorError[] = [];
  #closed = false;

  private constructor(options: FilledHostOptions) {
    this.#options = options;
    this.#snapshots = options.installedDir ? new PoolSnapshots(options.installedDir) : undefined;
  }

  static async create(options: PluginHostOptions): Promise<PluginHost> {
    if (!Array.isArray(options.builtinDirs)) {
      throw new TypeError('options.builtinDirs must be an array of directories');
    }
    for (const key of ['callTimeoutMs', 'maxMemoryMb', 'maxThreads', 'idleTimeoutMs'] as const) {
      const value = options[key];
      if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
        throw new TypeError(`options.${key} must be a positive integer`);
      }
    }
    const filled: FilledHostOptions = {
      ...kDefaultOptions,
      ...withoutUndefined(options),
      builtinDirs: options.builtinDirs,
      installedDir: options.installedDir,
      pins: options.pins ?? {},
    };
    const host = new PluginHost(filled);
    await host.#snapshots?.sweep();
    await host.rescan();
    return host;
  }

  /** Look at the plugin directories again (after an install). Running pools are kept. */
  async rescan(): Promise<void> {
    if (this.#options.installedDir) await linkHostPackages(this.#options.installedDir);
    const { plugins, refused } = await discoverPlugins({
      builtinDirs: this.#options.builtinDirs,
      installedDir: this.#options.installedDir,
    });
    this.#plugins.clear();
    for (const plugin of plugins) {
      const versions = this.#plugins.get(plugin.manifest.name) ?? [];
      versions.push(plugin);
      versions.sort((a, b) => semver.rcompare(a.manifest.version, b.manifest.version));
      this.#plugins.set(plugin.manifest.name, versions);
    }
    this.#refused = refused;
  }

  get apiVersion(): string {
    return PLUGIN_API_VERSION;
  }

  list(): PluginSummary[] {
    return [...this.#plugins.values()].flat().map((p) => ({
      name: p.manifest.name,
      version: p.manifest.version,
      kind: p.manifest.kind,
      apiVersion: p.manifest.apiVersion,
      ...(p.manifest.description ? { description: p.manifest.description } : {}),
      source: p.source,
      path: p.dir,
    }));
  }

  /** Packages found but refused (bad manifest, incompatible API), each with its typed error. */
  refused(): readonly ConveyorError[] {
    return this.#refused;
  }

  /**
   * The highest installed version of `name` within `range` (or the pinned range, or any), of the
   * given kind when one is named.
   */
  resolve(name: string, range?: string, kind?: PluginKind): DiscoveredPlugin {
    const versions = (this.#plugins.get(name) ?? []).filter((p) => !kind || p.manifest.kind === kind);
    if (versions.length === 0) {
      const what = kind ? `${kind} plugin` : 'plugin';
      const known = this.list()
        .filter((p) => !kind || p.kind === kind)
        .map((p) => p.name);
      throw new ConveyorError(
        'CC_E_PLUGIN_NOT_FOUND',
        `no ${what} named ${JSON.stringify(name)} is installed${known.length ? ` (installed: ${[...new Set(known)].join(', ')})` : ''}; install it with \`cc plugin install ${name}\``,
        { details: { name, kind } },
      );
    }
    const wanted = range ?? this.#options.pins[name];
    const match = wanted ? versions.find((p) => semver.satisfies(p.manifest.version, wanted)) : versions[0];
    if (!match) {
      throw new ConveyorError(
        'CC_E_PLUGIN_NO_MATCHING_VERSION',
        `no installed version of ${name} satisfies ${wanted} (installed: ${versions.map((p) => p.manifest.version).join(', ')})`,
        { details: { name, range: wanted, installed: versions.map((p) => p.manifest.version) } },
      );
    }
    return match;
  }

  /**
   * A client for one plugin with one configuration, validated against the plugin's configSchema.
   * `name` may carry a range: `git@^2`.
   */
  client<K extends PluginKind>(kind: K, name: string, config: Record<string, unknown> = {}): PluginClient<K> {
    const at = name.indexOf('@', 1);
    const plugin =
      at > 0
        ? this.resolve(name.slice(0, at), name.slice(at + 1), kind)
        : this.resolve(name, undefined, kind);
    const problems = validateAgainst(plugin.manifest.configSchema, config);
    if (problems.length) {
      throw new ConveyorError(
        'CC_E_PLUGIN_CONFIG_INVALID',
        `configuration of ${plugin.id}: ${describeProblems(problems)}`,
        { details: { plugin: plugin.id, problems } },
      );
    }
    const pool = this.#pool(plugin);
    const configForCalls = callConfig(config);
    return {
      id: plugin.id,
      manifest: plugin.manifest,
      call: async (method, request, options) => {
        if (this.#closed) {
          throw new ConveyorError(
            'CC_E_PLUGIN_HOST_CLOSED',
            `the plugin host is shut down; ${plugin.id} ${method} was not run`,
          );
        }
        return (await pool.call(method, request, configForCalls, options)) as never;
      },
    };
  }

  #pool(plugin: DiscoveredPlugin): PluginPool {
    let pool = this.#pools.get(plugin.id);
    if (!pool) {
      const limits = plugin.manifest.limits ?? {};
      const poolLimits: PoolLimits = {
        callTimeoutMs: limits.callTimeoutMs ?? this.#options.callTimeoutMs,
        maxOldGenerationSizeMb: Math.min(
          limits.maxOldGenerationSizeMb ?? this.#options.maxMemoryMb,
          this.#options.maxMemoryMb,
        ),
        maxThreads: limits.maxThreads ?? this.#options.maxThreads,
        concurrentCallsPerWorker: limits.concurrentCallsPerWorker ?? 1,
        idleTimeoutMs: this.#options.idleTimeoutMs,
      };
      // An installed version runs from the host's own links to its files, so a build that started
      // with it keeps it when the CLI removes it from the store (pool-snapshots.ts).
      pool = new PluginPool(this.#snapshots?.runFrom(plugin) ?? plugin, poolLimits);
      this.#pools.set(plugin.id, pool);
    }
    return pool;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((pool) => pool.close()));
    await this.#snapshots?.close();
  }
}

const schemaAjv = createAjv();
const compiledSchemas = new WeakMap<object, ReturnType<typeof schemaAjv.compile>>();

/** Validate a value against a schema a plugin declares (its config, a resource's source or params). */
export function validateAgainst(schema: object | undefined, value: unknown): SchemaProblem[] {
  if (!schema) return [];
  let validate = compiledSchemas.get(schema);
  if (!validate) {
    validate = schemaAjv.compile(schema);
    compiledSchemas.set(schema, validate);
  }
  return validate(value) ? [] : formatProblems(validate.errors);
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
