import type { ValidateFunction } from 'ajv/dist/2020.js';
import type { PluginManifest } from '../generated/manifest.generated.js';
import { createAjv, formatProblems, type SchemaProblem } from '../schemas.js';

type Part = 'source' | 'getParams' | 'putParams' | 'version';

/**
 * The schemas a resource type declares in its manifest, compiled. The host checks `source`,
 * `params` and `version` against them before a call; the kit also checks the versions a plugin
 * answers, since the host stores them and hands them back later.
 */
export class ResourceSchemas {
  readonly #validators: Partial<Record<Part, ValidateFunction>> = {};

  /** Throws when a declared schema does not compile. */
  constructor(manifest: PluginManifest) {
    const ajv = createAjv();
    for (const part of ['source', 'getParams', 'putParams', 'version'] as const) {
      const schema = manifest.resourceType?.[part];
      if (schema) this.#validators[part] = ajv.compile(schema);
    }
  }

  requestProblems(method: string, request: Record<string, unknown>): SchemaProblem[] {
    const problems = this.#check('source', request.source, 'source');
    if (method === 'check' && request.version !== undefined) {
      problems.push(...this.#check('version', request.version, 'version'));
    } else if (method === 'get') {
      problems.push(...this.#check('getParams', request.params ?? {}, 'params'));
      problems.push(...this.#check('version', request.version, 'version'));
    } else if (method === 'put') {
      problems.push(...this.#check('putParams', request.params ?? {}, 'params'));
    }
    return problems;
  }

  responseProblems(method: string, response: Record<string, unknown>): SchemaProblem[] {
    if (method === 'check' && Array.isArray(response.versions)) {
      return response.versions.flatMap((version, i) => this.#check('version', version, `versions[${i}]`));
    }
    return this.#check('version', response.version, 'version');
  }

  #check(part: Part, value: unknown, at: string): SchemaProblem[] {
    const validate = this.#validators[part];
    if (!validate || validate(value)) return [];
    return formatProblems(validate.errors).map((p) => ({ ...p, path: joinPath(at, p.path) }));
  }
}

function joinPath(at: string, path: string): string {
  if (!path) return at;
  return path.startsWith('[') ? `${at}${path}` : `${at}.${path}`;
}
