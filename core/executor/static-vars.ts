/**
 * `((name))` and `((name.field))` without a var source, resolved from a step's own `vars` (a task
 * file's template vars) before credentials are looked up; references to other vars are left for
 * the credential manager, as Concourse's two-phase task file interpolation does.
 */
const VAR = /\(\(([-\w./]+)\)\)/g;
const WHOLE = /^\(\(([-\w./]+)\)\)$/;

export function substituteStaticVars(value: unknown, vars: Record<string, unknown>): unknown {
  if (typeof value === 'string') return substituteString(value, vars);
  if (Array.isArray(value)) return value.map((item) => substituteStaticVars(item, vars));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteStaticVars(v, vars)]));
  }
  return value;
}

function substituteString(text: string, vars: Record<string, unknown>): unknown {
  // A value that is a var and nothing else takes the var's type (a list stays a list).
  const whole = WHOLE.exec(text);
  if (whole) {
    const found = lookup(vars, whole[1] ?? '');
    return found.found ? found.value : text;
  }
  return text.replace(VAR, (reference, name: string) => {
    const found = lookup(vars, name);
    if (!found.found) return reference;
    return typeof found.value === 'string' ? found.value : JSON.stringify(found.value);
  });
}

function lookup(vars: Record<string, unknown>, reference: string): { found: boolean; value?: unknown } {
  const [name = '', ...fields] = reference.split('.');
  if (!Object.hasOwn(vars, name)) return { found: false };
  let value: unknown = vars[name];
  for (const field of fields) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, field)) return { found: false };
    value = (value as Record<string, unknown>)[field];
  }
  return { found: true, value };
}
