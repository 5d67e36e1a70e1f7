import { readFile } from 'node:fs/promises';
import { type BuildMetadata, type CallContext, PluginError, type resourceType } from '@conveyor/plugin-api';
import { assertResolvesInside, hostDirectory, pathInside } from './directory.js';
import { sayer } from './say.js';
import type { MockPutParams, MockSource } from './types.js';

/** Create the version params name: `file`'s contents (trimmed) or else `version`. */
export async function put(
  request: resourceType.PutRequest,
  context: CallContext,
): Promise<resourceType.PutResponse> {
  const source = request.source as MockSource;
  const params = (request.params ?? {}) as MockPutParams;
  const say = sayer(context, source);

  let version = params.version ?? '';
  if (params.file) {
    const dir = hostDirectory(request.directory);
    const file = pathInside(dir, params.file, 'file');
    try {
      await assertResolvesInside(dir, file, `file ${JSON.stringify(params.file)}`);
      version = (await readFile(file, 'utf8')).trim();
    } catch (error) {
      if (error instanceof PluginError) throw error;
      throw new PluginError(
        'MOCK_FILE_UNREADABLE',
        `cannot read the version from file ${JSON.stringify(params.file)}`,
        {
          cause: error,
        },
      );
    }
  }
  if (!version) {
    throw new PluginError(
      'MOCK_NO_VERSION',
      params.file
        ? `file ${JSON.stringify(params.file)} is empty: it must hold the version to create`
        : 'put needs params.version, or params.file naming a file that holds the version',
    );
  }

  say(`pushing version: ${version}`);
  if (params.print_env) {
    for (const [name, value] of Object.entries(buildEnv(request.build))) say(`env: ${name}=${value}`);
  }
  return { version: { version }, metadata: source.metadata ?? [] };
}

/**
 * The environment Concourse gives a resource's put, from the build's metadata. Never the Conveyor
 * process's own environment: that holds its secrets.
 */
function buildEnv(build: BuildMetadata | undefined): Record<string, string> {
  if (!build) return {};
  const env: Record<string, string> = {
    ATC_EXTERNAL_URL: origin(build.url),
    BUILD_ID: String(build.id),
    BUILD_NAME: build.name,
    BUILD_TEAM_NAME: build.team,
  };
  if (build.job) env.BUILD_JOB_NAME = build.job;
  if (build.pipeline) env.BUILD_PIPELINE_NAME = build.pipeline;
  return Object.fromEntries(Object.entries(env).sort(([a], [b]) => a.localeCompare(b)));
}

/** The server's address, from the build's URL. */
function origin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}
