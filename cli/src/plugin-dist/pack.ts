/**
 * A plugin package directory → the three blobs of its OCI artifact (docs/plugins.md). Packing is
 * deterministic: the same files give the same digests on any machine, so a published digest can
 * be reproduced from a checkout. Entries are sorted, mtimes fixed, owners left out.
 */
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describeProblems, manifestSchemaValidator, type PluginManifest } from '@conveyor/plugin-api';
import * as tar from 'tar';
import { CliError } from '../errors/index.js';
import { sha256Digest } from './digest.js';
import {
  ANNOTATIONS,
  type Descriptor,
  MEDIA_TYPES,
  type OciManifest,
  type PluginArtifactConfig,
} from './media-types.js';

export const MANIFEST_FILE = 'conveyor-plugin.json';

/** Bytes with their descriptor. */
export interface Blob {
  readonly descriptor: Descriptor;
  readonly data: Buffer;
}

export function toBlob(mediaType: string, data: Buffer): Blob {
  return { descriptor: { mediaType, digest: sha256Digest(data), size: data.length }, data };
}

export interface PackedPlugin {
  readonly manifest: PluginManifest;
  readonly config: Blob;
  readonly layer: Blob;
  /** The OCI image manifest, `artifactType` = the plugin media type. */
  readonly artifact: Blob;
  /** The files in the layer, sorted (directories end in `/`). */
  readonly files: readonly string[];
}

/** Never packed: dependencies are resolved by the host, and these are build or VCS leftovers. */
const kAlwaysExcluded = new Set(['node_modules', '.git']);
const kExcludedSuffixes = ['.tsbuildinfo'];
/** With package.json `files`, these come along anyway (as with npm pack). */
const kAlwaysIncluded = ['package.json', MANIFEST_FILE, 'README.md', 'LICENSE'];

/** Reads and validates a package's conveyor-plugin.json. */
export async function readPackageManifest(dir: string): Promise<PluginManifest> {
  const file = join(dir, MANIFEST_FILE);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new CliError(
      'CC_E_CLI_PLUGIN_PACKAGE_INVALID',
      `${file}: cannot read the plugin manifest: ${(error as Error).message}`,
      { cause: error, details: { file } },
    );
  }
  const validate = manifestSchemaValidator();
  if (!validate(json)) {
    throw new CliError(
      'CC_E_CLI_PLUGIN_PACKAGE_INVALID',
      `${file}: ${describeProblems(validate.problems())}`,
      {
        details: { file },
      },
    );
  }
  return json;
}

/** Packs `dir` into config, layer and manifest blobs. */
export async function packPlugin(dir: string): Promise<PackedPlugin> {
  const manifest = await readPackageManifest(dir);
  const files = await packageFiles(dir);
  const tarball = await tarFiles(dir, files);
  // Level and header are fixed (zlib writes mtime 0), so the gzip bytes are as stable as the tar's.
  const layer = toBlob(MEDIA_TYPES.pluginLayer, gzipSync(tarball, { level: 9 }));
  const configJson: PluginArtifactConfig = {
    name: manifest.name,
    version: manifest.version,
    kind: manifest.kind,
    apiVersion: manifest.apiVersion,
    packageDigest: sha256Digest(tarball),
    ...(manifest.description === undefined ? {} : { description: manifest.description }),
  };
  const config = toBlob(MEDIA_TYPES.pluginConfig, Buffer.from(JSON.stringify(configJson)));
  const artifactJson: OciManifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    artifactType: MEDIA_TYPES.plugin,
    config: config.descriptor,
    layers: [layer.descriptor],
    annotations: { [ANNOTATIONS.title]: manifest.name, [ANNOTATIONS.version]: manifest.version },
  };
  const artifact = toBlob(MEDIA_TYPES.ociManifest, Buffer.from(JSON.stringify(artifactJson)));
  return { manifest, config, layer, artifact, files };
}

/**
 * The package's files, relative and sorted: what package.json `files` lists (plain paths, no
 * globs) plus the manifest, or else everything but node_modules, .git and build info.
 */
async function packageFiles(dir: string): Promise<string[]> {
  const listed = await listedFiles(dir);
  const out = new Set<string>();
  const walk = async (path: string): Promise<void> => {
    const info = await lstat(path);
    const rel = relative(dir, path).split(sep).join('/');
    if (info.isDirectory()) {
      if (rel !== '') out.add(`${rel}/`);
      for (const name of (await readdir(path)).sort()) {
        if (kAlwaysExcluded.has(name) || kExcludedSuffixes.some((s) => name.endsWith(s))) continue;
        await walk(join(path, name));
      }
    } else if (info.isFile() || info.isSymbolicLink()) {
      out.add(rel);
    }
  };
  if (listed === undefined) {
    await walk(dir);
  } else {
    for (const entry of [...kAlwaysIncluded, ...listed]) {
      const path = join(dir, entry);
      if (relative(dir, path).startsWith('..')) continue;
      const exists = await lstat(path).catch(() => undefined);
      if (exists === undefined) continue;
      // Parents first, so unpacking creates them with their entries.
      const parts = relative(dir, path).split(sep);
      for (let i = 1; i < parts.length; i++) out.add(`${parts.slice(0, i).join('/')}/`);
      await walk(path);
    }
  }
  return [...out].sort();
}

async function listedFiles(dir: string): Promise<string[] | undefined> {
  let pkg: { files?: unknown };
  try {
    pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { files?: unknown };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CliError(
      'CC_E_CLI_PLUGIN_PACKAGE_INVALID',
      `${join(dir, 'package.json')}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  if (!Array.isArray(pkg.files)) return undefined;
  return pkg.files.filter((f): f is string => typeof f === 'string').map((f) => f.replace(/\/+$/, ''));
}

/** A tar of `files` (relative to `cwd`) in the given order, with fixed mtimes and no owners. */
export async function tarFiles(cwd: string, files: readonly string[]): Promise<Buffer> {
  const stream = tar.create({ cwd, portable: true, mtime: new Date(0), noDirRecurse: true, gzip: false }, [
    ...files,
  ]);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}
