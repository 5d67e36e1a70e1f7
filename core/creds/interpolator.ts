import type { credentials } from '@conveyor/plugin-api';
import { ConveyorError, toError } from '../errors/index.js';
import type { PluginClient } from '../plugins/index.js';
import { SecretRedactor } from './redactor.js';
import {
  type FoundReference,
  findReferences,
  formatReference,
  LOCAL_SOURCE,
  parseReference,
  type VarReference,
} from './reference.js';

/** A credential manager the interpolator asks; a named one serves `((name:var))` references. */
export interface CredentialManager {
  /** The var source name (`var_sources[].name`); unnamed managers serve unsourced references. */
  name?: string | undefined;
  client: PluginClient<'credentials'>;
}

export interface InterpolatorOptions {
  /** Asked in order for unsourced references (the unnamed ones); first found wins. */
  managers: readonly CredentialManager[];
  team: string;
  pipeline?: string | undefined;
  /** Vars known up front (not secrets, never redacted), consulted before the managers. */
  staticVars?: Readonly<Record<string, unknown>> | undefined;
  /** How long a looked-up var is reused; default: for the interpolator's life (one build). */
  cacheTtlMs?: number | undefined;
  /** The clock the cache runs on; for tests. */
  now?: (() => number) | undefined;
}

export interface InterpolateOptions {
  /** The build's local vars, for `((.:name))`: what load_var and across set. */
  localVars?: Readonly<Record<string, unknown>> | ReadonlyMap<string, unknown> | undefined;
}

export interface Interpolator {
  /**
   * A copy of `value` with every reference resolved, in strings, object keys and values, at any
   * depth. A string that is exactly one reference becomes the var's value, whatever its type;
   * references inside a longer string are replaced by the value as text.
   */
  interpolate(value: unknown, options?: InterpolateOptions): Promise<unknown>;
  /** Text with every secret resolved so far (and every value tracked) replaced by `((redacted))`. */
  redact(text: string): string;
  /** Remember a secret that came from elsewhere (a load_var that does not reveal its value). */
  track(value: unknown): void;
  /** The secret values resolved so far. */
  secrets(): string[];
}

type Resolved = { found: true; value: unknown } | { found: false; asked: string[] };

interface CacheEntry {
  result: Promise<credentials.LookupResponse>;
  expiresAt: number;
}

/** Create the interpolator of one build: it caches what it looks up and remembers every secret. */
export function createInterpolator(options: InterpolatorOptions): Interpolator {
  if (!Array.isArray(options.managers)) throw new TypeError('options.managers must be an array');
  if (typeof options.team !== 'string' || options.team === '') {
    throw new TypeError('options.team must be a non-empty string');
  }
  const cacheTtlMs = options.cacheTtlMs ?? Number.POSITIVE_INFINITY;
  if (!(cacheTtlMs >= 0)) throw new TypeError('options.cacheTtlMs must be a number of milliseconds >= 0');
  const now = options.now ?? Date.now;
  const redactor = new SecretRedactor();
  const cache = new Map<string, CacheEntry>();
  const unnamed = options.managers.filter((manager) => manager.name === undefined);
  const named = new Map<string, { manager: CredentialManager; index: number }>();
  options.managers.forEach((manager, index) => {
    if (manager.name !== undefined && !named.has(manager.name)) named.set(manager.name, { manager, index });
  });

  const managerLabel = (manager: CredentialManager) => manager.name ?? manager.client.id;

  /** One manager's answer for one path, shared by concurrent and later asks until it expires. */
  function lookup(
    manager: CredentialManager,
    index: number,
    path: string,
  ): Promise<credentials.LookupResponse> {
    const key = `${index}\0${path}`;
    const cached = cache.get(key);
    if (cached && cached.expiresAt > now()) return cached.result;
    const request: credentials.LookupRequest = { team: options.team, path };
    if (options.pipeline !== undefined) request.pipeline = options.pipeline;
    const result = manager.client.call('lookup', request).then((response) => {
      // A manager may say how long its answer holds; never keep it longer.
      if (response.found && response.expiresAt !== undefined) {
        const entry = cache.get(key);
        const expiresAt = Date.parse(response.expiresAt);
        if (entry?.result === result && expiresAt < entry.expiresAt) entry.expiresAt = expiresAt;
      }
      return response;
    });
    cache.set(key, { result, expiresAt: now() + cacheTtlMs });
    // A failed lookup is not remembered: the next ask tries again.
    result.catch(() => {
      if (cache.get(key)?.result === result) cache.delete(key);
    });
    return result;
  }

  async function askManager(manager: CredentialManager, index: number, reference: VarReference) {
    try {
      return await lookup(manager, index, reference.path);
    } catch (error) {
      throw new ConveyorError(
        'CC_E_CREDS_LOOKUP_FAILED',
        `looking up ((${formatReference(reference)})) in credential manager ${managerLabel(manager)} failed: ${toError(error).message}`,
        { cause: error, details: { var: formatReference(reference), manager: managerLabel(manager) } },
      );
    }
  }

  /** The var's whole value (before fields are selected), or who was asked in vain. */
  async function resolveRoot(
    reference: VarReference,
    localVars: InterpolateOptions['localVars'],
  ): Promise<Resolved> {
    if (reference.source === LOCAL_SOURCE) {
      const local = localVar(localVars, reference.path);
      return local ?? { found: false, asked: ['the local vars (load_var, across)'] };
    }
    if (reference.source !== undefined) {
      const source = named.get(reference.source);
      if (!source) {
        const known = [...named.keys()];
        throw new ConveyorError(
          'CC_E_CREDS_UNKNOWN_SOURCE',
          `((${formatReference(reference)})) names var source ${JSON.stringify(reference.source)}, which the pipeline does not declare${known.length ? ` (var sources: ${known.join(', ')})` : ' (it declares no var_sources)'}`,
          { details: { var: formatReference(reference), source: reference.source, known } },
        );
      }
      const response = await askManager(source.manager, source.index, reference);
      if (response.found) redactor.add(response.value);
      return response.found
        ? { found: true, value: response.value }
        : { found: false, asked: [managerLabel(source.manager)] };
    }
    if (options.staticVars && hasOwn(options.staticVars, reference.path)) {
      return { found: true, value: options.staticVars[reference.path] };
    }
    for (const manager of unnamed) {
      const response = await askManager(manager, options.managers.indexOf(manager), reference);
      if (response.found) {
        redactor.add(response.value);
        return { found: true, value: response.value };
      }
    }
    return { found: false, asked: unnamed.map(managerLabel) };
  }

  async function resolve(
    reference: VarReference,
    localVars: InterpolateOptions['localVars'],
  ): Promise<Resolved> {
    const root = await resolveRoot(reference, localVars);
    return root.found ? { found: true, value: selectFields(root.value, reference) } : root;
  }

  return {
    async interpolate(value, interpolateOptions = {}) {
      // 1. Find and parse every reference first, so a malformed one fails before any lookup.
      const references = new Map<string, VarReference>();
      walkStrings(value, (text) => {
        for (const found of findReferences(text)) {
          if (!references.has(found.inner)) references.set(found.inner, parseReference(found.inner));
        }
      });
      if (references.size === 0) return structuredClone(value);

      // 2. Resolve them all at once; report every missing var together.
      const entries = [...references];
      const outcomes = await Promise.allSettled(
        entries.map(([, reference]) => resolve(reference, interpolateOptions.localVars)),
      );
      const values = new Map<string, unknown>();
      const missing: Array<{ reference: VarReference; asked: string[] }> = [];
      for (const [i, outcome] of outcomes.entries()) {
        const [inner, reference] = entries[i] as [string, VarReference];
        if (outcome.status === 'rejected') throw outcome.reason;
        if (outcome.value.found) values.set(inner, outcome.value.value);
        else missing.push({ reference, asked: outcome.value.asked });
      }
      if (missing.length) throw missingError(missing);

      // 3. Substitute.
      return substitute(value, values);
    },
    redact: (text) => redactor.redact(text),
    track: (value) => redactor.add(value),
    secrets: () => redactor.secrets(),
  };
}

function localVar(
  localVars: InterpolateOptions['localVars'],
  name: string,
): { found: true; value: unknown } | undefined {
  if (localVars instanceof Map)
    return localVars.has(name) ? { found: true, value: localVars.get(name) } : undefined;
  const record = localVars as Readonly<Record<string, unknown>> | undefined;
  return hasOwn(record, name) ? { found: true, value: record?.[name] } : undefined;
}

function hasOwn(record: Readonly<Record<string, unknown>> | undefined, key: string): boolean {
  return record !== undefined && Object.hasOwn(record, key);
}

/** Follow `((name.a.b))` into the value, as Concourse's Traverse does. */
function selectFields(value: unknown, reference: VarReference): unknown {
  let current = value;
  for (const field of reference.fields) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) {
      throw new ConveyorError(
        'CC_E_CREDS_MISSING_FIELD',
        `cannot select field ${JSON.stringify(field)} of ((${formatReference(reference)})): the value there is ${describeType(current)}, not an object`,
        { details: { var: formatReference(reference), field } },
      );
    }
    if (!Object.hasOwn(current, field)) {
      throw new ConveyorError(
        'CC_E_CREDS_MISSING_FIELD',
        `missing field ${JSON.stringify(field)} in var ((${formatReference(reference)}))`,
        { details: { var: formatReference(reference), field } },
      );
    }
    current = (current as Record<string, unknown>)[field];
  }
  return current;
}

function missingError(missing: Array<{ reference: VarReference; asked: string[] }>): ConveyorError {
  const vars = missing.map(({ reference }) => formatReference(reference));
  const asked = [...new Set(missing.flatMap((m) => m.asked))];
  const where = asked.length ? `asked: ${asked.join(', ')}` : 'no credential manager is configured';
  return new ConveyorError(
    'CC_E_CREDS_MISSING',
    `undefined var${vars.length > 1 ? 's' : ''}: ${vars.map((v) => `((${v}))`).join(', ')} (${where})`,
    { details: { vars, managers: asked } },
  );
}

function walkStrings(value: unknown, visit: (text: string) => void): void {
  if (typeof value === 'string') {
    visit(value);
  } else if (Array.isArray(value)) {
    for (const item of value) walkStrings(item, visit);
  } else if (isPlainObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      visit(key);
      walkStrings(item, visit);
    }
  }
}

function substitute(value: unknown, values: ReadonlyMap<string, unknown>): unknown {
  if (typeof value === 'string') return substituteString(value, values);
  if (Array.isArray(value)) return value.map((item) => substitute(item, values));
  if (isPlainObject(value)) {
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      const newKey = substituteString(key, values, true);
      result[typeof newKey === 'string' ? newKey : String(newKey)] = substitute(item, values);
    }
    return result;
  }
  return value;
}

function substituteString(text: string, values: ReadonlyMap<string, unknown>, isKey = false): unknown {
  const found = findReferences(text);
  const [only] = found;
  // A value that is exactly one reference keeps the var's type (an object, a number…).
  if (!isKey && found.length === 1 && only && only.text === text)
    return structuredClone(values.get(only.inner));
  let result = '';
  let last = 0;
  for (const reference of found) {
    result += text.slice(last, reference.index) + asText(reference, values.get(reference.inner));
    last = reference.index + reference.text.length;
  }
  return result + text.slice(last);
}

function asText(reference: FoundReference, value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
    return String(value);
  throw new ConveyorError(
    'CC_E_CREDS_NOT_INTERPOLATABLE',
    `cannot put ${reference.text} inside a longer string: its value is ${describeType(value)}; use it as a whole value, or select a field of it`,
    { details: { var: reference.inner } },
  );
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
