import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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
  scratch = await mkdtemp(join(tmpdir(), 'git-get-test-'));
  plugin = await loadPluginForTest<'resource-type'>(packageDir, { cacheDir: join(scratch, 'cache') });
});

afterAll(async () => {
  await daemon?.stop();
  await rm(scratch, { recursive: true, force: true });
});

async function directory(): Promise<{ ref: VolumeRef; path: string }> {
  const path = join(scratch, `dir-${++counter}`);
  await mkdir(path);
  return { ref: { handle: `v-${counter}`, driver: 'naive', location: { type: 'host-path', path } }, path };
}

const inClone = async (dir: string, ...args: string[]) => (await git(args, { cwd: dir })).trim();
const dotGit = (dir: string, file: string) => readFile(join(dir, '.git', file), 'utf8');

describe('git get', () => {
  let repo: TestRepo;
  let first: string;
  let second: string;

  beforeAll(async () => {
    repo = await daemon.createRepo('app');
    first = await repo.commit({
      files: { 'README.md': 'version one\n' },
      message: 'First commit\n\nWith a body.\n',
    });
    second = await repo.commit({
      files: { 'README.md': 'version two\n' },
      message: 'Second commit\n',
      author: { name: 'Grace Hopper', email: 'grace@example.com' },
    });
    await repo.tag('v1', { ref: first, message: 'the first release' });
    await repo.commit({ files: { 'README.md': 'version three\n' } });
  });

  it('checks out the exact commit, not the tip, and writes the files Concourse writes', async () => {
    const dir = await directory();
    const { value, output } = await plugin.call('get', {
      source: { uri: repo.url, branch: 'main' },
      version: { ref: second },
      directory: dir.ref,
    });
    expect(value.version).toEqual({ ref: second });
    expect(await readFile(join(dir.path, 'README.md'), 'utf8')).toBe('version two\n');
    expect(await inClone(dir.path, 'rev-parse', 'HEAD')).toBe(second);
    // Detached at the version, with the tracked branch beside it, and origin the source's uri.
    expect(await inClone(dir.path, 'symbolic-ref', '--quiet', 'HEAD').catch(() => 'detached')).toBe(
      'detached',
    );
    expect(await inClone(dir.path, 'branch', '--format=%(refname:short)')).toContain('main');
    expect(await inClone(dir.path, 'remote', 'get-url', 'origin')).toBe(repo.url);

    expect(await dotGit(dir.path, 'ref')).toBe(`${second}\n`);
    expect(await dotGit(dir.path, 'short_ref')).toBe(second.slice(0, 7));
    expect(await dotGit(dir.path, 'commit_message')).toBe('Second commit\n');
    expect(await dotGit(dir.path, 'committer')).toBe('grace@example.com');

    const metadata = Object.fromEntries(value.metadata?.map(({ name, value: v }) => [name, v]) ?? []);
    expect(metadata).toMatchObject({
      commit: second,
      author: 'Grace Hopper',
      committer: 'Charles Babbage',
      message: 'Second commit\n',
    });
    expect(metadata.author_date).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \+0000$/);
    expect(metadata.branch).toBeUndefined();
    const log = output.map((o) => o.data).join('');
    expect(log).toContain(`${second.slice(0, 7)} Second commit`);
  });

  it('reports the branch and tags that point at the commit', async () => {
    const dir = await directory();
    const tip = await repo.revParse('refs/heads/main');
    const { value } = await plugin.call('get', {
      source: { uri: repo.url },
      version: { ref: tip },
      directory: dir.ref,
    });
    const metadata = Object.fromEntries(value.metadata?.map(({ name, value: v }) => [name, v]) ?? []);
    expect(metadata.branch).toBe('main');

    const tagged = await directory();
    const atTag = await plugin.call('get', {
      source: { uri: repo.url },
      version: { ref: first },
      directory: tagged.ref,
    });
    expect(atTag.value.metadata).toContainEqual({ name: 'tags', value: 'v1' });
    expect(await dotGit(tagged.path, 'commit_message')).toBe('First commit\n\nWith a body.\n');
  });

  it('makes a shallow clone with depth, deep enough to hold the version', async () => {
    const dir = await directory();
    await plugin.call('get', {
      source: { uri: repo.url, branch: 'main' },
      version: { ref: second },
      params: { depth: 1 },
      directory: dir.ref,
    });
    expect(await inClone(dir.path, 'rev-parse', 'HEAD')).toBe(second);
    expect(await inClone(dir.path, 'rev-list', '--count', 'HEAD')).toBe('1');
    expect(await inClone(dir.path, 'rev-parse', '--is-shallow-repository')).toBe('true');
  });

  it('formats .git/short_ref with short_ref_format', async () => {
    const dir = await directory();
    await plugin.call('get', {
      source: { uri: repo.url },
      version: { ref: second },
      params: { short_ref_format: 'build-%s (100%%)' },
      directory: dir.ref,
    });
    expect(await dotGit(dir.path, 'short_ref')).toBe(`build-${second.slice(0, 7)} (100%)`);
  });

  it('fetches every tag, none, or deletes them, as asked', async () => {
    const tip = await repo.revParse('refs/heads/main');
    const side = await repo.commit({ branch: 'side', from: first });
    await repo.tag('side-tag', { ref: side });
    const tags = async (params: Record<string, unknown>) => {
      const dir = await directory();
      await plugin.call('get', {
        source: { uri: repo.url, branch: 'main' },
        version: { ref: tip },
        params,
        directory: dir.ref,
      });
      return (await inClone(dir.path, 'tag', '--list')).split('\n').filter(Boolean);
    };
    expect(await tags({})).toEqual(['v1']);
    expect(await tags({ fetch_tags: true })).toEqual(['side-tag', 'v1']);
    expect(await tags({ fetch_tags: false })).toEqual([]);
    expect(await tags({ clean_tags: true })).toEqual([]);
  });

  it('gets a tag version when tracking tags, writing the tag name to .git/ref', async () => {
    const dir = await directory();
    const { value } = await plugin.call('get', {
      source: { uri: repo.url, tag_filter: 'v*' },
      version: { ref: 'v1', commit: first },
      directory: dir.ref,
    });
    expect(value.version).toEqual({ ref: 'v1', commit: first });
    expect(await inClone(dir.path, 'rev-parse', 'HEAD')).toBe(first);
    expect(await dotGit(dir.path, 'ref')).toBe('v1\n');
    expect(await dotGit(dir.path, 'short_ref')).toBe('v1');
  });

  it('fetches submodules', async () => {
    const library = await daemon.createRepo('library');
    const libCommit = await library.commit({ files: { 'lib.txt': 'library code\n' } });
    const parent = await daemon.createRepo('with-submodule');
    // A gitlink entry plus .gitmodules, as `git submodule add` would commit.
    await parent.commit({
      files: { '.gitmodules': `[submodule "lib"]\n\tpath = lib\n\turl = ${library.url}\n` },
    });
    const withLink = await commitGitlink(parent, 'lib', libCommit);

    const dir = await directory();
    await plugin.call('get', { source: { uri: parent.url }, version: { ref: withLink }, directory: dir.ref });
    expect(await readFile(join(dir.path, 'lib', 'lib.txt'), 'utf8')).toBe('library code\n');

    const without = await directory();
    await plugin.call('get', {
      source: { uri: parent.url },
      version: { ref: withLink },
      params: { submodules: 'none' },
      directory: without.ref,
    });
    await expect(readFile(join(without.path, 'lib', 'lib.txt'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('says when the version is no longer in the repository', async () => {
    const dir = await directory();
    await expect(
      plugin.call('get', { source: { uri: repo.url }, version: { ref: 'f'.repeat(40) }, directory: dir.ref }),
    ).rejects.toMatchObject({
      code: 'GIT_REF_NOT_FOUND',
      message: expect.stringContaining('check the resource again'),
    });
  });

  it('needs an empty directory', async () => {
    const dir = await directory();
    await writeFile(join(dir.path, 'leftover'), 'x');
    await expect(
      plugin.call('get', { source: { uri: repo.url }, version: { ref: second }, directory: dir.ref }),
    ).rejects.toMatchObject({ code: 'GIT_DIRECTORY_NOT_EMPTY' });
  });
});

/** Commit a gitlink (a submodule's recorded commit) at `path` on main. */
async function commitGitlink(repo: TestRepo, path: string, commit: string): Promise<string> {
  const tip = await repo.revParse('refs/heads/main');
  const index = join(scratch, `index-${++counter}`);
  const env = { GIT_INDEX_FILE: index };
  const run = (args: string[], input?: string) =>
    git(args, { cwd: repo.dir, env: isolatedGitEnv(env), ...(input === undefined ? {} : { input }) });
  await run(['read-tree', tip]);
  await run(['update-index', '--add', '--cacheinfo', `160000,${commit},${path}`]);
  const tree = (await run(['write-tree'])).trim();
  const sha = (
    await run(
      ['-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit-tree', tree, '-p', tip, '-F', '-'],
      'add submodule\n',
    )
  ).trim();
  await run(['update-ref', 'refs/heads/main', sha]);
  return sha;
}
