import { mkdir, readdir, readFile, readlink, realpath, rename, rm, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import {
  describeProblems,
  manifestSchemaValidator,
  PLUGIN_API_VERSION,
  type PluginManifest,
} from '@conveyor/plugin-api';
import semver from 'semver';
import { ConveyorError, toError } from '../errors/index.js';

export type PluginSource = 'builtin' | 'installed' | 'linked';

/** A plugin package found on disk whose manifest is valid and whose API range fits this host. */
export interface DiscoveredPlugin {
  /** `name@version`, the id every message uses. */
  readonly id: string;
  readonly manifest: PluginManifest;
  readonly dir: string;
  /** Absolute path of the worker entry module. */
  readonly entry: string;
  readonly source: PluginSource;
}

export interface DiscoveryResult {
  plugins: DiscoveredPlugin[];
  /** Packages that were found but refused, each with the error that says why. */
  refused: ConveyorError[];
}

export interface DiscoveryOptions {
  /** Package directories of the built-in plugins (each holds a conveyor-plugin.json). */
  builtinDirs: readonly string[];
  /** The plugin store: installed plugins live in `<dir>/<name>/<version>/`. */
  installedDir?: string | undefined;
  hostApiVersion?: string;
}

export const MANIFEST_FILE = 'conveyor-plugin.json';

/**
 * Find every plugin package, validate its manifest and check its API range. A bad package is
 * refused on its own; the others load.
 */
export async function discoverPlugins(options: DiscoveryOptions): Promise<DiscoveryResult> {
  const hostApiVersion = options.hostApiVersion ?? PLUGIN_API_VERSION;
  const candidates: Array<{ dir: string; source: PluginSource }> = options.builtinDirs.map((dir) => ({
    dir: resolve(dir),
    source: 'builtin',
  }));
  if (options.installedDir) candidates.push(...(await installedPackageDirs(options.installedDir)));

  const result: DiscoveryResult = { plugins: [], refused: [] };
  const byId = new Map<string, DiscoveredPlugin>();
  for (const candidate of candidates) {
    try {
      const plugin = await readPlugin(candidate.dir, candidate.source, hostApiVersion);
      const existing = byId.get(plugin.id);
      if (existing) {
        throw new ConveyorError(
          'CC_E_PLUGIN_DUPLICATE',
          `${plugin.id} is declared twice: in ${existing.dir} and in ${plugin.dir}; remove one of them`,
          { details: { plugin: plugin.id, dirs: [existing.dir, plugin.dir] } },
        );
      }
      byId.set(plugin.id, plugin);
      result.plugins.push(plugin);
    } catch (error) {
      result.refused.push(
        error instanceof ConveyorError
          ? error
          : new ConveyorError(
              'CC_E_PLUGIN_MANIFEST_INVALID',
              `${join(candidate.dir, MANIFEST_FILE)}: ${toError(error).message}`,
              {
                cause: error,
                details: { dir: candidate.dir },
              },
            ),
      );
    }
  }
  return result;
}

async function installedPackageDirs(store: string): Promise<Array<{ dir: string; source: PluginSource }>> {
  const dirs: Array<{ dir: string; source: PluginSource }> = [];
  for (const name of await listDirs(store)) {
    // Where installed plugins find the host's packages (linkHostPackages), not a plugin.
    if (name === 'node_modules') continue;
    for (const version of await listDirs(join(store, name))) {
      dirs.push({ dir: join(store, name, version), source: 'installed' });
    }
  }
  return dirs;
}

async function listDirs(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries
      .filter((e) => (e.isDirectory() || e.isSymbolicLink()) && !e.name.startsWith('.'))
      .map((e) => e.name)
      .sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Read and check one package's manifest. */
export async function readPlugin(
  dir: string,
  source: PluginSource,
  hostApiVersion: string,
): Promise<DiscoveredPlugin> {
  const file = join(dir, MANIFEST_FILE);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new ConveyorError(
      'CC_E_PLUGIN_MANIFEST_INVALID',
      `${file}: cannot read the manifest: ${toError(error).message}`,
      {
        cause: error,
        details: { file },
      },
    );
  }
  const validate = manifestSchemaValidator();
  if (!validate(json)) {
    const problems = validate.problems();
    throw new ConveyorError('CC_E_PLUGIN_MANIFEST_INVALID', `${file}: ${describeProblems(problems)}`, {
      details: { file, problems },
    });
  }
  const manifest = json;
  const id = `${manifest.name}@${manifest.version}`;
  if (!semver.validRange(manifest.apiVersion)) {
    throw new ConveyorError(
      'CC_E_PLUGIN_MANIFEST_INVALID',
      `${file}: apiVersion ${JSON.stringify(manifest.apiVersion)} is not a semver range (e.g. "^1.0")`,
      { details: { file, plugin: id } },
    );
  }
  if (!semver.satisfies(hostApiVersion, manifest.apiVersion)) {
    throw new ConveyorError(
      'CC_E_PLUGIN_API_INCOMPATIBLE',
      `${id} needs plugin API ${manifest.apiVersion}, this host has ${hostApiVersion}; install a version of ${manifest.name} built for plugin API ${semver.major(hostApiVersion)}.x`,
      { details: { plugin: id, dir, needs: manifest.apiVersion, has: hostApiVersion } },
    );
  }
  const root = await realpath(dir);
  const entry = resolve(root, manifest.main);
  if (!entry.startsWith(`${root}/`)) {
    throw new ConveyorError(
      'CC_E_PLUGIN_MANIFEST_INVALID',
      `${file}: main ${JSON.stringify(manifest.main)} points outside the package`,
      {
        details: { file, plugin: id },
      },
    );
  }
  return { id, manifest, dir: root, entry, source };
}

/** The packages a plugin imports from the host rather than bundling: the contract it implements. */
const kHostPackages = ['@conveyor/plugin-api'] as const;

/**
 * Makes the host's own copy of the plugin API importable by installed plugins: a plugin in
 * `<store>/<name>/<version>/` imports `@conveyor/plugin-api`, which Node looks for in the
 * `node_modules` folders above it, so `<store>/node_modules/@conveyor/plugin-api` links to the
 * host's package. Plugins bundle any other dependency.
 */
export async function linkHostPackages(store: string): Promise<void> {
  const require = createRequire(import.meta.url);
  for (const name of kHostPackages) {
    const target = dirname(require.resolve(`${name}/package.json`));
    const link = join(store, 'node_modules', ...name.split('/'));
    const current = await readlink(link).catch(() => undefined);
    if (current === target) continue;
    await mkdir(dirname(link), { recursive: true });
    // Replaced through a rename, so a plugin loading meanwhile never finds no link at all.
    const fresh = `${link}.${process.pid}.tmp`;
    await rm(fresh, { force: true });
    await symlink(target, fresh, 'dir');
    await rename(fresh, link);
  }
}
