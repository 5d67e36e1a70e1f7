import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import semver from 'semver';
import type { MethodName, MethodRequest, MethodResponse, PluginDefinition } from '../define-plugin.js';
import type { PluginKind } from '../generated/common.generated.js';
import type { PluginManifest } from '../generated/manifest.generated.js';
import { methodNames } from '../generated/methods.generated.js';
import { loadPluginDefinition } from '../run-call.js';
import {
  createAjv,
  describeProblems,
  formatProblems,
  manifestSchemaValidator,
  methodSchemaValidator,
  type SchemaProblem,
} from '../schemas.js';
import { PLUGIN_API_VERSION } from '../version.js';
import { ConformanceError, PluginCallError } from './errors.js';
import { ResourceSchemas } from './resource-schemas.js';
import { type OutputChunk, runStreamedCall, type StreamOptions } from './streamed-call.js';

export type CallOptions = StreamOptions;

/** What one call returned, with everything the plugin streamed while it ran. */
export interface CallResult<Value> {
  /** The reply, checked against the method's response schema. */
  value: Value;
  /** Output messages in the order they arrived. */
  output: OutputChunk[];
  /** The byte stream the plugin wrote (empty with `collectBytes: false`). */
  bytes: Buffer;
  /** The plugin closed its byte stream with `end()`. */
  ended: boolean;
}

/** A plugin loaded in the test's own thread, called as the host calls it. */
export interface PluginUnderTest<K extends PluginKind> {
  readonly manifest: PluginManifest;
  /** `name@version`. */
  readonly id: string;
  readonly config: Readonly<Record<string, unknown>>;
  /**
   * Call one method. The request is checked against its schema first (a bad request is the
   * test's mistake), the reply after (a bad reply is the plugin's); either throws a
   * ConformanceError. A call the plugin fails throws a PluginCallError carrying its code.
   */
  call<M extends MethodName<K>>(
    method: M,
    request: MethodRequest<K, M>,
    options?: CallOptions,
  ): Promise<CallResult<MethodResponse<K, M>>>;
}

const MANIFEST_FILE = 'conveyor-plugin.json';

/**
 * Load a plugin package for a test: validate its manifest and `config` as the host does, import
 * its entry module, run its setup, and return a handle to call its methods.
 *
 * ```ts
 * const plugin = await loadPluginForTest<'credentials'>(packageDir, { prefix: 'MY_' });
 * const { value } = await plugin.call('lookup', { team: 'main', path: 'token' });
 * ```
 */
export async function loadPluginForTest<K extends PluginKind>(
  packageDir: string,
  config: Record<string, unknown> = {},
): Promise<PluginUnderTest<K>> {
  const manifest = await readManifest(packageDir);
  const id = `${manifest.name}@${manifest.version}`;
  checkConfig(manifest, id, config);
  let resourceSchemas: ResourceSchemas | undefined;
  if (manifest.kind === 'resource-type') {
    try {
      resourceSchemas = new ResourceSchemas(manifest);
    } catch (error) {
      throw new ConformanceError(
        'CONFORMANCE_BAD_MANIFEST',
        `${id}: a resourceType schema does not compile`,
        {
          cause: error,
        },
      );
    }
  }
  const entry = pathToFileURL(resolve(packageDir, manifest.main)).href;
  const definition: PluginDefinition = await loadPluginDefinition(entry, manifest.kind);
  await definition.setup?.(config);

  return {
    manifest,
    id,
    config,
    async call(method, request, options = {}) {
      const kind = manifest.kind;
      if (!(methodNames[kind] as readonly string[]).includes(method)) {
        throw new ConformanceError(
          'CONFORMANCE_UNKNOWN_METHOD',
          `${id}: ${method} is not a method of a ${kind} plugin (methods: ${methodNames[kind].join(', ')})`,
        );
      }
      const requestProblems = problemsOf(kind, method, 'request', request);
      if (!requestProblems.length && resourceSchemas) {
        requestProblems.push(...resourceSchemas.requestProblems(method, request as Record<string, unknown>));
      }
      if (requestProblems.length) {
        throw new ConformanceError(
          'CONFORMANCE_BAD_REQUEST',
          `${id} ${method}: the request does not match its schema: ${describeProblems(requestProblems)}`,
          { problems: requestProblems },
        );
      }

      const { outcome, output, bytes, ended } = await runStreamedCall(
        definition,
        config,
        method,
        request as Record<string, unknown>,
        options,
      );
      if (!outcome.ok) throw new PluginCallError(id, method, outcome.error);

      const responseProblems = problemsOf(kind, method, 'response', outcome.value);
      if (!responseProblems.length && resourceSchemas) {
        responseProblems.push(
          ...resourceSchemas.responseProblems(method, outcome.value as Record<string, unknown>),
        );
      }
      if (responseProblems.length) {
        throw new ConformanceError(
          'CONFORMANCE_BAD_RESPONSE',
          `${id} ${method}: the reply does not match its schema: ${describeProblems(responseProblems)}`,
          { problems: responseProblems },
        );
      }
      return { value: outcome.value as never, output, bytes, ended };
    },
  };
}

async function readManifest(packageDir: string): Promise<PluginManifest> {
  const file = join(packageDir, MANIFEST_FILE);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new ConformanceError('CONFORMANCE_BAD_MANIFEST', `${file}: cannot read the manifest`, {
      cause: error,
    });
  }
  const validate = manifestSchemaValidator();
  if (!validate(json)) {
    const problems = validate.problems();
    throw new ConformanceError('CONFORMANCE_BAD_MANIFEST', `${file}: ${describeProblems(problems)}`, {
      problems,
    });
  }
  // The host refuses a plugin whose API range leaves this version out; so does the kit.
  if (!semver.validRange(json.apiVersion) || !semver.satisfies(PLUGIN_API_VERSION, json.apiVersion)) {
    throw new ConformanceError(
      'CONFORMANCE_BAD_MANIFEST',
      `${file}: apiVersion ${JSON.stringify(json.apiVersion)} does not include plugin API ${PLUGIN_API_VERSION}`,
    );
  }
  return json;
}

function checkConfig(manifest: PluginManifest, id: string, config: Record<string, unknown>): void {
  if (!manifest.configSchema) return;
  let problems: SchemaProblem[];
  try {
    const validate = createAjv().compile(manifest.configSchema);
    problems = validate(config) ? [] : formatProblems(validate.errors);
  } catch (error) {
    throw new ConformanceError('CONFORMANCE_BAD_MANIFEST', `${id}: configSchema does not compile`, {
      cause: error,
    });
  }
  if (problems.length) {
    throw new ConformanceError(
      'CONFORMANCE_BAD_CONFIG',
      `${id}: the configuration does not match configSchema: ${describeProblems(problems)}`,
      { problems },
    );
  }
}

function problemsOf(
  kind: PluginKind,
  method: string,
  direction: 'request' | 'response',
  value: unknown,
): SchemaProblem[] {
  const validate = methodSchemaValidator(kind, method, direction);
  if (!validate) {
    throw new ConformanceError(
      'CONFORMANCE_UNKNOWN_METHOD',
      `plugin-api has no ${direction} schema for ${kind} ${method}`,
    );
  }
  return validate(value) ? [] : validate.problems();
}
