import { access, chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { VolumeRef } from '@conveyor/plugin-api';
import { loadPluginForTest, type PluginUnderTest } from '@conveyor/plugin-api/testing';
import {
  type GitDaemon,
  git,
  isolatedGitEnv,
  startGitDaemon,
  type TestRepo,
} from '@conveyor/test/harness/git-daemon.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
let daemon: GitDaemon;
let scratch: string;
let plugin: PluginUnderTest<'resource-type'>;
let counter = 0;

beforeAll(async () => {
  daemon = await startGitDaemon();
  scratch = await mkdtemp(join(tmpdir(), 'git-put-test-'));
  plugin = await loadPluginForTest<'resource-type'>(packageDir, { cacheDir: join(scratch, 'cache') });
});

afterAll(async () => {
  await daemon?.stop();
  await rm(scratch, { recursive: true, force: true });
});

/** A put's directory holding `repo`, a clone of the repository in which a task made a commit. */
async function buildWithCommit(
  repo: TestRepo,
  files: Record<string, string> = { [`change-${counter + 1}.txt`]: 'change\n' },
  message = 'a change from the build',
): Promise<{ ref: VolumeRef; path: string; clone: string; commit: string }> {
  const path = join(scratch, `put-${++counter}`);
  const clone = join(path, 'repo');
  await mkdir(path);
  await git(['clone', '--quiet', repo.url, clone]);
  for (const [file, content] of Object.entries(files)) await writeFile(join(clone, file), content);
  const env = isolatedGitEnv({
    GIT_AUTHOR_NAME: 'Build',
    GIT_AUTHOR_EMAIL: 'build@example.com',
    GIT_COMMITTER_NAME: 'Build',
    GIT_COMMITTER_EMAIL: 'build@example.com',
  });
  await git(['add', '--all'], { cwd: clone, env });
  await git(['commit', '--quiet', '-m', message], { cwd: clone, env });
  const commit = (await git(['rev-parse', 'HEAD'], { cwd: clone })).trim();
  return {
    ref: { handle: `v-${counter}`, driver: 'naive', location: { type: 'host-path', path } },
    path,
    clone,
    commit,
  };
}

const parentsOf = async (repo: TestRepo, ref: string) =>
  (await repo.git('rev-list', '--parents', '-n', '1', ref)).trim().split(' ').slice(1);
const fileAt = (repo: TestRepo, ref: string, path: string) => repo.git('show', `${ref}:${path}`);

describe('git put', () => {
  it('pushes the repository to the branch and returns the pushed commit', async () => {
    const repo = await daemon.createRepo('push');
    await repo.commit();
    const build = await buildWithCommit(repo);
    const { value, output } = await plugin.call('put', {
      source: { uri: repo.url, branch: 'main' },
      params: { repository: 'repo' },
      directory: build.ref,
    });
    expect(value.version).toEqual({ ref: build.commit });
    expect(await repo.revParse('refs/heads/main')).toBe(build.commit);
    expect(value.metadata).toContainEqual({ name: 'commit', value: build.commit });
    expect(value.metadata).toContainEqual({ name: 'branch', value: 'main' });
    expect(output.map((o) => o.data).join('')).toContain(`pushing to ${repo.url} main`);

    // The pushed commit is what the next check finds.
    const { value: checked } = await plugin.call('check', { source: { uri: repo.url, branch: 'main' } });
    expect(checked.versions).toEqual([{ ref: build.commit }]);
  });

  it('is rejected with a clear error when the branch moved on, and rebases with rebase: true', async () => {
    const repo = await daemon.createRepo('moved-on');
    await repo.commit();
    const build = await buildWithCommit(repo, { 'from-build.txt': 'build\n' });
    const upstream = await repo.commit({ files: { 'from-upstream.txt': 'upstream\n' } });

    await expect(
      plugin.call('put', {
        source: { uri: repo.url, branch: 'main' },
        params: { repository: 'repo' },
        directory: build.ref,
      }),
    ).rejects.toMatchObject({
      code: 'GIT_PUSH_REJECTED',
      message: expect.stringContaining('set rebase: true or merge: true to integrate them, or force: true'),
    });
    expect(await repo.revParse('refs/heads/main')).toBe(upstream);

    const { value } = await plugin.call('put', {
      source: { uri: repo.url, branch: 'main' },
      params: { repository: 'repo', rebase: true },
      directory: build.ref,
    });
    const tip = await repo.revParse('refs/heads/main');
    expect(value.version).toEqual({ ref: tip });
    expect(tip).not.toBe(build.commit);
    expect(await parentsOf(repo, tip)).toEqual([upstream]);
    expect(await fileAt(repo, tip, 'from-build.txt')).toBe('build\n');
    expect(await repo.git('log', '-1', '--format=%s%n%ae', tip)).toBe(
      'a change from the build\nbuild@example.com\n',
    );
  });

  it('merges with merge: true, returning the merge commit or, when asked, the unmerged one', async () => {
    const repo = await daemon.createRepo('merge');
    await repo.commit();
    const build = await buildWithCommit(repo, { 'from-build.txt': 'build\n' });
    const upstream = await repo.commit({ files: { 'from-upstream.txt': 'upstream\n' } });
    const { value } = await plugin.call('put', {
      source: { uri: repo.url, branch: 'main' },
      params: { repository: 'repo', merge: true },
      directory: build.ref,
    });
    const tip = await repo.revParse('refs/heads/main');
    expect(value.version).toEqual({ ref: tip });
    expect(await parentsOf(repo, tip)).toEqual([build.commit, upstream]);

    const again = await buildWithCommit(repo, { 'second.txt': 'x\n' });
    await repo.commit({ files: { 'upstream-2.txt': 'y\n' } });
    const unmerged = await plugin.call('put', {
      source: { uri: repo.url, branch: 'main' },
      params: { repository: 'repo', merge: true, returning: 'unmerged' },
      directory: again.ref,
    });
    expect(unmerged.value.version).toEqual({ ref: again.commit });
    expect((await parentsOf(repo, 'refs/heads/main'))[0]).toBe(again.commit);
  });

  it('fails on a rebase conflict, naming the file, and leaves the branch alone', async () => {
    const repo = await daemon.createRepo('conflict');
    await repo.commit({ files: { 'shared.txt': 'base\n' } });
    const build = await buildWithCommit(repo, { 'shared.txt': 'from the build\n' });
    const upstream = await repo.commit({ files: { 'shared.txt': 'from upstream\n' } });
    await expect(
      plugin.call('put', {
        source: { uri: repo.url, branch: 'main' },
        params: { repository: 'repo', rebase: true },
        directory: build.ref,
      }),
    ).rejects.toMatchObject({ code: 'GIT_REBASE_CONFLICT', message: expect.stringContaining('shared.txt') });
    expect(await repo.revParse('refs/heads/main')).toBe(upstream);
  });

  it('overwrites the branch with force: true', async () => {
    const repo = await daemon.createRepo('force');
    await repo.commit();
    const build = await buildWithCommit(repo);
    await repo.commit();
    await plugin.call('put', {
      source: { uri: repo.url, branch: 'main' },
      params: { repository: 'repo', force: true },
      directory: build.ref,
    });
    expect(await repo.revParse('refs/heads/main')).toBe(build.commit);
  });

  it('tags HEAD with the name in the tag file, prefixed, annotated from a file', async () => {
    const repo = await daemon.createRepo('tagging');
    await repo.commit();
    const build = await buildWithCommit(repo);
    await writeFile(join(build.path, 'version'), '1.2.3\n');
    await writeFile(join(build.path, 'notes'), 'Release 1.2.3\n');
    await plugin.call('put', {
      source: { uri: repo.url, branch: 'main' },
      params: { repository: 'repo', tag: 'version', tag_prefix: 'v', annotate: 'notes' },
      directory: build.ref,
    });
    expect(await repo.revParse('refs/tags/v1.2.3^{commit}')).toBe(build.commit);
    expect(await repo.git('cat-file', '-t', 'refs/tags/v1.2.3')).toBe('tag\n');
    expect(await repo.git('tag', '-l', '--format=%(contents)', 'v1.2.3')).toBe('Release 1.2.3\n\n');
  });

  it('pushes only the tags with only_tag, leaving the branch alone', async () => {
    const repo = await daemon.createRepo('only-tag');
    const base = await repo.commit();
    const build = await buildWithCommit(repo);
    await writeFile(join(build.path, 'version'), 'rc1');
    const { value } = await plugin.call('put', {
      source: { uri: repo.url },
      params: { repository: 'repo', tag: 'version', only_tag: true },
      directory: build.ref,
    });
    expect(value.version).toEqual({ ref: build.commit });
    expect(await repo.revParse('refs/tags/rc1')).toBe(build.commit);
    expect(await repo.revParse('refs/heads/main')).toBe(base);
  });

  it('pushes to params.branch, and says so in the version', async () => {
    const repo = await daemon.createRepo('other-branch');
    await repo.commit();
    const build = await buildWithCommit(repo);
    const { value } = await plugin.call('put', {
      source: { uri: repo.url, branch: 'main' },
      params: { repository: 'repo', branch: 'release/1.x', rebase: true },
      directory: build.ref,
    });
    expect(value.version).toEqual({ branch: 'release/1.x', ref: build.commit });
    expect(await repo.revParse('refs/heads/release/1.x')).toBe(build.commit);
  });

  it("never runs the build repository's hooks or configured programs", async () => {
    const repo = await daemon.createRepo('hooks');
    await repo.commit();
    const build = await buildWithCommit(repo);
    const marker = join(scratch, `hook-ran-${counter}`);
    const hook = join(build.clone, '.git', 'hooks', 'pre-push');
    await writeFile(hook, `#!/bin/sh\ntouch ${marker}\n`);
    await chmod(hook, 0o755);
    await git(['config', 'core.fsmonitor', `touch ${marker}`], { cwd: build.clone });
    await plugin.call('put', {
      source: { uri: repo.url, branch: 'main' },
      params: { repository: 'repo', rebase: true },
      directory: build.ref,
    });
    expect(await repo.revParse('refs/heads/main')).toBe(build.commit);
    await expect(access(marker)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('says what is wrong with its params', async () => {
    const repo = await daemon.createRepo('params');
    await repo.commit();
    const build = await buildWithCommit(repo);
    await mkdir(join(build.path, 'not-a-repo'));
    const put = (source: Record<string, unknown>, params: Record<string, unknown>) =>
      plugin.call('put', {
        source: { uri: repo.url, ...source },
        params: { repository: 'repo', ...params },
        directory: build.ref,
      });
    await expect(put({}, {})).rejects.toMatchObject({
      code: 'GIT_BAD_PARAMS',
      message: expect.stringContaining('params.branch'),
    });
    await expect(put({ branch: 'main' }, { rebase: true, merge: true })).rejects.toMatchObject({
      code: 'GIT_BAD_PARAMS',
    });
    await expect(put({ branch: 'main' }, { repository: 'missing' })).rejects.toMatchObject({
      code: 'GIT_BAD_PARAMS',
    });
    await expect(put({ branch: 'main' }, { repository: '../..' })).rejects.toMatchObject({
      code: 'GIT_PATH_ESCAPES',
    });
    await expect(put({ branch: 'main' }, { repository: 'not-a-repo' })).rejects.toMatchObject({
      code: 'GIT_NOT_A_REPOSITORY',
    });
    await expect(put({ branch: 'main' }, { tag: 'no-such-file' })).rejects.toMatchObject({
      code: 'GIT_BAD_PARAMS',
    });
    await expect(
      plugin.call('put', { source: { uri: repo.url }, directory: build.ref }),
    ).rejects.toMatchObject({
      code: 'CONFORMANCE_BAD_REQUEST',
    });
  });
});
