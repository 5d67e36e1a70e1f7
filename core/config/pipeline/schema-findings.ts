import type { ErrorObject } from 'ajv/dist/2020.js';
import { pointerSegments } from '../json-values.js';
import { closestKey } from '../problems.js';
import type { YamlPath } from '../yaml-source.js';
import { describeValue, type Finding, isRecord, valueAt } from './findings.js';
import { parseGoDuration } from './go-duration.js';
import { knownKeysAt } from './schema.js';

/** What each definition is, in the user's words, for "not a known field of ...". */
const nouns: Readonly<Record<string, string>> = {
  Resource: 'a resource',
  ResourceType: 'a resource type',
  VarSource: 'a var source',
  Group: 'a group',
  Display: 'display',
  Job: 'a job',
  BuildLogRetention: 'build_log_retention',
  GetStep: 'a get step',
  PutStep: 'a put step',
  TaskStep: 'a task step',
  SetPipelineStep: 'a set_pipeline step',
  LoadVarStep: 'a load_var step',
  InParallelStep: 'an in_parallel step',
  DoStep: 'a do step',
  TryStep: 'a try step',
  TaskConfig: 'a task config',
  ImageResource: 'an image_resource',
  TaskRun: 'a task `run`',
  TaskInput: 'a task input',
  TaskOutput: 'a task output',
  TaskCache: 'a task cache',
  ContainerLimits: 'container_limits',
  AcrossVar: 'an across var',
};

/** The definition that governs the mapping at a path of the root document (for its noun). */
function rootDefAt(segments: YamlPath): string | undefined {
  const [top, , field] = segments;
  if (segments.length === 0) return undefined;
  if (top === 'display') return 'Display';
  if (segments.length === 2) {
    const byList: Record<string, string> = {
      resources: 'Resource',
      resource_types: 'ResourceType',
      var_sources: 'VarSource',
      groups: 'Group',
      jobs: 'Job',
    };
    return byList[String(top)];
  }
  if (top === 'jobs' && field === 'build_log_retention' && segments.length === 3) return 'BuildLogRetention';
  return undefined;
}

/** The definition of a nested mapping inside a step, from the keys that lead to it. */
function stepPartDefAt(def: string, relative: YamlPath): string | undefined {
  if (relative.length === 0) return def;
  const names = relative.filter((segment): segment is string => typeof segment === 'string');
  const last = names.at(-1);
  const lastIsIndex = typeof relative.at(-1) === 'number';
  if (last === 'across' && lastIsIndex) return 'AcrossVar';
  if (last === 'config') return 'TaskConfig';
  if (last === 'image_resource') return 'ImageResource';
  if (last === 'run') return 'TaskRun';
  if (last === 'container_limits') return 'ContainerLimits';
  if (lastIsIndex && last === 'inputs') return 'TaskInput';
  if (lastIsIndex && last === 'outputs') return 'TaskOutput';
  if (lastIsIndex && last === 'caches') return 'TaskCache';
  if (last === 'in_parallel') return 'InParallelConfig';
  return undefined;
}

/**
 * Turn Ajv's errors about `value` (validated against `def`, or the root document) into findings
 * at `base + instancePath`, with messages that say what was expected and a suggestion for each
 * unknown key.
 */
export function schemaFindings(
  errors: readonly ErrorObject[] | null | undefined,
  value: unknown,
  base: YamlPath,
  def: string | undefined,
  options: { knownKeys?: (relative: YamlPath) => string[]; noun?: string } = {},
): Finding[] {
  const findings: Finding[] = [];
  for (const error of errors ?? []) {
    if (['oneOf', 'anyOf', 'allOf', 'if', 'propertyNames'].includes(error.keyword)) continue;
    const relative = pointerSegments(error.instancePath, value);
    const segments = [...base, ...relative];
    const actual = valueAt(value, relative);
    switch (error.keyword) {
      case 'additionalProperties':
      case 'unevaluatedProperties': {
        const key = String(error.params.additionalProperty ?? error.params.unevaluatedProperty);
        const known = (options.knownKeys ?? ((at: YamlPath) => knownKeysAt(def, at)))(relative).filter(
          (candidate) => !(isRecord(actual) && candidate in actual),
        );
        const partDef = def === undefined ? rootDefAt(relative) : stepPartDefAt(def, relative);
        const noun =
          options.noun ??
          (partDef === 'InParallelConfig'
            ? 'an in_parallel config'
            : ((partDef && nouns[partDef]) ?? 'this mapping'));
        const suggestion = closestKey(key, known);
        let message = `is not a known field of ${noun}`;
        if (suggestion) message += `; did you mean \`${suggestion}\`?`;
        else if (known.length > 0) message += ` (known fields: ${known.join(', ')})`;
        findings.push({
          segments: [...segments, key],
          target: 'key',
          message,
          severity: 'error',
          ...(suggestion ? { suggestion } : {}),
        });
        break;
      }
      case 'required': {
        const key = String(error.params.missingProperty);
        findings.push({
          segments: [...segments, key],
          target: 'value',
          message: 'is required',
          severity: 'error',
        });
        break;
      }
      case 'dependentRequired': {
        const key = String(error.params.property);
        findings.push({
          segments: [...segments, key],
          target: 'key',
          message: `only applies to \`${String(error.params.missingProperty)}\` on the same step; add \`${String(error.params.missingProperty)}\` or remove \`${key}\``,
          severity: 'error',
        });
        break;
      }
      case 'type': {
        const types = ([] as unknown[]).concat(error.params.type).map(String);
        findings.push({
          segments,
          target: 'value',
          message: `must be ${types.map(typeName).join(' or ')}, not ${describeValue(actual)}`,
          severity: 'error',
        });
        break;
      }
      case 'format':
        findings.push({
          segments,
          target: 'value',
          message: formatMessage(String(error.params.format), actual),
          severity: 'error',
        });
        break;
      case 'enum':
        findings.push({
          segments,
          target: 'value',
          message: `must be one of ${(error.params.allowedValues as unknown[]).map((v) => `\`${String(v)}\``).join(', ')}`,
          severity: 'error',
        });
        break;
      case 'minimum':
        findings.push({
          segments,
          target: 'value',
          message: `must be at least ${String(error.params.limit)}`,
          severity: 'error',
        });
        break;
      case 'minLength':
        findings.push({ segments, target: 'value', message: 'must not be empty', severity: 'error' });
        break;
      case 'minItems':
        findings.push({
          segments,
          target: 'value',
          message: `must have at least ${String(error.params.limit)} item${error.params.limit === 1 ? '' : 's'}`,
          severity: 'error',
        });
        break;
      case 'pattern':
        findings.push({
          segments,
          target: 'value',
          message:
            relative.at(-1) === 'max_in_flight'
              ? 'must be `all` or a number'
              : `must match ${String(error.params.pattern)}`,
          severity: 'error',
        });
        break;
      default:
        findings.push({
          segments,
          target: 'value',
          message: error.message ?? `fails ${error.keyword}`,
          severity: 'error',
        });
    }
  }
  return findings;
}

function formatMessage(format: string, value: unknown): string {
  const text = typeof value === 'string' ? value : '';
  const parsed = parseGoDuration(text);
  const reason = parsed.ok ? '' : `, but it ${parsed.reason}`;
  if (format === 'check-interval')
    return `must be \`never\` or a duration like \`30s\`, \`5m\` or \`1h\`${reason}`;
  return `must be a duration like \`90s\`, \`5m\` or \`1h30m\`${reason}`;
}

/** JSON Schema types in YAML's words. */
function typeName(type: string): string {
  const names: Record<string, string> = {
    integer: 'an integer',
    number: 'a number',
    string: 'a string',
    boolean: 'true or false',
    object: 'a mapping',
    array: 'a list',
    null: 'null',
  };
  return names[type] ?? type;
}
