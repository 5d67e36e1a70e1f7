import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';

/**
 * The JSON Schemas of core/api/schemas/ are the source of truth for every body and reply: they are
 * added to fastify as shared schemas (so Ajv and the serializer use them, and @fastify/swagger lists
 * them under components.schemas by title), and scripts/gen-types.mjs generates their TypeScript
 * types. They are read from the package (not compiled in), so what ships is the file itself.
 */
const schemaDir = new URL('api/schemas/', import.meta.resolve('@conveyor/core/package.json'));

interface SharedSchema {
  $id: string;
  [keyword: string]: unknown;
}

function loadSchema(file: string): SharedSchema {
  const url = new URL(file, schemaDir);
  const schema: unknown = JSON.parse(readFileSync(url, 'utf8'));
  if (typeof schema !== 'object' || schema === null || !('$id' in schema) || typeof schema.$id !== 'string') {
    throw new Error(`${url.pathname}: an API schema must be an object with a string $id`);
  }
  return absoluteRefs(schema, schema.$id) as SharedSchema;
}

/**
 * Resolves relative `$ref`s (`plugin-summary.json`) against the schema's `$id`, as JSON Schema
 * specifies. The files keep relative refs so json-schema-to-typescript can follow them on disk;
 * fastify's serializer only follows absolute ones.
 */
function absoluteRefs(node: unknown, base: string): unknown {
  if (Array.isArray(node)) return node.map((item) => absoluteRefs(item, base));
  if (typeof node !== 'object' || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    const isRelativeRef = key === '$ref' && typeof value === 'string' && !value.startsWith('#');
    out[key] = isRelativeRef ? new URL(value, base).href : absoluteRefs(value, base);
  }
  return out;
}

const schemas = {
  error: loadSchema('error.json'),
  health: loadSchema('health.json'),
  info: loadSchema('info.json'),
  pluginSummary: loadSchema('plugin-summary.json'),
  pluginList: loadSchema('plugin-list.json'),
};

export function addSharedSchemas(app: FastifyInstance): void {
  for (const schema of Object.values(schemas)) app.addSchema(schema);
}

/** `$ref`s to the shared schemas, for route schemas. */
export const refs = {
  error: { $ref: schemas.error.$id },
  health: { $ref: schemas.health.$id },
  info: { $ref: schemas.info.$id },
  pluginList: { $ref: schemas.pluginList.$id },
} as const;
