export const DEFAULT_PREFIX = 'CONVEYOR_VAR_';

/** `my-team` → `MY_TEAM`: upper case, and every character outside A–Z and 0–9 becomes `_`. */
export function toNamePart(value: string): string {
  return value.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

/**
 * The variable names a lookup tries, most specific first, as Concourse scopes credentials:
 * the pipeline's, then the team's, then a global one.
 */
export function candidateNames(
  prefix: string,
  team: string,
  pipeline: string | undefined,
  path: string,
): string[] {
  const name = toNamePart(path);
  const names: string[] = [];
  if (pipeline) names.push(`${prefix}${toNamePart(team)}_${toNamePart(pipeline)}_${name}`);
  names.push(`${prefix}${toNamePart(team)}_${name}`, `${prefix}${name}`);
  return names;
}
