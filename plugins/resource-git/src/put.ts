import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CallContext, PluginError, type resourceType } from '@conveyor/plugin-api';
import { hostDirectory, pathInside } from './directory.js';
import { remoteFailure } from './errors.js';
import { GitCommandError, type GitRunner } from './git-command.js';
import { commitMetadata } from './metadata.js';
import { withGitSession } from './session.js';
import { asParams, asSource, type GitConfig, type GitPutParams, type GitVersion } from './types.js';
import { validateBranch, validateSource } from './validate.js';

/** How often rebase or merge is retried while others keep pushing to the branch. */
const MAX_ATTEMPTS = 10;

type PushOutcome = { ok: true } | { ok: false; behind: boolean; reason: string };

/**
 * Push the repository params.repository names to the source's branch (or params.branch), with
 * its tags and the tag params ask for, rebasing or merging onto what others pushed meanwhile
 * when told to. The version is the commit pushed.
 *
 * The work happens in a scratch repository of the resource's own, fetched from the build's
 * repository: that repository's git config and hooks were written by a task, and git runs here
 * on the Conveyor host, not in the task's container.
 */
export async function put(
  request: resourceType.PutRequest,
  context: CallContext<GitConfig>,
): Promise<resourceType.PutResponse> {
  const source = asSource(request.source);
  validateSource(source);
  const params = asParams<GitPutParams>(request.params);
  if (params.branch !== undefined) validateBranch(params.branch, 'params.branch');
  const branch = params.branch ?? source.branch;
  if (branch === undefined && !params.only_tag) {
    throw badParams('a put needs a branch to push to: set source.branch, or params.branch');
  }
  if (params.merge && params.rebase) throw badParams('give params.rebase or params.merge, not both');

  const dir = hostDirectory(request.directory);
  const repository = await pathInside(dir, params.repository, 'params.repository');
  let tagName: string | undefined;
  if (params.tag !== undefined) {
    const name = (await readFile(await pathInside(dir, params.tag, 'params.tag'), 'utf8')).trim();
    if (!name)
      throw badParams(`the tag file ${JSON.stringify(params.tag)} is empty: it must hold the tag's name`);
    tagName = `${params.tag_prefix ?? ''}${name}`;
  }
  const annotation =
    params.annotate === undefined ? undefined : await pathInside(dir, params.annotate, 'params.annotate');
  const say = (line: string) => context.output('stderr', `${line}\n`);
  const progress = (text: string) => context.output('stderr', text);

  return withGitSession(source, context.config, async (git) => {
    const uri = git.sanitize(source.uri);
    const work = await mkdtemp(join(tmpdir(), 'conveyor-git-put-'));
    const inWork = (args: string[], options: { onStderr?: (text: string) => void } = {}) =>
      git.run(args, { cwd: work, ...options });
    try {
      await inWork(['init', '--quiet']);
      try {
        await inWork([
          'fetch',
          '--quiet',
          '--no-tags',
          '--',
          `file://${repository}`,
          '+HEAD:refs/conveyor/put',
          '+refs/tags/*:refs/tags/*',
        ]);
      } catch (error) {
        throw new PluginError(
          'GIT_NOT_A_REPOSITORY',
          `params.repository ${JSON.stringify(params.repository)} is not a git repository with a commit checked out: name the directory of a get of a git resource, or of a task that made commits`,
          { cause: error },
        );
      }
      const commitToPush = (await inWork(['rev-parse', 'refs/conveyor/put'])).stdout.trim();
      await inWork(['checkout', '--quiet', '--detach', commitToPush]);

      const tag = async () => {
        if (tagName === undefined) return;
        const valid = await git.run(['check-ref-format', `refs/tags/${tagName}`], { okExitCodes: [1] });
        if (valid.exitCode !== 0) throw badParams(`${JSON.stringify(tagName)} is not a valid tag name`);
        await inWork([
          'tag',
          '--force',
          ...(annotation ? ['--annotate', '--file', annotation] : []),
          '--',
          tagName,
        ]);
      };
      const push = (refspecs: string[]) =>
        pushTo(git, work, source.uri, refspecs, params.force === true, progress);

      if (params.only_tag) {
        await tag();
        say(`pushing tags to ${uri}`);
        const outcome = await push([]);
        if (!outcome.ok) throw rejected(uri, outcome.reason, 'tags');
      } else if (params.rebase || params.merge) {
        const strategy = params.rebase ? 'rebase' : 'merge';
        for (let attempt = 1; ; attempt++) {
          if (params.merge) await inWork(['checkout', '--quiet', '--force', '--detach', commitToPush]);
          const upstream = await fetchBranch(git, work, source.uri, branch ?? '', uri);
          if (upstream !== undefined) await integrate(git, work, strategy, upstream, branch ?? '', uri, say);
          await tag();
          say(`pushing to ${uri} ${branch}`);
          const outcome = await push([`HEAD:refs/heads/${branch}`]);
          if (outcome.ok) break;
          if (!outcome.behind) throw rejected(uri, outcome.reason, branch);
          if (attempt >= MAX_ATTEMPTS) {
            throw new PluginError(
              'GIT_PUSH_REJECTED',
              `push to ${uri} ${branch} was still rejected after ${MAX_ATTEMPTS} ${strategy}s: others keep pushing to the branch; try again later`,
            );
          }
          say(`the branch moved on; ${strategy === 'rebase' ? 'rebasing' : 'merging'} and trying again`);
        }
      } else {
        await tag();
        say(`pushing to ${uri} ${branch}`);
        const outcome = await push([`HEAD:refs/heads/${branch}`]);
        if (!outcome.ok) throw rejected(uri, outcome.reason, branch, outcome.behind);
      }

      const head = (await inWork(['rev-parse', 'HEAD'])).stdout.trim();
      const ref = params.merge && params.returning === 'unmerged' ? commitToPush : head;
      if (branch !== undefined) await inWork(['branch', '--force', '--', branch, head]);
      const metadata = await commitMetadata(git, work, source.uri);
      const version: GitVersion = params.branch !== undefined ? { branch: params.branch, ref } : { ref };
      return { version, metadata };
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
}

/** The branch's current commit upstream, fetched into the scratch repository, or undefined if new. */
async function fetchBranch(
  git: GitRunner,
  work: string,
  uri: string,
  branch: string,
  shownUri: string,
): Promise<string | undefined> {
  try {
    await git.run(
      ['fetch', '--quiet', '--no-tags', '--', uri, `+refs/heads/${branch}:refs/conveyor/upstream`],
      {
        cwd: work,
      },
    );
  } catch (error) {
    const failure = remoteFailure(error, 'fetching from', shownUri);
    // Pushing a branch the remote does not have yet: nothing to integrate.
    if (failure.code === 'GIT_BRANCH_NOT_FOUND') return undefined;
    throw failure;
  }
  return (await git.run(['rev-parse', 'refs/conveyor/upstream'], { cwd: work })).stdout.trim();
}

/** Rebase onto, or merge in, the branch as it is upstream; a conflict is the build's to resolve. */
async function integrate(
  git: GitRunner,
  work: string,
  strategy: 'rebase' | 'merge',
  upstream: string,
  branch: string,
  uri: string,
  say: (line: string) => void,
): Promise<void> {
  say(strategy === 'rebase' ? `rebasing onto ${uri} ${branch}` : `merging ${uri} ${branch}`);
  const args =
    strategy === 'rebase' ? ['rebase', '--rebase-merges', upstream] : ['merge', '--no-edit', upstream];
  try {
    await git.run(args, { cwd: work });
  } catch (error) {
    const conflicts = await git
      .run(['diff', '--name-only', '--diff-filter=U'], { cwd: work })
      .then((result) => result.stdout.trim().split('\n').filter(Boolean))
      .catch(() => []);
    await git.run([strategy, '--abort'], { cwd: work }).catch(() => {});
    throw new PluginError(
      strategy === 'rebase' ? 'GIT_REBASE_CONFLICT' : 'GIT_MERGE_CONFLICT',
      `cannot ${strategy} onto ${uri} ${branch}${conflicts.length ? ` (conflicts in ${conflicts.join(', ')})` : ''}: ${error instanceof GitCommandError ? lastLine(error.stdout || error.stderr) : String(error)}; resolve the conflict in the build's repository (or pull before committing) and put again`,
      { cause: error },
    );
  }
}

/** Push with --porcelain, so git says per ref whether and why it was rejected. */
async function pushTo(
  git: GitRunner,
  work: string,
  uri: string,
  refspecs: string[],
  force: boolean,
  progress: (text: string) => void,
): Promise<PushOutcome> {
  try {
    await git.run(['push', '--porcelain', '--tags', ...(force ? ['--force'] : []), '--', uri, ...refspecs], {
      cwd: work,
      onStderr: progress,
    });
    return { ok: true };
  } catch (error) {
    if (!(error instanceof GitCommandError)) throw error;
    const refused = error.stdout
      .split('\n')
      .filter((line) => line.startsWith('!\t'))
      .map((line) => line.split('\t'));
    if (refused.length === 0) throw remoteFailure(error, 'pushing to', git.sanitize(uri));
    // "[rejected] (fetch first)" and "(non-fast-forward)": the branch has commits we lack.
    const behind = refused.some(
      ([, refs = '', summary = '']) =>
        refs.includes(':refs/heads/') &&
        /\[rejected\].*(fetch first|non-fast-forward)|\[remote rejected\].*cannot lock ref/.test(summary),
    );
    const reason = refused
      .map(([, refs = '', summary = '']) => `${refs.split(':')[1] ?? refs} ${summary}`)
      .join('; ');
    return { ok: false, behind, reason };
  }
}

function rejected(uri: string, reason: string, what: string | undefined, behind = false): PluginError {
  const hint = behind
    ? `${what} has commits the pushed repository does not: set rebase: true or merge: true to integrate them, or force: true to overwrite them`
    : 'the server refused the push (a protected branch, a hook, or a tag that already exists?)';
  return new PluginError('GIT_PUSH_REJECTED', `push to ${uri} was rejected (${reason}): ${hint}`);
}

function badParams(message: string): PluginError {
  return new PluginError('GIT_BAD_PARAMS', `invalid params: ${message}`);
}

function lastLine(text: string): string {
  return text.trim().split('\n').slice(-1)[0] ?? '';
}
