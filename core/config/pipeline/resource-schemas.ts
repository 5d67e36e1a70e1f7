import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { YamlPath } from '../yaml-source.js';
import { type Findings, isRecord } from './findings.js';
import { schemaFindings } from './schema-findings.js';
import { containsVar, wholeVar } from './var-refs.js';
import { recordsOf, stepResource, stringField, visitJob } from './visit.js';

/** The JSON Schemas a resource type plugin declares (its manifest's `resourceType`). */
export interface ResourceTypeSchemas {
  source?: object;
  getParams?: object;
  putParams?: object;
}

/** Looks a resource type plugin's schemas up by the type a pipeline names (`git`, `git@^2`). */
export type ResourceTypeSchemaLookup = (type: string) => ResourceTypeSchemas | undefined;

// ajv-formats is CommonJS; under NodeNext its default import is the module object.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

let pluginAjv: Ajv2020 | undefined;
const compiled = new WeakMap<object, ValidateFunction | Error>();

/** Plugin schemas are someone else's: compiled leniently (unknown keywords are no error here). */
function compile(schema: object): ValidateFunction | Error {
  let validate = compiled.get(schema);
  if (!validate) {
    pluginAjv ??= addFormats(new Ajv2020({ allErrors: true, strict: false, allowUnionTypes: true }));
    try {
      validate = pluginAjv.compile(schema);
    } catch (error: unknown) {
      validate = error instanceof Error ? error : new Error(String(error));
    }
    compiled.set(schema, validate);
  }
  return validate;
}

/**
 * Check each resource's `source`, each get's and put's `params` (and a put's `get_params`), each
 * pipeline resource type's `source`, and each inline task image's `source` against the schemas
 * of the resource type plugin they name. Values holding `((vars))` are skipped: what they become
 * is known only at run time. Types defined by the pipeline have no schema here.
 */
export function checkResourceSchemas(
  doc: Record<string, unknown>,
  lookup: ResourceTypeSchemaLookup,
  findings: Findings,
): void {
  const custom = new Set(
    recordsOf(doc.resource_types).flatMap(([, type]) => {
      const name = stringField(type, 'name');
      return name === undefined ? [] : [name];
    }),
  );
  const schemasOf = (type: string | undefined) =>
    type === undefined || custom.has(type) ? undefined : lookup(type);
  const check = (schema: object | undefined, value: unknown, segments: YamlPath, noun: string) => {
    if (schema !== undefined) checkValue(schema, value ?? {}, segments, noun, findings);
  };

  const typeOfResource = new Map<string, string>();
  for (const [i, resource] of recordsOf(doc.resources)) {
    const name = stringField(resource, 'name');
    const type = stringField(resource, 'type');
    if (name !== undefined && type !== undefined) typeOfResource.set(name, type);
    check(
      schemasOf(type)?.source,
      resource.source,
      ['resources', i, 'source'],
      `the source of a \`${type}\` resource`,
    );
  }
  for (const [i, resourceType] of recordsOf(doc.resource_types)) {
    const type = stringField(resourceType, 'type');
    const schemas = schemasOf(type);
    check(
      schemas?.source,
      resourceType.source,
      ['resource_types', i, 'source'],
      `the source of a \`${type}\` resource`,
    );
    check(schemas?.getParams, resourceType.params, ['resource_types', i, 'params'], `\`${type}\` get params`);
  }
  for (const [j, job] of recordsOf(doc.jobs)) {
    visitJob(job, ['jobs', j], {
      enter({ type, step, segments }) {
        if (type === 'get' || type === 'put') {
          const resource = stepResource(step, type);
          const resourceType = resource === undefined ? undefined : typeOfResource.get(resource);
          const schemas = schemasOf(resourceType);
          if (type === 'get')
            check(schemas?.getParams, step.params, [...segments, 'params'], `\`${resourceType}\` get params`);
          else {
            check(schemas?.putParams, step.params, [...segments, 'params'], `\`${resourceType}\` put params`);
            if (step.no_get !== true)
              check(
                schemas?.getParams,
                step.get_params,
                [...segments, 'get_params'],
                `\`${resourceType}\` get params`,
              );
          }
        } else if (type === 'task' && isRecord(step.config) && isRecord(step.config.image_resource)) {
          const image = step.config.image_resource;
          const imageType = stringField(image, 'type');
          const schemas = schemasOf(imageType);
          const at = [...segments, 'config', 'image_resource'];
          check(
            schemas?.source,
            image.source,
            [...at, 'source'],
            `the source of a \`${imageType}\` resource`,
          );
          check(schemas?.getParams, image.params, [...at, 'params'], `\`${imageType}\` get params`);
        }
      },
    });
  }
}

function checkValue(
  schema: object,
  value: unknown,
  segments: YamlPath,
  noun: string,
  findings: Findings,
): void {
  if (typeof value === 'string' && wholeVar(value)) return;
  const validate = compile(schema);
  if (validate instanceof Error) {
    findings.warn(
      segments,
      `cannot be checked: the resource type's schema for ${noun} does not compile (${validate.message})`,
    );
    return;
  }
  if (validate(value)) return;
  const errors = (validate.errors ?? []).filter((error) => !dependsOnVars(error, value));
  const found = schemaFindings(errors, value, segments, undefined, {
    knownKeys: (relative) => keysOf(schema, relative),
    noun,
  });
  findings.push(...found);
}

/** Whether an error is about a value (or a key) that a `((var))` decides at run time. */
function dependsOnVars(error: ErrorObject, root: unknown): boolean {
  let current = root;
  if (containsVarText(current)) return true;
  const parts = error.instancePath === '' ? [] : error.instancePath.slice(1).split('/');
  for (const raw of parts) {
    const part = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    current = Array.isArray(current) ? current[Number(part)] : isRecord(current) ? current[part] : undefined;
    if (containsVarText(current)) return true;
  }
  const key = error.params.additionalProperty ?? error.params.unevaluatedProperty;
  if (typeof key === 'string' && containsVar(key)) return true;
  // A missing field may be one that a var-named key turns into.
  if (error.keyword === 'required' && isRecord(current))
    return Object.keys(current).some((name) => containsVar(name));
  return false;
}

function containsVarText(value: unknown): boolean {
  return typeof value === 'string' && containsVar(value);
}

/** The properties a plugin schema names for the mapping at `path` (for "did you mean"). */
function keysOf(schema: object, path: YamlPath): string[] {
  let node: unknown = schema;
  for (const step of path) {
    if (!isRecord(node)) return [];
    node =
      typeof step === 'number'
        ? node.items
        : isRecord(node.properties)
          ? node.properties[step]
          : node.additionalProperties;
  }
  return isRecord(node) && isRecord(node.properties) ? Object.keys(node.properties) : [];
}
