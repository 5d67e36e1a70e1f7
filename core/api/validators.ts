import { Ajv, type Options } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifyInstance } from 'fastify';

// ajv-formats is CommonJS; under NodeNext its default import is the module object.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

/** fastify's own Ajv defaults (@fastify/ajv-compiler), less the two that hide client mistakes. */
const common: Options = {
  useDefaults: true,
  // An unknown field is an error, not silently dropped: a misspelt `expected_version` must not
  // turn a guarded config update into an unguarded one.
  removeAdditional: false,
  addUsedSchema: false,
  // allErrors would let one request make Ajv do unbounded work.
  allErrors: false,
};

/**
 * Validates requests with two Ajv instances instead of fastify's one: path, query and headers
 * arrive as text, so their values are coerced to the schema's types (`?limit=5` is 5); JSON bodies
 * already carry types, so a body value of the wrong type is an error rather than quietly
 * converted (`{ "config": 123 }` is no YAML text, `{ "inputs": "src" }` is no list).
 */
export function registerValidators(app: FastifyInstance, sharedSchemas: readonly object[]): void {
  const strict = new Ajv({ ...common, coerceTypes: false });
  const coercing = new Ajv({ ...common, coerceTypes: 'array' });
  for (const ajv of [strict, coercing]) {
    addFormats(ajv);
    for (const schema of sharedSchemas) ajv.addSchema(schema);
  }
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const ajv = httpPart === 'body' ? strict : coercing;
    // A schema with an $id is compiled once per instance; Ajv refuses to add it twice.
    const id = '$id' in schema && typeof schema.$id === 'string' ? schema.$id : undefined;
    return (id === undefined ? undefined : ajv.getSchema(id)) ?? ajv.compile(schema);
  });
}
