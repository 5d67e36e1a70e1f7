import {
  type BuildMetadata,
  type CallContext,
  type Metadata,
  PluginError,
  type Version,
  type VolumeRef,
} from '@conveyor/plugin-api';

/** Where Concourse puts a get's destination and a put's sources, passed to the script as $1. */
export const GET_DIRECTORY = '/tmp/build/get';
export const PUT_DIRECTORY = '/tmp/build/put';

export type Script = 'check' | 'in' | 'out';

/**
 * Run one of the image's scripts through the host with the JSON request on stdin, and parse what
 * it printed on stdout. A non-zero exit fails the call with the end of the script's stderr (all of
 * which is in the step's log already).
 */
export async function runScript(
  context: CallContext,
  script: Script,
  request: Record<string, unknown>,
  options: {
    directory?: { volume: VolumeRef; path: string } | undefined;
    env?: Record<string, string> | undefined;
  } = {},
): Promise<unknown> {
  const path = `/opt/resource/${script}`;
  const { directory } = options;
  const result = await context.host.run({
    path,
    args: directory ? [directory.path] : [],
    stdin: JSON.stringify(request),
    ...(options.env ? { env: options.env } : {}),
    ...(directory
      ? { dir: directory.path, mounts: [{ volume: directory.volume, destination: directory.path }] }
      : {}),
  });
  if (result.exitStatus !== 0) {
    const tail = lastLines(result.stderrTail, 10);
    throw new PluginError(
      'CONCOURSE_SCRIPT_FAILED',
      `${path} of the resource type's image exited with status ${result.exitStatus}${tail ? `:\n${tail}` : ' and wrote nothing to stderr'}`,
    );
  }
  try {
    return JSON.parse(result.stdout) as unknown;
  } catch (error) {
    throw new PluginError(
      'CONCOURSE_BAD_OUTPUT',
      `${path} of the resource type's image did not print JSON on stdout (${(error as Error).message}); it printed ${describeOutput(result.stdout)}. A resource prints its answer on stdout and everything else on stderr`,
    );
  }
}

/** A check's answer: an array of versions, each a flat object of strings. */
export function versionsOf(output: unknown): Version[] {
  if (!Array.isArray(output)) {
    throw badAnswer('check', `an array of versions, e.g. [{"ref":"abc"}]`, output);
  }
  return output.map((version, i) => versionOf(version, 'check', `[${i}]`));
}

/** An in's or out's answer: `{ "version": {...}, "metadata": [{ "name", "value" }] }`. */
export function resultOf(output: unknown, script: 'in' | 'out'): { version: Version; metadata?: Metadata } {
  if (typeof output !== 'object' || output === null || Array.isArray(output)) {
    throw badAnswer(script, 'an object with a "version"', output);
  }
  const answer = output as { version?: unknown; metadata?: unknown };
  const version = versionOf(answer.version, script, '.version');
  if (answer.metadata === undefined || answer.metadata === null) return { version };
  if (!Array.isArray(answer.metadata))
    throw badAnswer(script, '"metadata" as an array of {"name","value"}', output);
  const metadata = answer.metadata.map((entry: unknown, i) => {
    const { name, value } = (entry ?? {}) as { name?: unknown; value?: unknown };
    if (typeof name !== 'string') {
      throw badAnswer(script, `metadata[${i}].name as a string`, output);
    }
    // Concourse shows any scalar; the contract keeps strings.
    return {
      name,
      value: typeof value === 'string' ? value : value === undefined ? '' : JSON.stringify(value),
    };
  });
  return { version, metadata };
}

/**
 * Concourse's BUILD_* environment of a get or put (a check has none): what the build is, and
 * where the server is.
 */
export function buildEnv(build: BuildMetadata | undefined): Record<string, string> | undefined {
  if (!build) return undefined;
  const env: Record<string, string> = {
    BUILD_ID: String(build.id),
    BUILD_NAME: build.name,
    BUILD_TEAM_NAME: build.team,
    BUILD_URL: build.url,
    ATC_EXTERNAL_URL: new URL(build.url).origin,
  };
  if (build.pipeline !== undefined) env.BUILD_PIPELINE_NAME = build.pipeline;
  if (build.job !== undefined) env.BUILD_JOB_NAME = build.job;
  return env;
}

function versionOf(value: unknown, script: Script, where: string): Version {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badAnswer(script, `a version object at ${where}`, value);
  }
  const version: Version = {};
  for (const [key, field] of Object.entries(value)) {
    // Concourse versions are strings; a number or boolean is taken as its text, as Concourse does.
    if (typeof field === 'string') version[key] = field;
    else if (typeof field === 'number' || typeof field === 'boolean') version[key] = String(field);
    else throw badAnswer(script, `string values in the version at ${where} (${key} is not)`, value);
  }
  return version;
}

function badAnswer(script: Script, expected: string, got: unknown): PluginError {
  return new PluginError(
    'CONCOURSE_BAD_OUTPUT',
    `/opt/resource/${script} of the resource type's image answered ${describeOutput(JSON.stringify(got) ?? String(got))}; expected ${expected}`,
  );
}

function describeOutput(text: string): string {
  if (text.trim() === '') return 'nothing';
  return text.length > 200 ? `${JSON.stringify(text.slice(0, 200))}…` : JSON.stringify(text);
}

function lastLines(text: string, count: number): string {
  return text.trimEnd().split('\n').slice(-count).join('\n');
}
