import { configSchema, isRecord, resolveNode, type SchemaNode, typesOf } from './schema.js';

/** The prefix of every configuration variable (credentials managers use it too, for other things). */
export const envPrefix = 'CONVEYOR_';

/** One environment variable that sets one scalar field of conveyor.yaml. */
export interface ConfigEnvVariable {
  /** `CONVEYOR_API_PORT` */
  name: string;
  /** `['api', 'port']` */
  path: readonly string[];
  /** The scalar type the value is coerced to. */
  type: 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
}

const scalarTypes = ['integer', 'number', 'boolean', 'string'] as const;

/**
 * The variables, derived from the schema rather than listed by hand: every field that may be a
 * scalar gets `CONVEYOR_` + its path upper-cased and joined with `_`. A field that may be either a
 * scalar or an object (`runtime: containerd` or `runtime: { plugin, config }`) is set whole, as the
 * scalar; free-form objects, maps and lists (plugin `config`, `plugins.pins`, `credentials`) have
 * no variable.
 */
export function configEnvVariables(schema: SchemaNode = configSchema): ConfigEnvVariable[] {
  const variables: ConfigEnvVariable[] = [];
  const walk = (raw: SchemaNode, path: string[]): void => {
    const node = resolveNode(raw, schema);
    const types = typesOf(node);
    const scalar = scalarTypes.find((type) => types.includes(type));
    if (scalar && path.length > 0) {
      const name = envPrefix + path.map((part) => part.replace(/[^A-Za-z0-9]/g, '_').toUpperCase()).join('_');
      variables.push({
        name,
        path,
        type: scalar,
        ...(node.description ? { description: node.description } : {}),
      });
      return;
    }
    if (!types.includes('object')) return;
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      if (!key.startsWith('$')) walk(child, [...path, key]);
    }
  };
  walk(schema, []);
  // `data_dir` and a future `data.dir` would both be CONVEYOR_DATA_DIR; refuse such a schema.
  const seen = new Map<string, string>();
  for (const { name, path } of variables) {
    const other = seen.get(name);
    if (other) throw new Error(`conveyor.schema.json: ${other} and ${path.join('.')} both map to ${name}`);
    seen.set(name, path.join('.'));
  }
  return variables;
}

/** The configuration the environment sets, and which variable set each field. */
export interface EnvLayer {
  value: Record<string, unknown>;
  /** Dotted field path (`api.port`) → the variable that set it. */
  variables: Map<string, string>;
}

/**
 * Read the configuration variables from `env`. A value is coerced to its field's type when it
 * reads as one (`9000` → 9000, `true` → true); otherwise it stays a string so that schema
 * validation reports it, naming the variable. Empty values count as unset. Other CONVEYOR_*
 * variables are none of our business.
 */
export function readEnvLayer(
  env: Readonly<Record<string, string | undefined>>,
  variables: readonly ConfigEnvVariable[] = configEnvVariables(),
): EnvLayer {
  const layer: EnvLayer = { value: {}, variables: new Map() };
  for (const variable of variables) {
    const raw = env[variable.name];
    if (raw === undefined || raw === '') continue;
    const leaf = variable.path.at(-1);
    if (leaf === undefined) continue;
    let target = layer.value;
    for (const key of variable.path.slice(0, -1)) {
      const next = target[key];
      const child: Record<string, unknown> = isRecord(next) ? next : {};
      target[key] = child;
      target = child;
    }
    target[leaf] = coerce(raw, variable.type);
    layer.variables.set(variable.path.join('.'), variable.name);
  }
  return layer;
}

function coerce(raw: string, type: ConfigEnvVariable['type']): unknown {
  const text = raw.trim();
  switch (type) {
    case 'integer':
      return /^[+-]?\d+$/.test(text) ? Number(text) : raw;
    case 'number':
      return text !== '' && Number.isFinite(Number(text)) ? Number(text) : raw;
    case 'boolean':
      return text === 'true' ? true : text === 'false' ? false : raw;
    default:
      return raw;
  }
}
