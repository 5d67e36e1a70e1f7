import type { CallContext, resourceType } from '@conveyor/plugin-api';
import { localFailure } from './errors.js';
import { type Mirror, withMirror } from './mirror.js';
import { withGitSession } from './session.js';
import { asSource, type GitConfig, type GitSource, type GitVersion } from './types.js';
import { validateSource } from './validate.js';

/**
 * As Concourse's git resource: with a version still on the branch, the commits from it on
 * (oldest first, the given one included when it passes the filters); without one (or when the
 * branch no longer holds it, e.g. after a force push), the latest `version_depth` commits.
 * With tag_filter or tag_regex, the latest matching tags instead.
 */
export async function check(
  request: resourceType.CheckRequest,
  context: CallContext<GitConfig>,
): Promise<resourceType.CheckResponse> {
  const source = asSource(request.source);
  validateSource(source);
  const version = request.version as GitVersion | undefined;
  const tagsMode = source.tag_filter !== undefined || source.tag_regex !== undefined;
  return withGitSession(source, context.config, (git) =>
    withMirror(
      git,
      context.config,
      source,
      { allBranches: tagsMode && source.branch === undefined },
      async (mirror) => {
        try {
          const versions = tagsMode
            ? await checkTags(mirror, source, version)
            : await checkCommits(mirror, source, version);
          return { versions };
        } catch (error) {
          throw localFailure(error, `checking ${git.sanitize(source.uri)}`);
        }
      },
    ),
  );
}

async function checkCommits(
  mirror: Mirror,
  source: GitSource,
  version: GitVersion | undefined,
): Promise<GitVersion[]> {
  if (mirror.branch === undefined) return [];
  const branchRef = `refs/heads/${mirror.branch}`;
  const depth = source.version_depth ?? 1;
  const from = version?.ref ? await onBranch(mirror, version.ref, branchRef) : undefined;
  if (from === undefined) {
    const latest = await filteredCommits(mirror, source, [branchRef], depth);
    return latest.reverse().map((ref) => ({ ref }));
  }
  // Everything first-parent-reachable from the branch and not from the version's parents: the
  // version itself and what came after it.
  const parents = (await mirror.git(['rev-list', '--parents', '-n', '1', from])).stdout
    .trim()
    .split(' ')
    .slice(1);
  const range = [branchRef, ...(parents.length ? ['--not', ...parents] : [])];
  const commits = await filteredCommits(mirror, source, range, undefined);
  return commits.reverse().map((ref) => ({ ref }));
}

/** The version's commit when the branch still holds it, else undefined. */
async function onBranch(mirror: Mirror, ref: string, branchRef: string): Promise<string | undefined> {
  if (!/^[0-9a-f]{4,64}$/i.test(ref)) return undefined;
  const commit = await mirror.git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], {
    okExitCodes: [1],
  });
  const sha = commit.stdout.trim();
  if (!sha) return undefined;
  const ancestor = await mirror.git(['merge-base', '--is-ancestor', sha, branchRef], { okExitCodes: [1] });
  return ancestor.exitCode === 0 ? sha : undefined;
}

/**
 * Commits of a rev-list range (newest first) that pass the source's filters: paths and
 * ignore_paths, commit_filter, and [ci skip] / [skip ci] unless disable_ci_skip. `limit` keeps
 * the newest that many.
 */
async function filteredCommits(
  mirror: Mirror,
  source: GitSource,
  range: readonly string[],
  limit: number | undefined,
): Promise<string[]> {
  const stages = filterStages(source);
  const [first, ...rest] = stages;
  // With one stage, rev-list can stop after `limit` commits itself.
  const limitArgs = limit !== undefined && rest.length === 0 ? ['-n', String(limit)] : [];
  let commits = lines(
    (
      await mirror.git([
        'rev-list',
        '--first-parent',
        ...limitArgs,
        ...(first ?? []),
        ...range,
        ...pathspec(source),
      ])
    ).stdout,
  );
  for (const stage of rest) {
    if (commits.length === 0) break;
    commits = lines(
      (
        await mirror.git(['rev-list', '--stdin', '--no-walk=unsorted', '--first-parent', ...stage], {
          input: `${commits.join('\n')}\n`,
        })
      ).stdout,
    );
  }
  return limit === undefined ? commits : commits.slice(0, limit);
}

/** Commits among `candidates` that pass every filter, in the order given. */
async function passingFilters(
  mirror: Mirror,
  source: GitSource,
  candidates: readonly string[],
): Promise<Set<string>> {
  let commits = [...candidates];
  const stages = filterStages(source);
  const withPaths = pathspec(source);
  if (stages.length === 0 && withPaths.length === 0) return new Set(commits);
  for (const [i, stage] of (stages.length ? stages : [[]]).entries()) {
    if (commits.length === 0) break;
    commits = lines(
      (
        await mirror.git(
          [
            'rev-list',
            '--stdin',
            '--no-walk=unsorted',
            '--first-parent',
            ...stage,
            ...(i === 0 ? withPaths : []),
          ],
          { input: `${commits.join('\n')}\n` },
        )
      ).stdout,
    );
  }
  return new Set(commits);
}

/**
 * The message filters as rev-list options, one group per pass: git can invert all of one
 * command's --grep patterns or none, so include and exclude cannot share a pass.
 */
function filterStages(source: GitSource): string[][] {
  const stages: string[][] = [];
  const include = source.commit_filter?.include ?? [];
  const exclude = source.commit_filter?.exclude ?? [];
  if (include.length) {
    stages.push([
      ...include.map((p) => `--grep=${p}`),
      ...(source.commit_filter?.include_all_match ? ['--all-match'] : []),
    ]);
  }
  if (exclude.length) {
    stages.push([
      '--invert-grep',
      ...exclude.map((p) => `--grep=${p}`),
      ...(source.commit_filter?.exclude_all_match ? ['--all-match'] : []),
    ]);
  }
  if (!source.disable_ci_skip) {
    stages.push([
      '--invert-grep',
      '--extended-regexp',
      '--grep=\\[ci[[:space:]]skip\\]',
      '--grep=\\[skip[[:space:]]ci\\]',
    ]);
  }
  return stages;
}

function pathspec(source: GitSource): string[] {
  const paths = source.paths ?? [];
  const ignored = source.ignore_paths ?? [];
  if (!paths.length && !ignored.length) return [];
  return ['--', ...(paths.length ? paths : ['.']), ...ignored.map((path) => `:(exclude)${path}`)];
}

/**
 * Tags matching tag_filter (a glob) or tag_regex, oldest first by creation date: those merged
 * into the branch when one is set, from the given tag on; their commits must pass the filters.
 * As in Concourse, only the newest `version_depth` are returned.
 */
async function checkTags(
  mirror: Mirror,
  source: GitSource,
  version: GitVersion | undefined,
): Promise<GitVersion[]> {
  const branchArgs = source.branch !== undefined ? ['--merged', `refs/heads/${source.branch}`] : [];
  const glob = source.tag_filter !== undefined ? ['--', source.tag_filter] : [];
  let tags = lines(
    (await mirror.git(['tag', '--list', '--sort=creatordate', ...branchArgs, ...glob])).stdout,
  );
  if (source.tag_regex !== undefined) {
    const regex = new RegExp(`^(?:${source.tag_regex})$`);
    tags = tags.filter((tag) => regex.test(tag));
  }
  const from = version?.ref !== undefined ? tags.indexOf(version.ref) : -1;
  if (from >= 0) tags = tags.slice(from);
  if (tags.length === 0) return [];

  const commits = lines(
    (await mirror.git(['rev-parse', ...tags.map((tag) => `refs/tags/${tag}^{commit}`)])).stdout,
  );
  const passing = await passingFilters(mirror, source, [...new Set(commits)]);
  const versions = tags
    .map((ref, i) => ({ ref, commit: commits[i] ?? '' }))
    .filter((candidate) => passing.has(candidate.commit));
  return versions.slice(-(source.version_depth ?? 1));
}

function lines(text: string): string[] {
  return text.split('\n').filter((line) => line.length > 0);
}
