/**
 * `cc plugin link|unlink`: a plugin under development, used by the host in place of the installed
 * versions of the same name. The host (core/plugins/discovery.ts) knows no linked source: it loads
 * every `<store>/<name>/<version>` (following symlinks), skips dot-named entries, and resolves a
 * name to its highest version. So a link is a symlink `<store>/<name>/<version>` → the package,
 * and the installed versions are renamed to `.shadowed-<version>` until unlink, so the link wins
 * whatever its version.
 */
import { lstat, mkdir, readdir, readlink, realpath, rename, rm, rmdir, symlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CliError } from '../errors/index.js';
import { readPackageManifest } from './pack.js';
import { withStoreLock } from './store-lock.js';

const kShadowPrefix = '.shadowed-';

export interface LinkResult {
  name: string;
  version: string;
  /** The package directory the link points to. */
  path: string;
  /** The store entry that is the link. */
  link: string;
  /** Installed versions hidden while the link stands (unlink brings them back). */
  shadowed: string[];
}

export interface UnlinkResult {
  name: string;
  version: string;
  path: string;
  restored: string[];
}

export async function linkPlugin(store: string, packageDir: string): Promise<LinkResult> {
  const path = await realpath(resolve(packageDir)).catch((error: unknown) => {
    throw new CliError('CC_E_CLI_PLUGIN_PACKAGE_INVALID', `${packageDir}: ${(error as Error).message}`, {
      cause: error,
    });
  });
  const manifest = await readPackageManifest(path);
  const { name, version } = manifest;
  return withStoreLock(store, async () => {
    const dir = join(store, name);
    // Relinking replaces the old link; the shadowed versions stay shadowed.
    for (const entry of await entries(dir)) if (entry.link) await rm(join(dir, entry.name));
    const shadowed: string[] = [];
    for (const entry of await entries(dir)) {
      if (entry.name.startsWith('.')) continue;
      await rename(join(dir, entry.name), join(dir, `${kShadowPrefix}${entry.name}`));
      shadowed.push(entry.name);
    }
    const link = join(dir, version);
    await mkdir(dir, { recursive: true });
    await symlink(path, link, 'dir');
    return { name, version, path, link, shadowed };
  });
}

export async function unlinkPlugin(store: string, name: string): Promise<UnlinkResult> {
  return withStoreLock(store, async () => {
    const dir = join(store, name);
    const all = await entries(dir);
    const links = all.filter((e) => e.link);
    if (links.length === 0) {
      throw new CliError(
        'CC_E_CLI_PLUGIN_NOT_LINKED',
        `${name} is not linked in ${store}; nothing was changed`,
        {
          details: { store, plugin: name },
        },
      );
    }
    const first = links[0] as { name: string };
    const path = await readlink(join(dir, first.name));
    for (const entry of links) await rm(join(dir, entry.name));
    const restored: string[] = [];
    for (const entry of all) {
      if (!entry.name.startsWith(kShadowPrefix)) continue;
      const version = entry.name.slice(kShadowPrefix.length);
      await rename(join(dir, entry.name), join(dir, version));
      restored.push(version);
    }
    if (restored.length === 0) await rmdir(dir).catch(() => undefined);
    return { name, version: first.name, path, restored };
  });
}

async function entries(dir: string): Promise<Array<{ name: string; link: boolean }>> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const result: Array<{ name: string; link: boolean }> = [];
  for (const name of names) result.push({ name, link: (await lstat(join(dir, name))).isSymbolicLink() });
  return result;
}

/** Whether `name` is linked (a symlink version, or installed versions shadowed by one). */
export async function isLinked(store: string, name: string): Promise<boolean> {
  return (await entries(join(store, name))).some((e) => e.link || e.name.startsWith(kShadowPrefix));
}
