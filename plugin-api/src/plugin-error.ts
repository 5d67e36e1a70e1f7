/**
 * The error a plugin throws on purpose: a failure it understands (a repository that does not
 * exist, a bad credential), with a stable code of the plugin's own that the core keeps. Anything
 * else a plugin throws is reported as an unexpected failure of that plugin.
 */
export class PluginError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PluginError';
    this.code = code;
  }
}
