/** A resource version as fly shows it in tables: `key:value` pairs, sorted, comma-separated. */
export function presentVersion(version: Readonly<Record<string, string>> | undefined): string {
  if (version === undefined) return 'n/a';
  return Object.entries(version)
    .map(([key, value]) => `${key}:${value}`)
    .sort()
    .join(',');
}
