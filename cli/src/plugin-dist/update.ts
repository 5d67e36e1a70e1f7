/**
 * `cc plugin update`'s engine: re-resolve each lock entry against its registry within the range it
 * was installed with, install the newest match with every check `cc plugin install` makes, and
 * replace the old version in the store and the lock file. The lock records the repository, not
 * the namespace, so there is no index to consult, except on a mirror given with --registry.
 */
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import semver from 'semver';
import { CliError } from '../errors/index.js';
import { type InstallContext, installCandidate, type LockSource, resolvePlugin } from './install.js';
import { isLinked } from './link.js';
import { type LockEntry, readLockFile, writeLockFile } from './lock-file.js';
import { resolvePluginRepository } from './plugin-index.js';
import { withStoreLock } from './store-lock.js';

export interface UpdateResult {
  name: string;
  /** The version installed before. */
  from: string;
  /** The version installed now (equal to `from` when nothing newer fits the range). */
  to: string;
  range: string;
  digest: string;
  registry: string;
  repository: string;
  signedBy: string | null;
  /** Whether anything changed: `updated`, `current` (already the newest in range), `linked` (left alone). */
  status: 'updated' | 'current' | 'linked';
}

/** Updates `name` (every lock entry of it), or every plugin in the lock when `name` is undefined. */
export async function updatePlugins(
  context: InstallContext,
  name: string | undefined,
  sourceFor: (entry: LockEntry) => LockSource,
): Promise<UpdateResult[]> {
  const lock = await readLockFile(context.lockFile);
  const entries = lock.plugins.filter((e) => name === undefined || e.name === name);
  if (name !== undefined && entries.length === 0) {
    throw new CliError(
      'CC_E_CLI_PLUGIN_NOT_INSTALLED',
      `${context.lockFile} has no entry for ${name}; install it first with \`cc plugin install ${name}@RANGE\``,
      { details: { lockFile: context.lockFile, plugin: name } },
    );
  }
  const results: UpdateResult[] = [];
  for (const entry of entries) {
    const range = entry.range ?? `^${semver.major(entry.version)}`;
    const base = {
      name: entry.name,
      from: entry.version,
      range,
      registry: entry.registry,
      repository: entry.repository,
    };
    // A link (cc plugin link) hides the installed versions; updating under it would unhide one.
    if (await isLinked(context.store, entry.name)) {
      context.log(
        `${entry.name} is linked to a local package; not updating it (cc plugin unlink ${entry.name} first)`,
      );
      results.push({ ...base, to: entry.version, digest: entry.digest, signedBy: null, status: 'linked' });
      continue;
    }
    const { client, mirrorNamespace } = sourceFor(entry);
    const target = { client, repository: entry.repository };
    if (mirrorNamespace !== undefined) {
      // A mirror holds the plugin in its own namespace (`cc plugin mirror`): found by name there
      // (its index, then <namespace>/<name>) when the repository the lock records is not in it.
      const tags = (await client.listTags(entry.repository)).filter((t) => semver.valid(t) !== null);
      if (tags.length === 0) {
        const resolved = await resolvePluginRepository(client, mirrorNamespace, entry.name);
        target.repository = resolved.repository;
      }
    }
    const chosen = await resolvePlugin(context, target, entry.name, range);
    results.push(
      await withStoreLock(context.store, async () => {
        const current = chosen.manifest.digest === entry.digest && chosen.config.version === entry.version;
        if (current) {
          context.log(`${entry.name}@${entry.version} is the newest version within ${range}`);
          await replaceEntry(context.lockFile, entry, { ...entry, range });
          return {
            ...base,
            to: entry.version,
            digest: entry.digest,
            signedBy: null,
            status: 'current' as const,
          };
        }
        const installed = await installCandidate(context, target, chosen, {
          registry: entry.registry,
          repository: entry.repository,
          range,
        });
        if (installed.version !== entry.version) {
          // Out of discovery's sight with one rename first, as `cc plugin remove` does.
          const old = join(context.store, entry.name, entry.version);
          const trash = join(context.store, `.update-${entry.name}-${entry.version}-${process.pid}`);
          await rename(old, trash).catch(() => undefined);
          await rm(trash, { recursive: true, force: true });
          await replaceEntry(context.lockFile, entry, undefined);
        }
        context.log(`updated ${entry.name} ${entry.version} → ${installed.version}`);
        return {
          ...base,
          to: installed.version,
          digest: installed.digest,
          signedBy: installed.signedBy,
          status: 'updated' as const,
        };
      }),
    );
  }
  return results;
}

/** Rewrites the lock with `entry` replaced by `next` (or dropped), re-read to keep other changes. */
async function replaceEntry(file: string, entry: LockEntry, next: LockEntry | undefined): Promise<void> {
  const lock = await readLockFile(file);
  const others = lock.plugins.filter((e) => !(e.name === entry.name && e.version === entry.version));
  await writeLockFile(file, { lockfileVersion: 1, plugins: next === undefined ? others : [...others, next] });
}
