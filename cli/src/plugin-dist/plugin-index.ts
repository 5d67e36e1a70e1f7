/**
 * The plugin index of a namespace (docs/plugins.md): one OCI artifact at `<namespace>/index:latest`
 * whose layer maps friendly names (`git`) to repositories of the same registry, each with a short
 * description. `install`, `info` and `mirror` resolve a name through it; `search` lists it. It is
 * changed by read-modify-write of the tag, checked before and after the write so that a concurrent
 * writer's entry is never silently lost.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import semver from 'semver';
import { CliError, isCliError } from '../errors/index.js';
import { EMPTY_CONFIG, MEDIA_TYPES, type OciManifest } from './media-types.js';
import { isNotFound, type RegistryReader, type RegistryWriter } from './oci-client.js';
import { type Blob, toBlob } from './pack.js';
import { repositoryFor } from './publish.js';
import { EMPTY_CONFIG_DATA } from './signing.js';

/** The index lives at `<namespace>/index`, tag `latest`. */
export const INDEX_REPOSITORY = 'index';
export const INDEX_TAG = 'latest';

export interface PluginIndexEntry {
  /** A repository of the same registry, any namespace (`acme/git-resource`). */
  repository: string;
  description?: string;
}

/** The index document: the layer's JSON. */
export interface PluginIndex {
  schemaVersion: 1;
  /** Friendly name → where its versions are. */
  plugins: Record<string, PluginIndexEntry>;
}

/** An index as read from a registry. */
export interface FetchedIndex {
  /** `<namespace>/index`. */
  repository: string;
  /** The manifest digest `latest` pointed at. */
  digest: string;
  index: PluginIndex;
}

/** How a name became a repository: `--repository`, the index, or `<namespace>/<name>`. */
export interface Resolution {
  name: string;
  repository: string;
  via: 'flag' | 'index' | 'namespace';
  /** The namespace's index, when it has one. */
  index: FetchedIndex | null;
}

const kPluginNamePattern = /^[a-z][a-z0-9-]{0,62}$/;
// The OCI distribution spec's repository name grammar: checked because an index is remote input.
const kRepositoryPattern =
  /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const kDescriptionMax = 300;

export function indexRepositoryOf(namespace: string): string {
  return repositoryFor(namespace, INDEX_REPOSITORY);
}

function emptyIndex(): PluginIndex {
  return { schemaVersion: 1, plugins: {} };
}

/** Checks a name, a repository and a description for the index; throws CC_E_CLI_USAGE. */
export function checkIndexEntry(name: string, entry: PluginIndexEntry): void {
  const problem = entryProblem(name, entry);
  if (problem !== undefined) throw new CliError('CC_E_CLI_USAGE', problem);
}

function entryProblem(name: string, entry: PluginIndexEntry): string | undefined {
  if (!kPluginNamePattern.test(name)) {
    return `${JSON.stringify(name)} is not a plugin name (lowercase letters, digits and -, starting with a letter)`;
  }
  if (typeof entry?.repository !== 'string' || !kRepositoryPattern.test(entry.repository)) {
    return `${name}: repository ${JSON.stringify(entry?.repository)} is not a repository path of the registry (e.g. acme/git-resource)`;
  }
  if (entry.description !== undefined && typeof entry.description !== 'string') {
    return `${name}: description must be a string`;
  }
  if ((entry.description ?? '').length > kDescriptionMax) {
    return `${name}: description is longer than ${kDescriptionMax} characters`;
  }
  return undefined;
}

/** The index's bytes: names sorted, so the same content always has the same digest. */
export function encodeIndex(index: PluginIndex): Buffer {
  const plugins: Record<string, PluginIndexEntry> = {};
  for (const name of Object.keys(index.plugins).sort()) {
    const entry = index.plugins[name] as PluginIndexEntry;
    plugins[name] = {
      repository: entry.repository,
      ...(entry.description ? { description: entry.description } : {}),
    };
  }
  return Buffer.from(`${JSON.stringify({ schemaVersion: 1, plugins }, null, 2)}\n`);
}

export function parseIndex(data: Buffer, where: string): PluginIndex {
  let json: Partial<PluginIndex>;
  try {
    json = JSON.parse(data.toString('utf8')) as Partial<PluginIndex>;
  } catch (error) {
    throw invalid(where, 'its layer is not JSON', error);
  }
  if (json?.schemaVersion !== 1 || typeof json.plugins !== 'object' || json.plugins === null) {
    throw invalid(where, 'expected { "schemaVersion": 1, "plugins": { NAME: { "repository": … } } }');
  }
  const index = emptyIndex();
  for (const [name, entry] of Object.entries(json.plugins)) {
    const problem = entryProblem(name, entry);
    if (problem !== undefined) throw invalid(where, problem);
    index.plugins[name] = {
      repository: entry.repository,
      ...(entry.description ? { description: entry.description } : {}),
    };
  }
  return index;
}

function invalid(where: string, problem: string, cause?: unknown): CliError {
  return new CliError(
    'CC_E_CLI_PLUGIN_INDEX_INVALID',
    `${where} is not a Conveyor plugin index: ${problem}`,
    {
      ...(cause === undefined ? {} : { cause }),
      hint: 'delete that tag (or push a valid index over it); --repository names a repository meanwhile',
    },
  );
}

/** The namespace's index, or null when `<namespace>/index:latest` does not exist. */
export async function readPluginIndex(
  reader: RegistryReader,
  namespace: string,
): Promise<FetchedIndex | null> {
  const repository = indexRepositoryOf(namespace);
  const where = `${reader.url}/${repository}:${INDEX_TAG}`;
  let fetched: Awaited<ReturnType<RegistryReader['getManifest']>>;
  try {
    fetched = await reader.getManifest(repository, INDEX_TAG);
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
  const { manifest } = fetched;
  const layer = manifest.layers?.[0];
  if (
    manifest.artifactType !== MEDIA_TYPES.pluginIndex ||
    manifest.layers.length !== 1 ||
    layer?.mediaType !== MEDIA_TYPES.pluginIndexLayer
  ) {
    throw invalid(where, `expected artifactType ${MEDIA_TYPES.pluginIndex} with one layer`);
  }
  const index = parseIndex(await reader.getBlob(repository, layer), where);
  return { repository, digest: fetched.digest, index };
}

/** The index as an OCI manifest: the empty config and one layer, the JSON. */
export function indexArtifact(index: PluginIndex): { layer: Blob; manifest: Buffer } {
  const layer = toBlob(MEDIA_TYPES.pluginIndexLayer, encodeIndex(index));
  const manifest: OciManifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    artifactType: MEDIA_TYPES.pluginIndex,
    config: EMPTY_CONFIG,
    layers: [layer.descriptor],
  };
  return { layer, manifest: Buffer.from(JSON.stringify(manifest)) };
}

export interface IndexUpdate {
  /** `<namespace>/index`. */
  repository: string;
  /** The manifest digest `latest` points at now. */
  digest: string;
  index: PluginIndex;
  /** False when the index already said so: nothing was written. */
  changed: boolean;
}

export interface IndexUpdateOptions {
  /** Read-modify-write rounds before giving up (default 8). */
  attempts?: number;
  /** The pause before checking a write held (default 150 ms, plus up to as much again at random). */
  settleMs?: number;
  log?: (line: string) => void;
}

const kDefaultAttempts = 8;
const kDefaultSettleMs = 150;

/**
 * Applies `change` to the namespace's index (an empty one when there is none) and writes it back.
 * `change` must be idempotent (set or delete entries), because it is applied again to whatever
 * another writer left. Registries have no compare-and-swap on tags, so each round:
 * 1. reads `latest` (digest D) and applies the change; equal to what is there: done, no write;
 * 2. pushes the new layer, then re-reads the tag right before the PUT: not D any more → next round;
 * 3. PUTs with If-Match D (a registry that honours it refuses a stale write with 412 → next round);
 * 4. after a short pause, reads the tag again: the change no longer there (a concurrent writer's
 *    PUT replaced ours) → next round, which merges with what that writer wrote.
 * A writer whose PUT lands after another's final check (3 → 4 of the other, within one round trip
 * of its own step 2) can still replace it; the pause makes that window narrow.
 */
export async function updatePluginIndex(
  registry: RegistryReader & RegistryWriter,
  namespace: string,
  change: (index: PluginIndex) => PluginIndex,
  options: IndexUpdateOptions = {},
): Promise<IndexUpdate> {
  const repository = indexRepositoryOf(namespace);
  const attempts = options.attempts ?? kDefaultAttempts;
  const settleMs = options.settleMs ?? kDefaultSettleMs;
  const holds = (index: PluginIndex) => encodeIndex(change(clone(index))).equals(encodeIndex(index));

  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) await sleep(Math.round(Math.random() * 50 * attempt));
    // 1.
    const current = await readPluginIndex(registry, namespace);
    const base = current?.index ?? emptyIndex();
    const next = change(clone(base));
    if (current !== null && holds(current.index)) {
      return { repository, digest: current.digest, index: current.index, changed: false };
    }
    // 2.
    const { layer, manifest } = indexArtifact(next);
    await registry.pushBlob(repository, EMPTY_CONFIG, EMPTY_CONFIG_DATA);
    await registry.pushBlob(repository, layer.descriptor, layer.data);
    const before = await currentDigest(registry, repository);
    if (before !== (current?.digest ?? null)) {
      options.log?.(`the plugin index ${repository} changed while updating it; reading it again`);
      continue;
    }
    // 3.
    try {
      await registry.pushManifest(repository, INDEX_TAG, manifest, MEDIA_TYPES.ociManifest, {
        current: before,
      });
    } catch (error) {
      if (isCliError(error, 'CC_E_CLI_PLUGIN_REGISTRY_ERROR') && error.details.status === 412) {
        options.log?.(`the plugin index ${repository} changed while updating it; reading it again`);
        continue;
      }
      throw error;
    }
    // 4.
    await sleep(settleMs + Math.round(Math.random() * settleMs));
    const after = await readPluginIndex(registry, namespace);
    if (after !== null && holds(after.index)) {
      return { repository, digest: after.digest, index: after.index, changed: true };
    }
    options.log?.(`another writer replaced the plugin index ${repository}; merging with it`);
  }
  throw new CliError(
    'CC_E_CLI_PLUGIN_INDEX_CONFLICT',
    `${registry.url}/${repository} kept changing while ${attempts} attempts to update it ran, so this change was not made (other writers' entries were left as they wrote them); run the command again`,
    { details: { registry: registry.url, repository, attempts } },
  );
}

async function currentDigest(reader: RegistryReader, repository: string): Promise<string | null> {
  try {
    return (await reader.getManifest(repository, INDEX_TAG)).digest;
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

function clone(index: PluginIndex): PluginIndex {
  return {
    schemaVersion: 1,
    plugins: Object.fromEntries(Object.entries(index.plugins).map(([k, v]) => [k, { ...v }])),
  };
}

/**
 * Where NAME's versions are: `explicit` (--repository) when given, else the index entry when the
 * namespace has an index that lists NAME, else `<namespace>/<name>` as without an index. With an
 * index that does not list NAME and nothing at `<namespace>/<name>`, it fails with the index's
 * close names (CC_E_CLI_PLUGIN_UNKNOWN_NAME). `index` is the namespace's index when the caller
 * read it already (undefined: read it here).
 */
export async function resolvePluginRepository(
  reader: RegistryReader,
  namespace: string,
  name: string,
  explicit?: string,
  index?: FetchedIndex | null,
): Promise<Resolution> {
  if (explicit !== undefined) return { name, repository: explicit, via: 'flag', index: null };
  const fetched = index === undefined ? await readPluginIndex(reader, namespace) : index;
  const entry = fetched?.index.plugins[name];
  if (entry !== undefined)
    return { name, repository: entry.repository, via: 'index', index: fetched ?? null };
  const repository = repositoryFor(namespace, name);
  if (fetched !== null && fetched !== undefined) {
    const tags = (await reader.listTags(repository)).filter((t) => semver.valid(t) !== null);
    if (tags.length === 0) throw unknownName(reader.url, fetched, name, repository);
  }
  return { name, repository, via: 'namespace', index: fetched ?? null };
}

/** NAME is in neither the index nor `<namespace>/<name>`: say so, with the close names. */
export function unknownName(
  url: string,
  fetched: FetchedIndex,
  name: string,
  fallback: string | undefined,
): CliError {
  const names = Object.keys(fetched.index.plugins);
  const close = closeNames(name, names);
  const where = `${url}/${fetched.repository}`;
  const notThere =
    fallback === undefined
      ? `the plugin index ${where} does not list ${name}`
      : `no plugin named ${name}: the plugin index ${where} does not list it and ${fallback} holds no versions`;
  return new CliError(
    'CC_E_CLI_PLUGIN_UNKNOWN_NAME',
    `${notThere}${close.length > 0 ? `; did you mean ${close.join(', ')}?` : ''}${
      // Removing a name that is not there needs no advice on adding it.
      fallback === undefined
        ? ''
        : `${close.length > 0 ? ' ' : '; '}\`cc plugin index add ${name} REPOSITORY\` adds it`
    }`,
    {
      hint: `\`cc plugin search\` lists the names in the index; --repository names a repository directly`,
      details: { plugin: name, index: where, suggestions: close },
    },
  );
}

/** Up to five of `names` close to `name`: within a small edit distance, or one containing the other. */
export function closeNames(name: string, names: string[]): string[] {
  const limit = Math.max(1, Math.min(3, Math.floor(name.length / 3)));
  return names
    .map((candidate) => ({ candidate, distance: editDistance(name, candidate) }))
    .filter(
      ({ candidate, distance }) =>
        distance <= limit || (name.length >= 3 && (candidate.includes(name) || name.includes(candidate))),
    )
    .sort((a, b) => a.distance - b.distance || a.candidate.localeCompare(b.candidate))
    .slice(0, 5)
    .map(({ candidate }) => candidate);
}

/** Optimal string alignment distance: Levenshtein plus adjacent transpositions (`gti` → `git` is 1). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i] as number[];
      const up = d[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min((up[j] as number) + 1, (row[j - 1] as number) + 1, (up[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1);
      }
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}
