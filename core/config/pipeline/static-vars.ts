import type { YamlPath } from '../yaml-source.js';
import { describeValue, type Finding, isRecord } from './findings.js';
import { type VarReference, varReferences, wholeVar } from './var-refs.js';

/**
 * Apply static vars (`fly set-pipeline -v k=v` / `-l vars.yml`) the way fly does before it sends a
 * pipeline: a string that is exactly `((k))` becomes the var's value with its type; `((k))` inside
 * a longer string is replaced by the value as text (strings and numbers only). Vars that are not
 * static (credentials, `((source:var))`, local `((.:var))`) stay for run time. Keys are
 * interpolated too.
 */
export function applyStaticVars(
  value: unknown,
  vars: Readonly<Record<string, unknown>>,
): { value: unknown; findings: Finding[] } {
  const findings: Finding[] = [];
  const result = interpolate(value, vars, [], findings);
  return { value: result, findings };
}

function interpolate(
  node: unknown,
  vars: Readonly<Record<string, unknown>>,
  segments: YamlPath,
  findings: Finding[],
): unknown {
  if (typeof node === 'string') return interpolateString(node, vars, segments, findings, 'value');
  if (Array.isArray(node)) return node.map((item, i) => interpolate(item, vars, [...segments, i], findings));
  if (isRecord(node)) {
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(node)) {
      const newKey = interpolateString(key, vars, [...segments, key], findings, 'key');
      result[typeof newKey === 'string' ? newKey : key] = interpolate(
        item,
        vars,
        [...segments, key],
        findings,
      );
    }
    return result;
  }
  return node;
}

function interpolateString(
  text: string,
  vars: Readonly<Record<string, unknown>>,
  segments: YamlPath,
  findings: Finding[],
  target: 'key' | 'value',
): unknown {
  const whole = wholeVar(text);
  if (whole) {
    const found = lookup(whole, vars, segments, findings, target);
    return found.found ? found.value : text;
  }
  let result = text;
  for (const reference of varReferences(text)) {
    const found = lookup(reference, vars, segments, findings, target);
    if (!found.found) continue;
    const replacement = found.value;
    if (typeof replacement === 'string' || typeof replacement === 'number') {
      result = result.replaceAll(`((${reference.text}))`, String(replacement));
    } else {
      findings.push({
        segments,
        target,
        message: `cannot put var \`${reference.text}\` into a longer string: its value is ${describeValue(replacement)}; only strings and numbers can be interpolated`,
        severity: 'error',
      });
    }
  }
  return result;
}

function lookup(
  reference: VarReference,
  vars: Readonly<Record<string, unknown>>,
  segments: YamlPath,
  findings: Finding[],
  target: 'key' | 'value',
): { found: true; value: unknown } | { found: false } {
  // Only plain vars are static; `((vault:x))` and `((.:x))` belong to a source at run time.
  if (reference.source !== undefined) return { found: false };
  const [name, ...fields] = reference.path;
  if (name === undefined || !Object.hasOwn(vars, name)) return { found: false };
  let value = vars[name];
  for (const field of fields) {
    if (!isRecord(value) || !Object.hasOwn(value, field)) {
      findings.push({
        segments,
        target,
        message: `static var \`${name}\` has no field \`${field}\` (in \`((${reference.text}))\`)`,
        severity: 'error',
      });
      return { found: false };
    }
    value = value[field];
  }
  return { found: true, value };
}
