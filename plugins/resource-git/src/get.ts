import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type CallContext, PluginError, type resourceType } from '@conveyor/plugin-api';
import { hostDirectory } from './directory.js';
import { localFailure, remoteFailure } from './errors.js';
import type { GitRunner } from './git-command.js';
import { commitMetadata } from './metadata.js';
import { withMirror } from './mirror.js';
import { withGitSession } from './session.js';
import { asParams, asSource, type GitConfig, type GitGetParams, type GitVersion } from './types.js';
import { validateSource } from './validate.js';

/**
 * Clone the repository into the directory with the version's commit checked out (a detached
 * HEAD, the tracked branch beside it), and write the files Concourse's git resource writes:
 * .git/ref, .git/short_ref, .git/commit_message and .git/committer. The clone comes from the
 * cache's mirror, so only what is new crosses the network; origin is the source's uri.
 */
export async function get(
  request: resourceType.GetRequest,
  context: CallContext<GitConfig>,
): Promise<resourceType.GetResponse> {
  const source = asSource(request.source);
  validateSource(source);
  const params = asParams<GitGetParams>(request.params);
  const version = request.version as unknown as GitVersion;
  if (!version.ref || version.ref.startsWith('-')) {
    throw new PluginError('GIT_BAD_VERSION', `version ${JSON.stringify(version)} names no commit or tag`);
  }
  const dir = hostDirectory(request.directory);
  if ((await readdir(dir)).length) {
    throw new PluginError(
      'GIT_DIRECTORY_NOT_EMPTY',
      `the get's directory ${dir} is not empty: git clones into an empty directory`,
    );
  }
  const depth = params.depth ?? 0;
  const fetchTags = params.fetch_tags ?? source.fetch_tags;
  const tagsMode = source.tag_filter !== undefined || source.tag_regex !== undefined;
  const progress = (text: string) => context.output('stderr', text);

  return withGitSession(source, context.config, async (git) => {
    const uri = git.sanitize(source.uri);
    const inDir = (args: string[]) => git.run(args, { cwd: dir });

    const commit = await withMirror(
      git,
      context.config,
      source,
      { allBranches: tagsMode && source.branch === undefined },
      async (mirror) => {
        const resolved = await mirror.git(['rev-parse', '--verify', '--quiet', `${version.ref}^{commit}`], {
          okExitCodes: [1],
        });
        const sha = resolved.stdout.trim();
        if (!sha) {
          throw new PluginError(
            'GIT_REF_NOT_FOUND',
            `version ${version.ref} is not in ${uri}${mirror.branch ? ` (branch ${mirror.branch})` : ''}: it was deleted or force-pushed away; check the resource again to find its current versions`,
          );
        }
        const args = ['clone', ...(mirror.branch ? ['--branch', mirror.branch, '--single-branch'] : [])];
        if (fetchTags === false) args.push('--no-tags');
        // Through file://, not the local-path shortcut: git then sends only what the branch
        // needs (and the tags that point into it, as a network clone has them), honours --depth,
        // and shares no object files between the cache and a volume a task may write to.
        args.push(...(depth > 0 ? ['--depth', String(depth)] : []), `file://${mirror.dir}`, dir);
        try {
          await git.run(args, { onStderr: progress });
        } catch (error) {
          throw localFailure(error, `cloning ${uri} from the cache`);
        }
        try {
          // The version may lie deeper than a shallow clone of the branch reaches, or off it.
          const present = await inDir(['cat-file', '-e', `${sha}^{commit}`]).then(
            () => true,
            () => false,
          );
          if (!present)
            await inDir([
              'fetch',
              '--quiet',
              ...(depth > 0 ? ['--depth', String(depth)] : []),
              'origin',
              sha,
            ]);
          if (fetchTags === true) {
            await inDir([
              'fetch',
              '--quiet',
              ...(depth > 0 ? ['--depth', String(depth)] : []),
              'origin',
              '+refs/tags/*:refs/tags/*',
            ]);
          }
        } catch (error) {
          throw localFailure(error, `fetching ${version.ref} of ${uri} from the cache`);
        }
        return sha;
      },
    );

    try {
      await inDir(['checkout', '--quiet', commit]);
      await inDir(['remote', 'set-url', 'origin', source.uri]);
    } catch (error) {
      throw localFailure(error, `checking out ${version.ref}`);
    }
    await updateSubmodules(git, dir, params, depth, uri, progress);

    const oneline = (await inDir(['log', '-1', '--oneline'])).stdout;
    progress(oneline);
    const gitDir = join(dir, '.git');
    const shortRef = formatShortRef(params.short_ref_format ?? '%s', version.ref.slice(0, 7));
    await writeFile(join(gitDir, 'ref'), `${version.ref}\n`);
    await writeFile(join(gitDir, 'short_ref'), shortRef);
    // The author's address, as in Concourse: where to send word of a failed build.
    await writeFile(join(gitDir, 'committer'), (await inDir(['log', '-1', '--format=format:%ae'])).stdout);
    await writeFile(
      join(gitDir, 'commit_message'),
      (await inDir(['log', '-1', '--format=format:%B'])).stdout,
    );

    const metadata = await commitMetadata(git, dir, source.uri);
    if (params.clean_tags) {
      const tags = (await inDir(['tag', '--list'])).stdout.split('\n').filter(Boolean);
      if (tags.length) await inDir(['tag', '--delete', ...tags]);
    }
    return { version: { ...version }, metadata };
  });
}

async function updateSubmodules(
  git: GitRunner,
  dir: string,
  params: GitGetParams,
  depth: number,
  uri: string,
  progress: (text: string) => void,
): Promise<void> {
  const submodules = params.submodules ?? 'all';
  if (submodules === 'none') return;
  const listed = await git
    .run(['config', '--file', '.gitmodules', '--get-regexp', '^submodule\\..*\\.path$'], {
      cwd: dir,
      okExitCodes: [1],
    })
    .catch(() => undefined);
  if (!listed?.stdout.trim()) return;
  const args = ['submodule', 'update', '--init'];
  if (params.submodule_recursive !== false) args.push('--recursive');
  if (params.submodule_remote) args.push('--remote');
  if (depth > 0) args.push('--depth', String(depth));
  args.push('--', ...(Array.isArray(submodules) ? submodules : []));
  try {
    await git.run(args, { cwd: dir, onStderr: progress });
  } catch (error) {
    throw remoteFailure(error, 'fetching the submodules of', uri);
  }
}

/** `%s` takes the short ref once, as printf would with one argument; `%%` is a percent sign. */
function formatShortRef(format: string, shortRef: string): string {
  let used = false;
  return format.replace(/%[s%]/g, (directive) => {
    if (directive === '%%') return '%';
    if (used) return '';
    used = true;
    return shortRef;
  });
}
