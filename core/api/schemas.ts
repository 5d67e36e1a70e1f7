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
  // Referenced ones before those that refer to them, so each $ref resolves when it is added.
  version: loadSchema('version.json'),
  build: loadSchema('build.json'),
  buildList: loadSchema('build-list.json'),
  job: loadSchema('job.json'),
  jobList: loadSchema('job-list.json'),
  pipeline: loadSchema('pipeline.json'),
  pipelineList: loadSchema('pipeline-list.json'),
  pipelineConfig: loadSchema('pipeline-config.json'),
  pipelineConfigProblem: loadSchema('pipeline-config-problem.json'),
  pipelineConfigError: loadSchema('pipeline-config-error.json'),
  setPipelineConfigRequest: loadSchema('set-pipeline-config-request.json'),
  setPipelineConfigResponse: loadSchema('set-pipeline-config-response.json'),
  resource: loadSchema('resource.json'),
  resourceList: loadSchema('resource-list.json'),
  resourceVersion: loadSchema('resource-version.json'),
  resourceVersionList: loadSchema('resource-version-list.json'),
  checkRequest: loadSchema('check-request.json'),
  checkResponse: loadSchema('check-response.json'),
  createBuildRequest: loadSchema('create-build-request.json'),
  buildEventMessage: loadSchema('build-event-message.json'),
  teamParams: loadSchema('team-params.json'),
  pipelineParams: loadSchema('pipeline-params.json'),
  jobParams: loadSchema('job-params.json'),
  jobBuildParams: loadSchema('job-build-params.json'),
  resourceParams: loadSchema('resource-params.json'),
  resourceVersionParams: loadSchema('resource-version-params.json'),
  buildParams: loadSchema('build-params.json'),
  buildArtifactParams: loadSchema('build-artifact-params.json'),
  pageQuery: loadSchema('page-query.json'),
  buildEventsQuery: loadSchema('build-events-query.json'),
  buildEventsHeaders: loadSchema('build-events-headers.json'),
  container: loadSchema('container.json'),
  containerList: loadSchema('container-list.json'),
  volume: loadSchema('volume.json'),
  volumeList: loadSchema('volume-list.json'),
  containersQuery: loadSchema('containers-query.json'),
  interceptQuery: loadSchema('intercept-query.json'),
  interceptMessage: loadSchema('intercept-message.json'),
};

type SchemaName = keyof typeof schemas;

export function addSharedSchemas(app: FastifyInstance): void {
  for (const schema of Object.values(schemas)) app.addSchema(schema);
}

/** Every shared schema, for validators that need them registered themselves. */
export const sharedSchemas: readonly SharedSchema[] = Object.values(schemas);

/**
 * A shared schema's content without its identity, to inline where fastify wants no `$ref`:
 * header schemas, whose property names it lowercases only when it sees them.
 */
export function inlineSchema(name: SchemaName): Record<string, unknown> {
  const { $id: _id, $schema: _schema, ...content } = schemas[name];
  return content;
}

/** `$ref`s to the shared schemas, for route schemas: `refs.build` is `{ $ref: '<build.json $id>' }`. */
export const refs = Object.fromEntries(
  Object.entries(schemas).map(([name, schema]) => [name, { $ref: schema.$id }]),
) as { readonly [name in SchemaName]: { readonly $ref: string } };
