/**
 * `cc plugin install`'s engine: resolve NAME@RANGE against a registry's tags, verify digests and
 * the signature, unpack safely, move the package into `<store>/<name>/<version>/` with one rename,
 * and record it in the lock file.
 */
import { mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import semver from 'semver';
import { CliError } from '../errors/index.js';
import { sha256Digest } from './digest.js';
import { isLinked } from './link.js';
import { type LockEntry, type LockFile, readLockFile, withEntry, writeLockFile } from './lock-file.js';
import { ANNOTATIONS, MEDIA_TYPES, type OciManifest, type PluginArtifactConfig } from './media-types.js';
import { type FetchedManifest, isNotFound, type RegistryReader } from './oci-client.js';
import { readPackageManifest } from './pack.js';
import { type Resolution, resolvePluginRepository } from './plugin-index.js';
import { formatBytes } from './progress.js';
import { readPackageArchive, writeEntries } from './safe-unpack.js';
import { verifySignature } from './signing.js';
import { withStoreLock } from './store-lock.js';
import type { TrustStore } from './trust.js';

export interface InstallContext {
  /** The plugin store: `<store>/<name>/<version>/`. */
  store: string;
  lockFile: string;
  trust: TrustStore;
  allowUnsigned: boolean;
  /** Replace a version already in the store whose digest differs. */
  force?: boolean;
  hostApiVersion: string;
  /** Progress and warnings, one line each (the CLI writes them to stderr). */
  log: (line: string) => void;
}

export interface InstallTarget {
  client: RegistryReader;
  repository: string;
  /** How the name became `repository` (see resolvePluginRepository); only for messages. */
  via?: Resolution['via'];
}

/** Where `installFromLock` reads one lock entry from. */
export interface LockSource {
  client: RegistryReader;
  /**
   * Set when `client` is a mirror (`--registry`) rather than the registry the entry names: its
   * namespace. A mirror may hold the entry's digest under another repository (`cc plugin mirror`
   * copies into its own namespace), found there by name as `install NAME` would.
   */
  mirrorNamespace?: string;
}

export interface InstallResult {
  name: string;
  version: string;
  digest: string;
  registry: string;
  repository: string;
  path: string;
  /** Who signed it (a trusted publisher's name), or null when installed unsigned. */
  signedBy: string | null;
  /** False when the store already held exactly this digest. */
  installed: boolean;
}

const kNamePattern = /^[a-z][a-z0-9-]{0,62}$/;

/** One version the registry offers, with its config read. */
export interface Candidate {
  tag: string;
  manifest: FetchedManifest;
  config: PluginArtifactConfig;
}

/** Installs the highest version of `name` that satisfies `range` and this host's plugin API. */
export async function installPlugin(
  context: InstallContext,
  target: InstallTarget,
  name: string,
  range: string | undefined,
): Promise<InstallResult> {
  const chosen = await resolvePlugin(context, target, name, range);
  return withStoreLock(context.store, () =>
    installCandidate(context, target, chosen, range === undefined ? {} : { range }),
  );
}

/**
 * Installs every lock entry by digest, from the registry it names or a mirror (see LockSource).
 * The repository the entry records is read first, so an install from the lock needs no index.
 */
export async function installFromLock(
  context: InstallContext,
  sourceFor: (entry: LockEntry) => LockSource,
): Promise<InstallResult[]> {
  const lock = await readLockFile(context.lockFile);
  const results: InstallResult[] = [];
  for (const entry of lock.plugins) {
    const { client, mirrorNamespace } = sourceFor(entry);
    let repository = entry.repository;
    let manifest: FetchedManifest;
    try {
      manifest = await client.getManifest(repository, entry.digest);
    } catch (error) {
      if (mirrorNamespace === undefined || !isNotFound(error)) throw error;
      // By digest, so any repository that has it has the same bytes.
      const resolved = await resolvePluginRepository(client, mirrorNamespace, entry.name);
      if (resolved.repository === repository) throw error;
      context.log(`${client.url} has no ${repository}; reading ${entry.name} from ${resolved.repository}`);
      repository = resolved.repository;
      manifest = await client.getManifest(repository, entry.digest);
    }
    const config = await readConfig(client, repository, manifest, entry.digest);
    if (config.name !== entry.name || config.version !== entry.version) {
      throw new CliError(
        'CC_E_CLI_PLUGIN_LOCK_INVALID',
        `${context.lockFile}: ${entry.name}@${entry.version} names ${entry.digest}, which is ${config.name}@${config.version}`,
      );
    }
    results.push(
      await withStoreLock(context.store, () =>
        installCandidate(
          context,
          { client, repository },
          { tag: entry.digest, manifest, config },
          {
            registry: entry.registry,
            repository: entry.repository,
            ...(entry.range === undefined ? {} : { range: entry.range }),
          },
        ),
      ),
    );
  }
  return results;
}

/** Reads the candidates' configs and picks one, or explains why none fits. */
export async function resolvePlugin(
  context: InstallContext,
  { client, repository, via }: InstallTarget,
  name: string,
  range: string | undefined,
): Promise<Candidate> {
  const wanted = range ?? '*';
  if (semver.validRange(wanted) === null) {
    throw new CliError(
      'CC_E_CLI_USAGE',
      `${JSON.stringify(wanted)} is not a semver range (e.g. ^2 or 2.7.x)`,
    );
  }
  const tags = (await client.listTags(repository)).filter((tag) => semver.valid(tag) !== null);
  const candidates: Candidate[] = [];
  for (const tag of tags) {
    const manifest = await client.getManifest(repository, tag);
    // Not a plugin artifact (someone pushed something else here): not a candidate.
    if (manifest.manifest.artifactType !== MEDIA_TYPES.plugin) continue;
    const config = await readConfig(client, repository, manifest, `${repository}:${tag}`);
    // The tag is only a pointer; the config's version is what counts.
    if (semver.valid(config.version) === null || config.name !== name) continue;
    candidates.push({ tag, manifest, config });
  }
  const byVersion = (a: Candidate, b: Candidate) => semver.rcompare(a.config.version, b.config.version);
  const fits = (c: Candidate) =>
    semver.validRange(c.config.apiVersion) !== null &&
    semver.satisfies(context.hostApiVersion, c.config.apiVersion);
  const matching = candidates.filter((c) => semver.satisfies(c.config.version, wanted)).sort(byVersion);
  const installable = matching.filter(fits);
  if (installable[0] !== undefined) return installable[0];

  const where = `${client.url}/${repository}`;
  const spec = range === undefined ? name : `${name}@${range}`;
  if (matching[0] === undefined) {
    const versions = candidates.map((c) => c.config.version).sort(semver.rcompare);
    throw new CliError(
      'CC_E_CLI_PLUGIN_NO_MATCHING_VERSION',
      versions.length === 0
        ? via === 'index'
          ? `${where} has no versions of ${name}, though the plugin index names it for ${name}; fix the entry with \`cc plugin index add ${name} REPOSITORY\``
          : `${where} has no versions of ${name}; check the plugin name and --registry (or --repository)`
        : `no version of ${name} in ${where} satisfies ${wanted}; there are ${versions.join(', ')}`,
      { details: { plugin: name, range: wanted, versions, repository } },
    );
  }
  const best = matching[0];
  const alternative = candidates.filter(fits).sort(byVersion)[0];
  const advice =
    alternative === undefined
      ? `no version of ${name} in ${where} is built for plugin API ${context.hostApiVersion}`
      : `install ${name}@^${semver.major(alternative.config.version)}.${semver.minor(alternative.config.version)} instead`;
  throw new CliError(
    'CC_E_CLI_PLUGIN_NO_MATCHING_VERSION',
    `${name}@${best.config.version} needs plugin API ${best.config.apiVersion}, this host has ${context.hostApiVersion}; ${advice}`,
    {
      details: {
        plugin: name,
        requested: spec,
        needs: best.config.apiVersion,
        has: context.hostApiVersion,
        ...(alternative === undefined ? {} : { alternative: alternative.config.version }),
      },
    },
  );
}

export async function readConfig(
  client: RegistryReader,
  repository: string,
  fetched: FetchedManifest,
  what: string,
): Promise<PluginArtifactConfig> {
  const { manifest } = fetched;
  if (
    manifest.artifactType !== MEDIA_TYPES.plugin ||
    manifest.config?.mediaType !== MEDIA_TYPES.pluginConfig ||
    manifest.layers?.length !== 1 ||
    manifest.layers[0]?.mediaType !== MEDIA_TYPES.pluginLayer
  ) {
    throw new CliError(
      'CC_E_CLI_PLUGIN_PACKAGE_INVALID',
      `${what} is not a Conveyor plugin artifact (artifactType ${MEDIA_TYPES.plugin}, one config and one layer)`,
    );
  }
  const data = await client.getBlob(repository, manifest.config);
  try {
    const config = JSON.parse(data.toString('utf8')) as PluginArtifactConfig;
    for (const key of ['name', 'version', 'kind', 'apiVersion', 'packageDigest'] as const) {
      if (typeof config[key] !== 'string') throw new Error(`"${key}" is missing`);
    }
    // Name and version become path components of the store: hold them to the manifest schema's rules.
    if (!kNamePattern.test(config.name))
      throw new Error(`name ${JSON.stringify(config.name)} is not a plugin name`);
    if (semver.valid(config.version) !== config.version) {
      throw new Error(`version ${JSON.stringify(config.version)} is not a semver`);
    }
    return config;
  } catch (error) {
    throw new CliError(
      'CC_E_CLI_PLUGIN_PACKAGE_INVALID',
      `the config of ${what}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

/** What the lock entry of an install records, where it is not where the bytes came from. */
export interface LockRecord {
  /** The registry (default: the client's URL); a mirror's client records the origin. */
  registry?: string;
  /** The repository (default: the target's). */
  repository?: string;
  /** The range asked for, kept for `cc plugin update`. */
  range?: string;
}

/** Installs one resolved candidate; the caller holds the store lock. */
export async function installCandidate(
  context: InstallContext,
  target: InstallTarget,
  { manifest, config }: Candidate,
  record: LockRecord = {},
): Promise<InstallResult> {
  const { client } = target;
  const registry = record.registry ?? client.url;
  const repository = record.repository ?? target.repository;
  const { range } = record;
  const { name, version } = config;
  const digest = manifest.digest;
  const path = join(context.store, name, version);
  const lock = await readLockFile(context.lockFile);
  const entry: LockEntry = {
    name,
    version,
    digest,
    registry,
    repository,
    ...(range === undefined ? {} : { range }),
  };
  const result = { name, version, digest, registry, repository, path };

  // 1. Already there: the same digest is done; other content is replaced only when forced.
  const locked = lock.plugins.find((e) => e.name === name && e.version === version);
  const present = await exists(path);
  if (present && locked?.digest === digest && !context.force) {
    context.log(`${name}@${version} is installed already (${digest})`);
    return { ...result, signedBy: null, installed: false };
  }
  if (present && !context.force) {
    throw new CliError(
      'CC_E_CLI_PLUGIN_ALREADY_INSTALLED',
      `${path} exists and the lock file does not record ${digest} for it; pass --force to replace it`,
      { details: { path, digest, locked: locked?.digest ?? null } },
    );
  }

  // 2. Trust before download: the signature is over the manifest digest, which pins every blob.
  const signedBy = await checkSignature(context, client, target.repository, name, version, digest);

  // 3. The package bytes: the layer's digest, then the uncompressed tar's against the config.
  const layer = manifest.manifest.layers[0];
  if (layer === undefined)
    throw new CliError('CC_E_CLI_PLUGIN_PACKAGE_INVALID', `${name}@${version} has no layer`);
  context.log(
    `downloading ${name}@${version} (${formatBytes(layer.size)}) from ${client.url}/${target.repository}`,
  );
  const archive = await client.getBlob(target.repository, layer);
  const tarDigest = sha256Digest(gunzipSync(archive));
  if (tarDigest !== config.packageDigest) {
    throw new CliError(
      'CC_E_CLI_PLUGIN_DIGEST_MISMATCH',
      `the package of ${name}@${version} unpacks to ${tarDigest}, but its config says ${config.packageDigest}; nothing was installed`,
      { details: { expected: config.packageDigest, actual: tarDigest } },
    );
  }
  const entries = await readPackageArchive(archive);

  // 4. Unpack next to the store (same file system, so the rename below is atomic), then check.
  await mkdir(context.store, { recursive: true });
  const staging = await mkdtemp(join(context.store, '.install-'));
  try {
    await writeEntries(staging, entries);
    const unpacked = await readPackageManifest(staging);
    for (const key of ['name', 'version', 'kind', 'apiVersion'] as const) {
      if (unpacked[key] !== config[key]) {
        throw new CliError(
          'CC_E_CLI_PLUGIN_PACKAGE_INVALID',
          `${name}@${version}: the package's conveyor-plugin.json says ${key} ${JSON.stringify(unpacked[key])}, its artifact config ${JSON.stringify(config[key])}; nothing was installed`,
        );
      }
    }
    await mkdir(join(context.store, name), { recursive: true });
    if (present) {
      const old = `${staging}.old`;
      await rename(path, old);
      await rename(staging, path);
      await rm(old, { recursive: true, force: true });
    } else {
      await rename(staging, path);
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }

  // 5. The lock file, re-read so concurrent installs of other plugins are kept.
  await writeLockFile(context.lockFile, withEntry(await readLockFile(context.lockFile), entry));
  context.log(`installed ${name}@${version} into ${path}`);
  return { ...result, signedBy, installed: true };
}

/** Returns the trusted publisher who signed `digest`, or null when unsigned and allowed. */
async function checkSignature(
  context: InstallContext,
  client: RegistryReader,
  repository: string,
  name: string,
  version: string,
  digest: string,
): Promise<string | null> {
  const id = `${name}@${version} (${digest})`;
  const signatures = await client.referrers(repository, digest, MEDIA_TYPES.signature);
  const unknownKeys: string[] = [];
  let invalid: string | undefined;
  for (const descriptor of signatures) {
    const fetched = await client.getManifest(repository, descriptor.digest);
    const signature: OciManifest = fetched.manifest;
    if (signature.subject?.digest !== digest) continue;
    const keyId = signature.annotations?.[ANNOTATIONS.keyId] ?? '';
    const trusted = context.trust.get(keyId);
    const layer = signature.layers?.[0];
    if (trusted === undefined || layer === undefined) {
      unknownKeys.push(keyId);
      continue;
    }
    const bytes = await client.getBlob(repository, layer);
    if (verifySignature(digest, bytes, trusted.key)) return trusted.name;
    invalid = trusted.name;
  }
  if (invalid !== undefined) {
    throw new CliError(
      'CC_E_CLI_PLUGIN_SIGNATURE_INVALID',
      `the signature of ${id} that names the key of ${invalid} does not verify: the artifact or the signature was altered; nothing was installed`,
      { details: { digest, publisher: invalid } },
    );
  }
  if (signatures.length === 0) {
    if (context.allowUnsigned) {
      context.log(`warning: ${id} is not signed; installing it because of --allow-unsigned`);
      return null;
    }
    throw new CliError('CC_E_CLI_PLUGIN_UNSIGNED', `${id} is not signed; nothing was installed`, {
      hint: 'install only signed plugins, or pass --allow-unsigned if you trust this registry',
      details: { digest },
    });
  }
  if (context.allowUnsigned) {
    context.log(
      `warning: ${id} is signed by no trusted publisher; installing it because of --allow-unsigned`,
    );
    return null;
  }
  throw new CliError(
    'CC_E_CLI_PLUGIN_UNTRUSTED',
    `${id} is signed by no trusted publisher (key ids: ${unknownKeys.join(', ') || 'none'}); nothing was installed`,
    {
      hint: `add the publisher's public key to trusted-publishers.json in the data directory, or pass --trust KEY.pub`,
      details: { digest, keyIds: unknownKeys },
    },
  );
}

export interface RemoveResult {
  name: string;
  version: string;
  path: string;
}

/** Removes `name` (one version, or all) from the store and the lock file. */
export async function removePlugin(
  context: Pick<InstallContext, 'store' | 'lockFile'>,
  name: string,
  version: string | undefined,
): Promise<RemoveResult[]> {
  return withStoreLock(context.store, () => removeLocked(context, name, version));
}

async function removeLocked(
  context: Pick<InstallContext, 'store' | 'lockFile'>,
  name: string,
  version: string | undefined,
): Promise<RemoveResult[]> {
  const dir = join(context.store, name);
  // Removing under a link would delete the shadowed installed versions with it.
  if (await isLinked(context.store, name)) {
    throw new CliError(
      'CC_E_CLI_USAGE',
      `${name} is linked to a local package (cc plugin link); run \`cc plugin unlink ${name}\` first; nothing was removed`,
    );
  }
  const versions =
    version === undefined ? await listVersions(dir) : (await exists(join(dir, version))) ? [version] : [];
  if (versions.length === 0) {
    throw new CliError(
      'CC_E_CLI_PLUGIN_NOT_INSTALLED',
      `${version === undefined ? name : `${name}@${version}`} is not installed in ${context.store}`,
      { details: { store: context.store, plugin: name, version: version ?? null } },
    );
  }
  const removed: RemoveResult[] = [];
  for (const v of versions) {
    const path = join(dir, v);
    // Out of discovery's sight with one rename first, so a host never sees a half-deleted package.
    const trash = join(context.store, `.remove-${name}-${v}-${process.pid}`);
    await rename(path, trash);
    await rm(trash, { recursive: true, force: true });
    removed.push({ name, version: v, path });
  }
  if ((await listVersions(dir)).length === 0) await rm(dir, { recursive: true, force: true });
  const lock: LockFile = await readLockFile(context.lockFile);
  const gone = new Set(removed.map((r) => r.version));
  await writeLockFile(context.lockFile, {
    lockfileVersion: 1,
    plugins: lock.plugins.filter((e) => !(e.name === name && gone.has(e.version))),
  });
  return removed;
}

async function listVersions(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((v) => !v.startsWith('.')).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
