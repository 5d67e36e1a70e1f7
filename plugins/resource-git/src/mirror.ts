import { createHash } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { remoteFailure } from './errors.js';
import type { GitRunner, RunOptions, RunResult } from './git-command.js';
import { withLock } from './lock.js';
import type { GitConfig, GitSource } from './types.js';

/** A bare mirror of one repository in the cache, fetched up to date. */
export interface Mirror {
  readonly dir: string;
  /** The branch tracked (source.branch, or the remote's default); undefined for an empty repository. */
  readonly branch: string | undefined;
  /** Run git on the mirror. */
  git(args: readonly string[], options?: RunOptions): Promise<RunResult>;
}

export interface MirrorOptions {
  /** Fetch every branch, not only the tracked one (tags are looked for on any branch). */
  allBranches?: boolean;
}

export function cacheDirOf(config: GitConfig): string {
  return config.cacheDir ?? join(tmpdir(), 'conveyor-git-cache');
}

/**
 * Bring the source's mirror up to date and run `use` on it, holding its lock. One mirror per
 * URI serves every source of that repository: each call fetches first, so a source whose
 * credentials cannot read the repository never reads what another source fetched.
 */
export async function withMirror<T>(
  git: GitRunner,
  config: GitConfig,
  source: GitSource,
  options: MirrorOptions,
  use: (mirror: Mirror) => Promise<T>,
): Promise<T> {
  const cacheDir = cacheDirOf(config);
  await mkdir(cacheDir, { recursive: true, mode: 0o700 });
  const dir = join(cacheDir, `${createHash('sha256').update(source.uri).digest('hex').slice(0, 40)}.git`);
  const uri = git.sanitize(source.uri);

  return withLock(dir, async () => {
    await ensureBareRepository(git, dir);
    const branch = source.branch ?? (await defaultBranch(git, source.uri, uri));
    const refspecs = ['+refs/tags/*:refs/tags/*'];
    if (options.allBranches) refspecs.push('+refs/heads/*:refs/heads/*');
    else if (branch !== undefined) refspecs.push(`+refs/heads/${branch}:refs/heads/${branch}`);
    try {
      await git.run([
        '--git-dir',
        dir,
        'fetch',
        '--quiet',
        '--prune',
        '--no-tags',
        '--',
        source.uri,
        ...refspecs,
      ]);
    } catch (error) {
      throw remoteFailure(error, 'fetching from', uri);
    }
    // Clones of the mirror start on the tracked branch.
    if (branch !== undefined)
      await git.run(['--git-dir', dir, 'symbolic-ref', 'HEAD', `refs/heads/${branch}`]);
    return use({
      dir,
      branch,
      git: (args, runOptions) => git.run(['--git-dir', dir, ...args], runOptions),
    });
  });
}

/** Create the mirror if it is missing or was left half made. */
async function ensureBareRepository(git: GitRunner, dir: string): Promise<void> {
  const valid = await git
    .run(['--git-dir', dir, 'rev-parse', '--is-bare-repository'])
    .then((result) => result.stdout.trim() === 'true')
    .catch(() => false);
  if (valid) return;
  await rm(dir, { recursive: true, force: true });
  // Built aside and renamed into place, so a crash never leaves a half-made mirror under the name.
  const building = `${dir}.new-${process.pid}`;
  await rm(building, { recursive: true, force: true });
  await git.run(['init', '--quiet', '--bare', building]);
  // A shallow get asks the mirror for an exact commit, which upload-pack refuses by default.
  await git.run(['--git-dir', building, 'config', 'uploadpack.allowAnySHA1InWant', 'true']);
  await git.run(['--git-dir', building, 'config', 'core.logAllRefUpdates', 'false']);
  await rename(building, dir);
}

/** The branch the remote's HEAD names, or undefined when the repository has no commits yet. */
async function defaultBranch(git: GitRunner, uri: string, shownUri: string): Promise<string | undefined> {
  let output: string;
  try {
    output = (await git.run(['ls-remote', '--symref', '--', uri, 'HEAD'])).stdout;
  } catch (error) {
    throw remoteFailure(error, 'listing the branches of', shownUri);
  }
  // An empty repository may still name its unborn branch: without a commit there is no branch.
  if (!/^[0-9a-f]{40,64}\tHEAD$/m.test(output)) return undefined;
  return /^ref: refs\/heads\/(\S+)\tHEAD$/m.exec(output)?.[1];
}
