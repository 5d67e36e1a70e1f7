import type { SerializedError } from '../generated/worker.generated.js';
import type { SchemaProblem } from '../schemas.js';

/** What the kit found wrong with a plugin or with a test's own input. */
export type ConformanceErrorCode =
  /** conveyor-plugin.json is missing, unreadable, invalid, or its apiVersion excludes this plugin-api. */
  | 'CONFORMANCE_BAD_MANIFEST'
  /** The configuration passed to loadPluginForTest fails the manifest's configSchema. */
  | 'CONFORMANCE_BAD_CONFIG'
  /** The method is not one of the plugin kind's methods. */
  | 'CONFORMANCE_UNKNOWN_METHOD'
  /** The request fails its schema: the test is wrong, not the plugin. */
  | 'CONFORMANCE_BAD_REQUEST'
  /** The plugin's reply fails its schema: the host would refuse it. */
  | 'CONFORMANCE_BAD_RESPONSE';

/**
 * A contract violation found by the kit, named after the plugin (`name@version`) and the method, with
 * the schema problems when there are some.
 */
export class ConformanceError extends Error {
  readonly code: ConformanceErrorCode;
  readonly problems: readonly SchemaProblem[];

  constructor(
    code: ConformanceErrorCode,
    message: string,
    options: { problems?: readonly SchemaProblem[]; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ConformanceError';
    this.code = code;
    this.problems = options.problems ?? [];
  }
}

/**
 * A call the plugin itself failed, as the host would report it: `code` is the plugin's own code
 * (from a PluginError) when it gave one, so tests can assert on it rather than on message text.
 */
export class PluginCallError extends Error {
  readonly code: string | undefined;
  /** `name@version` of the plugin. */
  readonly plugin: string;
  readonly method: string;
  /** The error as it crossed the call boundary. */
  readonly remote: SerializedError;

  constructor(plugin: string, method: string, remote: SerializedError) {
    super(`${plugin} ${method} failed: ${remote.message}`);
    this.name = 'PluginCallError';
    this.code = remote.code;
    this.plugin = plugin;
    this.method = method;
    this.remote = remote;
  }
}
