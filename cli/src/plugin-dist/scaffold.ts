/**
 * `cc plugin new`: the files of a new plugin package, small enough to read in one sitting and
 * complete enough to build, pass the conformance suite and be published as they are.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PLUGIN_API_VERSION } from '@conveyor/plugin-api';
import { CliError } from '../errors/index.js';

/** The plugin kinds `cc plugin new` can start. */
export const scaffoldKinds = ['resource-type'] as const;
export type ScaffoldKind = (typeof scaffoldKinds)[number];

/** A plugin name as the manifest schema takes it, and as an OCI repository path segment. */
const NAME = /^[a-z][a-z0-9-]{0,62}$/;

export interface ScaffoldResult {
  name: string;
  kind: ScaffoldKind;
  dir: string;
  files: string[];
}

/** Write a new package into `dir`, which must not exist or be empty. */
export async function scaffoldPlugin(kind: ScaffoldKind, name: string, dir: string): Promise<ScaffoldResult> {
  if (!NAME.test(name)) {
    throw new CliError('CC_E_CLI_USAGE', `invalid plugin name ${JSON.stringify(name)}`, {
      hint: 'use lower-case letters, digits and dashes, starting with a letter (e.g. hello or my-resource)',
    });
  }
  const existing = await readdir(dir).catch(() => []);
  if (existing.length > 0) {
    throw new CliError('CC_E_CLI_FILE_UNREADABLE', `cannot create the plugin in ${dir}: it is not empty`, {
      hint: 'choose another directory with --dir; existing files are never overwritten',
    });
  }
  const files = resourceTypeFiles(name);
  try {
    for (const [path, content] of Object.entries(files)) {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), content, { flag: 'wx' });
    }
  } catch (error) {
    throw new CliError(
      'CC_E_CLI_FILE_UNREADABLE',
      `cannot write the plugin into ${dir}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  return { name, kind, dir, files: Object.keys(files).sort() };
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** The `^major.minor` of this CLI's plugin API: what the new plugin is written against. */
function apiRange(): string {
  const [major, minor] = PLUGIN_API_VERSION.split('.');
  return `^${major}.${minor}`;
}

function resourceTypeFiles(name: string): Record<string, string> {
  const code = name.toUpperCase().replaceAll('-', '_');
  return {
    'package.json': json({
      name: `conveyor-plugin-${name}`,
      version: '1.0.0',
      private: true,
      type: 'module',
      main: './dist/index.js',
      files: ['dist', 'conveyor-plugin.json'],
      scripts: {
        build: 'tsc -p .',
        test: 'vitest run test',
      },
      // The host provides it (linked into the store's node_modules): a peer, never bundled.
      peerDependencies: { '@conveyor/plugin-api': '^1.0.0' },
      devDependencies: { '@types/node': '*', typescript: '^5.9.0', vitest: '^4.1.0' },
    }),
    'tsconfig.json': json({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        rootDir: 'src',
        outDir: 'dist',
        types: ['node'],
        skipLibCheck: true,
      },
      include: ['src/**/*.ts'],
    }),
    'conveyor-plugin.json': json({
      name,
      version: '1.0.0',
      kind: 'resource-type',
      apiVersion: apiRange(),
      main: 'dist/index.js',
      description: `The ${name} resource: check finds versions 1 to source.count, get writes source.message and the version into its directory, put names a version.`,
      configSchema: { type: 'object', additionalProperties: false, properties: {} },
      resourceType: {
        source: {
          type: 'object',
          additionalProperties: false,
          required: ['message'],
          properties: {
            message: { description: 'What a get writes into message.txt.', type: 'string' },
            count: {
              description: 'How many versions there are: 1 to count. Default 1.',
              type: 'integer',
              minimum: 1,
              maximum: 1000,
            },
          },
        },
        getParams: { type: 'object', additionalProperties: false, properties: {} },
        putParams: {
          type: 'object',
          additionalProperties: false,
          required: ['number'],
          properties: {
            number: { description: 'The version to name.', type: 'string', pattern: '^[0-9]+$' },
          },
        },
        version: {
          type: 'object',
          additionalProperties: false,
          required: ['number'],
          properties: { number: { type: 'string', pattern: '^[0-9]+$' } },
        },
      },
    }),
    'src/index.ts': `import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defineResourceType, PluginError, type resourceType, type VolumeRef } from '@conveyor/plugin-api';

/** The source, as conveyor-plugin.json describes it: the host has checked it already. */
interface Source {
  message: string;
  count?: number;
}

type Version = { number: string };

/** Versions 1 to count, oldest first. */
function versions(source: Source): Version[] {
  return Array.from({ length: source.count ?? 1 }, (_, i) => ({ number: String(i + 1) }));
}

/** The host path of the volume a get or put works in. */
function hostPath(directory: VolumeRef): string {
  if (directory.location.type !== 'host-path') {
    throw new PluginError('${code}_NO_HOST_PATH', 'the ${name} resource needs a volume with a host path');
  }
  return directory.location.path;
}

export default defineResourceType({
  /** From the given version on when it still exists, else only the newest, as Concourse does. */
  async check(request: resourceType.CheckRequest): Promise<resourceType.CheckResponse> {
    const all = versions(request.source as unknown as Source);
    const from = all.findIndex((v) => v.number === (request.version as Version | undefined)?.number);
    return { versions: from >= 0 ? all.slice(from) : request.version ? all.slice(-1) : all };
  },

  async get(request: resourceType.GetRequest, context): Promise<resourceType.GetResponse> {
    const source = request.source as unknown as Source;
    const version = request.version as Version;
    const dir = hostPath(request.directory);
    await writeFile(join(dir, 'message.txt'), \`\${source.message}\\n\`);
    await writeFile(join(dir, 'version'), \`\${version.number}\\n\`);
    context.output('stderr', \`fetched ${name} version \${version.number}\\n\`);
    return { version, metadata: [{ name: 'message', value: source.message }] };
  },

  async put(request: resourceType.PutRequest): Promise<resourceType.PutResponse> {
    const params = request.params as Version;
    return { version: { number: params.number }, metadata: [] };
  },
});
`,
    'test/conformance.test.ts': `import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPluginForTest } from '@conveyor/plugin-api/testing';
import { resourceTypeConformance } from '@conveyor/plugin-api/testing/vitest';
import { expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const source = { message: 'hello, world', count: 3 };

resourceTypeConformance({
  name: '${name} resource type',
  packageDir,
  source,
  invalidSource: { message: 42 },
  putParams: { number: '4' },
});

it('writes the message and the version a get fetches', async () => {
  const plugin = await loadPluginForTest<'resource-type'>(packageDir);
  const path = await mkdtemp(join(tmpdir(), '${name}-'));
  try {
    const directory = { handle: 'v1', driver: 'naive', location: { type: 'host-path' as const, path } };
    await plugin.call('get', { source, version: { number: '2' }, directory });
    expect(await readFile(join(path, 'message.txt'), 'utf8')).toBe('hello, world\\n');
    expect(await readFile(join(path, 'version'), 'utf8')).toBe('2\\n');
  } finally {
    await rm(path, { recursive: true, force: true });
  }
});
`,
    // Its own, so that vitest run in the package never picks up the configuration of a folder above.
    'vitest.config.ts': `import { defineConfig } from 'vitest/config';

export default defineConfig({ test: { include: ['test/**/*.test.ts'] } });
`,
    'README.md': `# ${name}

A Conveyor resource type, started with \`cc plugin new resource-type ${name}\`.

\`\`\`sh
npm run build                         # tsc: src/ to dist/
npm test                              # the resource type conformance suite and your tests
cc plugin keygen -o publisher         # once: publisher.pem (secret) and publisher.pub
cc plugin publish . --registry URL --sign-key publisher.pem
cc plugin install ${name}@^1 --registry URL --trust publisher.pub
\`\`\`

In a pipeline:

\`\`\`yaml
resources:
  - name: greeting
    type: ${name}
    source: { message: hello, count: 3 }
\`\`\`

The package imports \`@conveyor/plugin-api\` only: the server provides it, so \`dist/\` is all that is
published.
`,
  };
}
