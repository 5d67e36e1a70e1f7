import semver from 'semver';

/** What a plugin is called in configuration and pipelines: `containerd`, `git`, `registry-image`. */
export const pluginNamePattern = /^[a-z][a-z0-9-]*$/;

/** A plugin reference split into its name and the semver range after `@`, if any. */
export interface PluginRefParts {
  name: string;
  range?: string;
}

export function isPluginName(text: string): boolean {
  return pluginNamePattern.test(text);
}

/** A non-empty semver range (`^1`, `~2.0.1`, `>=1.2 <3`); semver itself takes '' as `*`. */
export function isSemverRange(text: string): boolean {
  return text.trim() !== '' && semver.validRange(text) !== null;
}

/** Split `name@range` (`containerd@^1`); undefined when the name or the range is malformed. */
export function parsePluginRef(ref: string): PluginRefParts | undefined {
  const at = ref.indexOf('@');
  const name = at < 0 ? ref : ref.slice(0, at);
  if (!isPluginName(name)) return undefined;
  if (at < 0) return { name };
  const range = ref.slice(at + 1);
  return isSemverRange(range) ? { name, range } : undefined;
}
