import { isRecord } from './schema.js';

/**
 * Fields that choose a plugin, and the key that names it. A plugin's `config` belongs to that
 * plugin: when a higher layer switches to another plugin (`CONVEYOR_RUNTIME=local` over a file
 * that configures containerd), the lower layer's config is dropped, not handed to the new one.
 */
const selections: Readonly<Record<string, string>> = { runtime: 'plugin', volumes: 'driver' };

/**
 * Merge a higher-precedence configuration layer over a lower one: mappings merge key by key,
 * lists and scalars replace. Neither input is changed.
 */
export function mergeLayers(lower: unknown, upper: unknown): unknown {
  if (upper === undefined) return lower;
  if (!isRecord(lower) || !isRecord(upper)) return upper;
  const merged: Record<string, unknown> = { ...lower };
  for (const [key, value] of Object.entries(upper)) {
    // An unset flag arrives as an explicit undefined; it must not hide the layer below.
    if (value === undefined) continue;
    const nameKey = selections[key];
    merged[key] = nameKey ? mergeSelection(lower[key], value, nameKey) : mergeValues(lower[key], value);
  }
  return merged;
}

function mergeValues(lower: unknown, upper: unknown): unknown {
  if (upper === undefined) return lower;
  if (isRecord(lower) && isRecord(upper)) {
    const merged: Record<string, unknown> = { ...lower };
    for (const [key, value] of Object.entries(upper)) {
      if (value !== undefined) merged[key] = mergeValues(lower[key], value);
    }
    return merged;
  }
  return upper;
}

function mergeSelection(lower: unknown, upper: unknown, nameKey: string): unknown {
  if (upper === undefined) return lower;
  // `runtime: containerd` is shorthand for `runtime: { plugin: containerd }`.
  const asObject = (value: unknown) => (typeof value === 'string' ? { [nameKey]: value } : value);
  const low = asObject(lower);
  const high = asObject(upper);
  if (!isRecord(low) || !isRecord(high)) return upper;
  const highName = pluginName(high[nameKey]);
  if (highName !== undefined && highName !== pluginName(low[nameKey])) return high;
  return mergeValues(low, high);
}

/** The name part of `name@range`. */
function pluginName(ref: unknown): string | undefined {
  return typeof ref === 'string' ? ref.split('@')[0] : undefined;
}
