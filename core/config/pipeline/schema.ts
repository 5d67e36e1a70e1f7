import { readFileSync } from 'node:fs';
import { createAjv } from '@conveyor/plugin-api';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import type { YamlPath } from '../yaml-source.js';
import { isRecord } from './findings.js';
import { parseGoDuration } from './go-duration.js';

/** The part of JSON Schema this module walks (known keys, nested definitions); Ajv reads the rest. */
export interface PipelineSchemaNode {
  readonly $ref?: string;
  readonly $defs?: Readonly<Record<string, PipelineSchemaNode>>;
  readonly properties?: Readonly<Record<string, PipelineSchemaNode>>;
  readonly additionalProperties?: boolean | PipelineSchemaNode;
  readonly items?: PipelineSchemaNode | boolean;
  readonly allOf?: readonly PipelineSchemaNode[];
  readonly [keyword: string]: unknown;
}

/** The pipeline schema as shipped next to the compiled code (core/package.json `files`). */
export const pipelineSchema: PipelineSchemaNode = loadSchema(
  new URL('../../../config/schemas/pipeline.schema.json', import.meta.url),
);

function loadSchema(url: URL): PipelineSchemaNode {
  const parsed: unknown = JSON.parse(readFileSync(url, 'utf8'));
  if (!isRecord(parsed)) throw new Error(`${url.pathname} is not a JSON Schema object`);
  // Our own file, compiled by Ajv below; walking it needs no more than this.
  return parsed as PipelineSchemaNode;
}

/**
 * The validating copy of the schema: `Step` accepts anything, because steps are validated one by
 * one by the walker, which first decides which kind of step each is. Ajv's errors for a `oneOf`
 * over eight step kinds would bury the one problem under eight.
 */
const validationId = 'https://conveyor.dev/schemas/core/v1/pipeline-structure.json';

let ajvInstance: ReturnType<typeof createAjv> | undefined;
const validators = new Map<string, ValidateFunction>();

function ajv(): ReturnType<typeof createAjv> {
  if (!ajvInstance) {
    const instance = createAjv();
    instance.addFormat('go-duration', { type: 'string', validate: (text) => parseGoDuration(text).ok });
    instance.addFormat('check-interval', {
      type: 'string',
      validate: (text) => text === 'never' || parseGoDuration(text).ok,
    });
    instance.addSchema({
      ...pipelineSchema,
      $id: validationId,
      $defs: { ...pipelineSchema.$defs, Step: true },
    });
    ajvInstance = instance;
  }
  return ajvInstance;
}

/** The validator of the whole document (steps excepted) or of one definition. */
export function structureValidator(def?: string): ValidateFunction {
  const key = def ?? '';
  let validate = validators.get(key);
  if (!validate) {
    validate = ajv().compile({ $ref: def === undefined ? validationId : `${validationId}#/$defs/${def}` });
    validators.set(key, validate);
  }
  return validate;
}

/** The schema node a definition (or the root) gives the value at `path` below it. */
export function schemaAt(def: string | undefined, path: YamlPath): PipelineSchemaNode | undefined {
  let nodes: PipelineSchemaNode[] = [
    resolve(def === undefined ? pipelineSchema : pipelineSchema.$defs?.[def]),
  ].flatMap((node) => (node ? [node] : []));
  for (const step of path) {
    const next: PipelineSchemaNode[] = [];
    for (const node of nodes.flatMap(expand)) {
      const child =
        typeof step === 'number'
          ? typeof node.items === 'object'
            ? node.items
            : undefined
          : (node.properties?.[step] ??
            (typeof node.additionalProperties === 'object' ? node.additionalProperties : undefined));
      const resolved = resolve(child);
      if (resolved) next.push(resolved);
    }
    if (next.length === 0) return undefined;
    nodes = next;
  }
  return nodes[0];
}

/** The keys the schema knows for the mapping at `path` below a definition (for "did you mean"). */
export function knownKeysAt(def: string | undefined, path: YamlPath): string[] {
  const node = schemaAt(def, path);
  if (!node) return [];
  return [...new Set(expand(node).flatMap((part) => Object.keys(part.properties ?? {})))];
}

/** A node and the definitions its `allOf` pulls in, each with its `$ref` followed. */
function expand(node: PipelineSchemaNode): PipelineSchemaNode[] {
  const parts = [node];
  for (const part of node.allOf ?? []) {
    const resolved = resolve(part);
    if (resolved) parts.push(...expand(resolved));
  }
  return parts;
}

function resolve(node: PipelineSchemaNode | undefined): PipelineSchemaNode | undefined {
  let current = node;
  for (let hops = 0; current?.$ref !== undefined && hops < 16; hops++) {
    const name = current.$ref.startsWith('#/$defs/') ? current.$ref.slice('#/$defs/'.length) : undefined;
    const { $ref: _ref, ...siblings } = current;
    const target = name === undefined ? undefined : pipelineSchema.$defs?.[name];
    current = target ? { ...target, ...siblings } : undefined;
  }
  return current;
}
