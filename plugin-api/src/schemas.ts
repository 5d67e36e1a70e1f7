import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { PluginKind } from './generated/common.generated.js';
import type { PluginManifest } from './generated/manifest.generated.js';

// ajv-formats is CommonJS; under NodeNext its default import is the module object.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

const schemaDir = fileURLToPath(new URL('../schemas/', import.meta.url));
const schemaBase = 'https://conveyor.dev/schemas/plugin-api/v1/';

/** The schema file of each plugin kind. */
const kindSchema: Record<PluginKind, string> = {
  runtime: 'runtime.json',
  volume: 'volume.json',
  credentials: 'credentials.json',
  'resource-type': 'resource-type.json',
};

/** One validation problem, with the JSON path of the offending value. */
export interface SchemaProblem {
  /** Dotted path from the validated value's root, e.g. `spec.mounts[0].destination`; empty for the root. */
  path: string;
  message: string;
}

export type Validator<T> = ((value: unknown) => value is T) & { problems(): SchemaProblem[] };

/** Create an Ajv instance configured as the whole project uses it. */
export function createAjv(): Ajv2020 {
  // discriminator: a tagged oneOf checks only the branch its tag names, not every branch (which
  // is exponential in the depth of recursive unions such as build plans).
  const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, discriminator: true });
  addFormats(ajv);
  // Annotations of ours: x-methods lists a kind's methods, tsType steers the type generator.
  ajv.addKeyword('x-methods');
  ajv.addKeyword('tsType');
  return ajv;
}

let shared: Ajv2020 | undefined;

/** The Ajv instance that holds every plugin-api schema, created on first use. */
function pluginApiAjv(): Ajv2020 {
  if (!shared) {
    shared = createAjv();
    for (const file of readdirSync(schemaDir).filter((f) => f.endsWith('.json'))) {
      shared.addSchema(JSON.parse(readFileSync(schemaDir + file, 'utf8')) as object);
    }
  }
  return shared;
}

export function toValidator<T>(validate: ValidateFunction): Validator<T> {
  const check = ((value: unknown) => validate(value)) as Validator<T>;
  check.problems = () => formatProblems(validate.errors);
  return check;
}

let manifestValidator: Validator<PluginManifest> | undefined;

/** Validates a conveyor-plugin.json. */
export function manifestSchemaValidator(): Validator<PluginManifest> {
  if (!manifestValidator) {
    const validate = pluginApiAjv().getSchema(`${schemaBase}manifest.json`);
    if (!validate) throw new Error('plugin-api: manifest.json schema is missing');
    manifestValidator = toValidator<PluginManifest>(validate);
  }
  return manifestValidator;
}

const methodValidators = new Map<string, Validator<unknown>>();

/**
 * The validator of one method's request or response. The host validates every request before it
 * leaves and every reply when it arrives: it never trusts a plugin's reply.
 */
export function methodSchemaValidator(
  kind: PluginKind,
  method: string,
  direction: 'request' | 'response',
): Validator<unknown> | undefined {
  return messageValidator(kindSchema[kind], method, direction);
}

/**
 * The validator of a host service's request or response (host.json): the host checks what a
 * plugin asks of it as it checks a plugin's replies.
 */
export function hostSchemaValidator(
  method: string,
  direction: 'request' | 'response',
): Validator<unknown> | undefined {
  return messageValidator('host.json', method, direction);
}

/** `<Method>Request` or `<Method>Response` of a schema file's $defs, compiled once. */
function messageValidator(
  file: string,
  method: string,
  direction: 'request' | 'response',
): Validator<unknown> | undefined {
  const key = `${file}/${method}/${direction}`;
  let validator = methodValidators.get(key);
  if (!validator) {
    const def = `${method[0]?.toUpperCase()}${method.slice(1)}${direction === 'request' ? 'Request' : 'Response'}`;
    const validate = pluginApiAjv().getSchema(`${schemaBase}${file}#/$defs/${def}`);
    if (!validate) return undefined;
    validator = toValidator(validate);
    methodValidators.set(key, validator);
  }
  return validator;
}

/** Turn Ajv's errors into problems with readable paths and messages that say what was expected. */
export function formatProblems(errors: readonly ErrorObject[] | null | undefined): SchemaProblem[] {
  if (!errors) return [];
  const problems: SchemaProblem[] = [];
  const seen = new Set<string>();
  for (const error of errors) {
    // oneOf reports every branch's failure and then its own; the branch errors say more.
    if (error.keyword === 'oneOf' || error.keyword === 'if') continue;
    let path = pointerToPath(error.instancePath);
    let message: string;
    switch (error.keyword) {
      case 'additionalProperties': {
        const key = String(error.params.additionalProperty);
        path = path ? `${path}.${key}` : key;
        message = 'is not a known field';
        break;
      }
      case 'required': {
        const key = String(error.params.missingProperty);
        path = path ? `${path}.${key}` : key;
        message = 'is required';
        break;
      }
      case 'enum':
        message = `must be one of ${(error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
        break;
      case 'const':
        message = `must be ${JSON.stringify(error.params.allowedValue)}`;
        break;
      default:
        message = error.message ?? `fails ${error.keyword}`;
    }
    const key = `${path}\u0000${message}`;
    if (!seen.has(key)) {
      seen.add(key);
      problems.push({ path, message });
    }
  }
  return problems;
}

/** `/spec/mounts/0/destination` → `spec.mounts[0].destination`. */
export function pointerToPath(pointer: string): string {
  if (!pointer) return '';
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), '');
}

export function describeProblems(problems: readonly SchemaProblem[]): string {
  return problems.map((p) => (p.path ? `${p.path} ${p.message}` : p.message)).join('; ');
}
