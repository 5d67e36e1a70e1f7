import type { CallContext } from './call-context.js';
import type { PluginKind } from './generated/common.generated.js';
import type {
  CredentialsMethods,
  ResourceTypeMethods,
  RuntimeMethods,
  VolumeMethods,
} from './generated/methods.generated.js';

/** The method map of each plugin kind. */
export interface PluginMethodsByKind {
  runtime: RuntimeMethods;
  volume: VolumeMethods;
  credentials: CredentialsMethods;
  'resource-type': ResourceTypeMethods;
}

export type MethodName<K extends PluginKind> = keyof PluginMethodsByKind[K] & string;
export type MethodRequest<K extends PluginKind, M extends MethodName<K>> = PluginMethodsByKind[K][M] extends {
  request: infer R;
}
  ? R
  : never;
export type MethodResponse<
  K extends PluginKind,
  M extends MethodName<K>,
> = PluginMethodsByKind[K][M] extends {
  response: infer R;
}
  ? R
  : never;

/** What a plugin implements for its kind: every method, sync or async. */
export type PluginImplementation<K extends PluginKind, Config = Record<string, unknown>> = {
  [M in MethodName<K>]: (
    request: MethodRequest<K, M>,
    context: CallContext<Config>,
  ) => MethodResponse<K, M> | Promise<MethodResponse<K, M>>;
};

const definitionBrand = Symbol.for('conveyor.plugin-definition');

export interface PluginDefinition<K extends PluginKind = PluginKind, Config = Record<string, unknown>> {
  readonly [definitionBrand]: true;
  readonly kind: K;
  readonly methods: PluginImplementation<K, Config>;
  /** Runs once per worker thread before its first call, with the plugin's validated configuration. */
  readonly setup?: ((config: Config) => void | Promise<void>) | undefined;
}

export interface DefinePluginOptions<Config> {
  setup?: (config: Config) => void | Promise<void>;
}

/**
 * Declare a plugin. The default export of a plugin's `main` module must be the value this returns.
 *
 * ```ts
 * export default definePlugin('credentials', {
 *   info: () => ({ description: 'environment variables' }),
 *   lookup: ({ path }) => (process.env[path] ? { found: true, value: process.env[path] } : { found: false }),
 * });
 * ```
 */
export function definePlugin<K extends PluginKind, Config = Record<string, unknown>>(
  kind: K,
  methods: PluginImplementation<K, Config>,
  options: DefinePluginOptions<Config> = {},
): PluginDefinition<K, Config> {
  return { [definitionBrand]: true, kind, methods, setup: options.setup };
}

export const defineRuntime = <Config = Record<string, unknown>>(
  methods: PluginImplementation<'runtime', Config>,
  options?: DefinePluginOptions<Config>,
) => definePlugin('runtime', methods, options);
export const defineVolumeDriver = <Config = Record<string, unknown>>(
  methods: PluginImplementation<'volume', Config>,
  options?: DefinePluginOptions<Config>,
) => definePlugin('volume', methods, options);
export const defineCredentialManager = <Config = Record<string, unknown>>(
  methods: PluginImplementation<'credentials', Config>,
  options?: DefinePluginOptions<Config>,
) => definePlugin('credentials', methods, options);
export const defineResourceType = <Config = Record<string, unknown>>(
  methods: PluginImplementation<'resource-type', Config>,
  options?: DefinePluginOptions<Config>,
) => definePlugin('resource-type', methods, options);

export function isPluginDefinition(value: unknown): value is PluginDefinition {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[definitionBrand] === true
  );
}
