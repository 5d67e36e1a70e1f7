import { readFileSync } from 'node:fs';
import { createAjv } from '@conveyor/plugin-api';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import type { ConveyorConfig } from './conveyor-config.generated.js';
import { tryParseDuration } from './duration.js';
import { isRecord } from './json-values.js';
import { isPluginName, isSemverRange, parsePluginRef } from './plugin-ref.js';

/** The part of JSON Schema this module walks (for env variables, known keys); Ajv reads the rest. */
export interface SchemaNode {
  readonly $ref?: string;
  readonly type?: string | readonly string[];
  readonly description?: string;
  readonly default?: unknown;
  readonly properties?: Readonly<Record<string, SchemaNode>>;
  readonly additionalProperties?: boolean | SchemaNode;
  readonly items?: SchemaNode;
  readonly $defs?: Readonly<Record<string, SchemaNode>>;
  readonly [keyword: string]: unknown;
}

/** The schema of conveyor.yaml, as shipped next to the compiled code (core/package.json `files`). */
export const configSchema: SchemaNode = loadSchema(
  new URL('../../config/schemas/conveyor.schema.json', import.meta.url),
);

function loadSchema(url: URL): SchemaNode {
  const parsed: unknown = JSON.parse(readFileSync(url, 'utf8'));
  if (!isRecord(parsed)) throw new Error(`${url.pathname} is not a JSON Schema object`);
  // Our own file, checked by Ajv when it compiles it below; walking it needs no more than this.
  return parsed as SchemaNode;
}

/**
 * The formats the schema uses beyond ajv-formats, each with the sentence that says what was
 * expected; Ajv's own `must match format "…"` would tell the user nothing.
 */
const formats: Readonly<Record<string, { valid(text: string): boolean; expected(text: string): string }>> = {
  'plugin-ref': {
    valid: (text) => parsePluginRef(text) !== undefined,
    expected: (text) =>
      `must be a plugin name like \`containerd\`, optionally with a semver range like \`containerd@^1\`${refHint(text)}`,
  },
  'volume-driver-ref': {
    // `auto` asks the host to choose, so it takes no version range.
    valid: (text) => {
      const ref = parsePluginRef(text);
      return ref !== undefined && (ref.name !== 'auto' || ref.range === undefined);
    },
    expected: (text) =>
      `must be \`auto\` or a plugin name like \`overlay\`, optionally with a semver range like \`overlay@^1\`${
        text.startsWith('auto@') ? ' (`auto` takes no range)' : refHint(text)
      }`,
  },
  'plugin-name': {
    valid: isPluginName,
    expected: () => 'must be a plugin name: a lower-case letter, then lower-case letters, digits or `-`',
  },
  'semver-range': {
    valid: isSemverRange,
    expected: () => 'must be a semver range like `^2`, `~1.4.0` or `>=1.2 <3`',
  },
  'go-duration': {
    valid: (text) => tryParseDuration(text).ok,
    expected: (text) => {
      const result = tryParseDuration(text);
      return `must be a duration like \`90s\`, \`5m\` or \`1h30m\`${result.ok ? '' : `, but it ${result.reason}`}`;
    },
  },
  'http-url': {
    valid: (text) => isUrl(text, ['http:', 'https:']),
    expected: () => 'must be an absolute http(s) URL like `https://ci.example.com`',
  },
  'postgres-url': {
    valid: (text) => isUrl(text, ['postgres:', 'postgresql:']),
    // Never echo the value: it may hold a password.
    expected: () => 'must be a PostgreSQL URL like `postgres://user:password@host:5432/database`',
  },
};

/** Say which half of `name@range` is wrong; both halves are safe to quote (they name software). */
function refHint(text: string): string {
  const at = text.indexOf('@');
  const name = at < 0 ? text : text.slice(0, at);
  if (!isPluginName(name)) return ' (a name is a lower-case letter, then lower-case letters, digits or `-`)';
  if (at >= 0) return ` (\`${text.slice(at + 1)}\` is not a semver range)`;
  return '';
}

function isUrl(text: string, protocols: readonly string[]): boolean {
  try {
    return protocols.includes(new URL(text).protocol);
  } catch {
    return false;
  }
}

/** What a format error should say instead of Ajv's message; undefined for formats we do not own. */
export function formatExpectation(format: string, value: unknown): string | undefined {
  const known = formats[format];
  return known && typeof value === 'string' ? known.expected(value) : undefined;
}

let validator: ValidateFunction<ConveyorConfig> | undefined;

/** The compiled validator of conveyor.yaml, created on first use. */
export function configValidator(): ValidateFunction<ConveyorConfig> {
  if (!validator) {
    const ajv = createAjv();
    for (const [name, format] of Object.entries(formats))
      ajv.addFormat(name, { type: 'string', validate: format.valid });
    validator = ajv.compile<ConveyorConfig>(configSchema);
  }
  return validator;
}

/** A node with its local `$ref` followed; keywords beside the `$ref` (a description) win. */
export function resolveNode(node: SchemaNode, root: SchemaNode = configSchema): SchemaNode {
  let current = node;
  for (let hops = 0; current.$ref !== undefined && hops < 32; hops++) {
    const { $ref, ...siblings } = current;
    const target = resolvePointer(root, $ref);
    if (!target) throw new Error(`conveyor.schema.json: cannot resolve $ref ${$ref}`);
    current = { ...target, ...siblings };
  }
  return current;
}

function resolvePointer(root: SchemaNode, ref: string): SchemaNode | undefined {
  if (!ref.startsWith('#')) return undefined;
  let node: unknown = root;
  for (const raw of ref.slice(1).split('/').filter(Boolean)) {
    const part = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
    node = isRecord(node) ? node[part] : undefined;
  }
  return isRecord(node) ? (node as SchemaNode) : undefined;
}

export function typesOf(node: SchemaNode): readonly string[] {
  return node.type === undefined ? [] : typeof node.type === 'string' ? [node.type] : node.type;
}

/** The schema that governs the value at `path`, or undefined where the schema says nothing. */
export function schemaAt(
  path: ReadonlyArray<string | number>,
  root: SchemaNode = configSchema,
): SchemaNode | undefined {
  let node: SchemaNode | undefined = resolveNode(root, root);
  for (const step of path) {
    if (!node) return undefined;
    let next: SchemaNode | undefined;
    if (typeof step === 'number') next = node.items;
    else
      next =
        node.properties?.[step] ??
        (typeof node.additionalProperties === 'object' ? node.additionalProperties : undefined);
    node = next && resolveNode(next, root);
  }
  return node;
}

/** The field names the schema knows for the object at `path` (for "did you mean" suggestions). */
export function knownKeysAt(path: ReadonlyArray<string | number>, root: SchemaNode = configSchema): string[] {
  return Object.keys(schemaAt(path, root)?.properties ?? {}).filter((key) => !key.startsWith('$'));
}

export { isRecord };
