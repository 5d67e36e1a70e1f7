import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPluginForTest, type PluginUnderTest } from '@conveyor/plugin-api/testing';
import { type GitDaemon, startGitDaemon } from '@conveyor/test/harness/git-daemon.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
let daemon: GitDaemon;
let scratch: string;
let plugin: PluginUnderTest<'resource-type'>;

beforeAll(async () => {
  daemon = await startGitDaemon();
  scratch = await mkdtemp(join(tmpdir(), 'git-check-test-'));
  plugin = await loadPluginForTest<'resource-type'>(packageDir, { cacheDir: join(scratch, 'cache') });
});

afterAll(async () => {
  await daemon?.stop();
  await rm(scratch, { recursive: true, force: true });
});

const check = async (source: Record<string, unknown>, version?: Record<string, string>) =>
  (await plugin.call('check', version ? { source, version } : { source })).value.versions;

describe('git check on a branch', () => {
  it('returns the latest commit without a version, then every new commit in order', async () => {
    const repo = await daemon.createRepo('ordered');
    await repo.commit();
    const second = await repo.commit();
    const source = { uri: repo.url, branch: 'main' };
    expect(await check(source)).toEqual([{ ref: second }]);

    const third = await repo.commit();
    const fourth = await repo.commit();
    expect(await check(source, { ref: second })).toEqual([{ ref: second }, { ref: third }, { ref: fourth }]);
    expect(await check(source, { ref: fourth })).toEqual([{ ref: fourth }]);
  });

  it('keeps one mirror per repository in the cache, and reads file:// addresses too', async () => {
    const repo = await daemon.createRepo('cached');
    const first = await repo.commit();
    const cache = join(scratch, 'own-cache');
    const own = await loadPluginForTest<'resource-type'>(packageDir, { cacheDir: cache });
    await own.call('check', { source: { uri: repo.url } });
    await own.call('check', { source: { uri: repo.url, branch: 'main' } });
    expect((await readdir(cache)).filter((name) => name.endsWith('.git'))).toHaveLength(1);
    const viaFile = await own.call('check', { source: { uri: repo.fileUrl } });
    expect(viaFile.value.versions).toEqual([{ ref: first }]);
  });

  it('serves concurrent checks of one repository from one mirror', async () => {
    const repo = await daemon.createRepo('concurrent');
    const tip = await repo.commit();
    const own = await loadPluginForTest<'resource-type'>(packageDir, {
      cacheDir: join(scratch, 'concurrent-cache'),
    });
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        own.call('check', { source: { uri: repo.url, version_depth: 1 + (i % 2) } }),
      ),
    );
    for (const { value } of results) expect(value.versions.at(-1)).toEqual({ ref: tip });
  });

  it("tracks the repository's default branch when none is given", async () => {
    const repo = await daemon.createRepo('trunk', { initialBranch: 'trunk' });
    const tip = await repo.commit({ branch: 'trunk' });
    await repo.commit({ branch: 'other', from: tip });
    expect(await check({ uri: repo.url })).toEqual([{ ref: tip }]);
  });

  it('follows the branch it is given', async () => {
    const repo = await daemon.createRepo('branches');
    const base = await repo.commit();
    const feature = await repo.commit({ branch: 'feature', from: base });
    await repo.commit();
    expect(await check({ uri: repo.url, branch: 'feature' })).toEqual([{ ref: feature }]);
  });

  it('only counts commits that change paths, and not those that change only ignore_paths', async () => {
    const repo = await daemon.createRepo('paths');
    const src1 = await repo.commit({ files: { 'src/a.ts': '1' } });
    const docs = await repo.commit({ files: { 'docs/readme.md': '1' } });
    const src2 = await repo.commit({ files: { 'src/a.ts': '2', 'src/a.md': 'notes' } });
    const mdOnly = await repo.commit({ files: { 'src/a.md': 'more notes' } });

    expect(await check({ uri: repo.url, paths: ['src/*'] })).toEqual([{ ref: mdOnly }]);
    expect(await check({ uri: repo.url, paths: ['src/*'] }, { ref: src1 })).toEqual([
      { ref: src1 },
      { ref: src2 },
      { ref: mdOnly },
    ]);
    expect(await check({ uri: repo.url, paths: ['src'], ignore_paths: ['*.md'] }, { ref: src1 })).toEqual([
      { ref: src1 },
      { ref: src2 },
    ]);
    expect(await check({ uri: repo.url, ignore_paths: ['docs'] }, { ref: src1 })).toEqual([
      { ref: src1 },
      { ref: src2 },
      { ref: mdOnly },
    ]);
    // A given version that fails the filter is not repeated, but what follows it is found.
    expect(await check({ uri: repo.url, paths: ['src'] }, { ref: docs })).toEqual([
      { ref: src2 },
      { ref: mdOnly },
    ]);
  });

  it('skips [ci skip] and [skip ci] commits unless disable_ci_skip', async () => {
    const repo = await daemon.createRepo('ci-skip');
    const first = await repo.commit({ message: 'build me\n' });
    const skipped = await repo.commit({ message: 'docs only [ci skip]\n' });
    const alsoSkipped = await repo.commit({ message: 'typo\n\n[skip ci]\n' });
    expect(await check({ uri: repo.url })).toEqual([{ ref: first }]);
    expect(await check({ uri: repo.url }, { ref: first })).toEqual([{ ref: first }]);
    expect(await check({ uri: repo.url, disable_ci_skip: true }, { ref: first })).toEqual([
      { ref: first },
      { ref: skipped },
      { ref: alsoSkipped },
    ]);
  });

  it('filters commit messages with commit_filter include and exclude', async () => {
    const repo = await daemon.createRepo('filters');
    const feat = await repo.commit({ message: 'feat: login\n' });
    const fix = await repo.commit({ message: 'fix: login crash\n' });
    const chore = await repo.commit({ message: 'chore: deps\n' });
    const source = { uri: repo.url, disable_ci_skip: true };
    expect(await check({ ...source, commit_filter: { include: ['^feat', '^fix'] } }, { ref: feat })).toEqual([
      { ref: feat },
      { ref: fix },
    ]);
    expect(await check({ ...source, commit_filter: { exclude: ['^chore'] } })).toEqual([{ ref: fix }]);
    expect(
      await check({ ...source, commit_filter: { include: ['login'], exclude: ['crash'] } }, { ref: feat }),
    ).toEqual([{ ref: feat }]);
    expect(
      await check({ ...source, commit_filter: { include: ['^fix', 'crash'], include_all_match: true } }),
    ).toEqual([{ ref: fix }]);
    expect(await check({ ...source, commit_filter: { exclude: ['nothing matches this'] } })).toEqual([
      { ref: chore },
    ]);
  });

  it('returns version_depth commits on the first check', async () => {
    const repo = await daemon.createRepo('depth');
    await repo.commit();
    const b = await repo.commit();
    const c = await repo.commit();
    expect(await check({ uri: repo.url, version_depth: 2 })).toEqual([{ ref: b }, { ref: c }]);
  });

  it('starts over from the latest commit when the branch no longer holds the version', async () => {
    const repo = await daemon.createRepo('force-pushed');
    const base = await repo.commit();
    const lost = await repo.commit();
    expect(await check({ uri: repo.url })).toEqual([{ ref: lost }]);
    // Force-push: main goes back to base and grows another way.
    await repo.git('update-ref', 'refs/heads/main', base);
    const rewritten = await repo.commit();
    expect(await check({ uri: repo.url }, { ref: lost })).toEqual([{ ref: rewritten }]);
  });

  it('returns no versions for an empty repository', async () => {
    const repo = await daemon.createRepo('empty');
    expect(await check({ uri: repo.url })).toEqual([]);
  });
});

describe('git check on tags', () => {
  it('returns the newest tag matching tag_filter, with its commit', async () => {
    const repo = await daemon.createRepo('tags');
    const one = await repo.commit();
    await repo.tag('v1.0.0', { ref: one, message: 'release 1.0.0' });
    const two = await repo.commit();
    await repo.tag('nightly-1', { ref: two });
    expect(await check({ uri: repo.url, tag_filter: 'v*' })).toEqual([{ ref: 'v1.0.0', commit: one }]);
    await repo.tag('v1.1.0', { ref: two });
    expect(await check({ uri: repo.url, tag_filter: 'v*' }, { ref: 'v1.0.0', commit: one })).toEqual([
      { ref: 'v1.1.0', commit: two },
    ]);
    expect(await check({ uri: repo.url, tag_filter: 'v*', version_depth: 5 })).toEqual([
      { ref: 'v1.0.0', commit: one },
      { ref: 'v1.1.0', commit: two },
    ]);
    expect(await check({ uri: repo.url, tag_regex: 'nightly-[0-9]+' })).toEqual([
      { ref: 'nightly-1', commit: two },
    ]);
    expect(await check({ uri: repo.url, tag_regex: 'v1' })).toEqual([]);
  });

  it('only takes tags merged into the branch when one is given, on any branch otherwise', async () => {
    const repo = await daemon.createRepo('branch-tags');
    const main = await repo.commit();
    await repo.tag('v1', { ref: main });
    const side = await repo.commit({ branch: 'side', from: main });
    await repo.tag('v2', { ref: side });
    expect(await check({ uri: repo.url, tag_filter: 'v*', branch: 'main' })).toEqual([
      { ref: 'v1', commit: main },
    ]);
    expect(await check({ uri: repo.url, tag_filter: 'v*' })).toEqual([{ ref: 'v2', commit: side }]);
  });

  it('applies paths to the tagged commits', async () => {
    const repo = await daemon.createRepo('tag-paths');
    const code = await repo.commit({ files: { 'src/x': '1' } });
    await repo.tag('v1', { ref: code });
    const docs = await repo.commit({ files: { 'docs/x': '1' } });
    await repo.tag('v2', { ref: docs });
    expect(await check({ uri: repo.url, tag_filter: 'v*', paths: ['src'], version_depth: 9 })).toEqual([
      { ref: 'v1', commit: code },
    ]);
  });
});

describe('git check errors', () => {
  it('says the repository does not exist', async () => {
    await expect(check({ uri: daemon.url('no-such-repo') })).rejects.toMatchObject({
      code: 'GIT_REPO_NOT_FOUND',
      message: expect.stringContaining('check source.uri'),
    });
  });

  it('says the branch does not exist', async () => {
    const repo = await daemon.createRepo('one-branch');
    await repo.commit();
    await expect(check({ uri: repo.url, branch: 'nope' })).rejects.toMatchObject({
      code: 'GIT_BRANCH_NOT_FOUND',
      message: expect.stringContaining('check source.branch'),
    });
  });

  it('says the server cannot be reached', async () => {
    // The daemon's port once it is stopped is as closed as any: a second daemon, stopped at once.
    const gone = await startGitDaemon();
    await gone.stop();
    await expect(check({ uri: gone.url('x') })).rejects.toMatchObject({ code: 'GIT_UNREACHABLE' });
  });

  it('refuses sources that would run programs on the host', async () => {
    const repo = await daemon.createRepo('guarded');
    await expect(check({ uri: 'ext::sh -c touch% /tmp/pwned' })).rejects.toMatchObject({
      code: 'GIT_BAD_SOURCE',
    });
    await expect(check({ uri: '--upload-pack=touch /tmp/pwned' })).rejects.toMatchObject({
      code: 'GIT_BAD_SOURCE',
    });
    await expect(
      check({ uri: repo.url, git_config: [{ name: 'core.sshCommand', value: 'touch /tmp/pwned' }] }),
    ).rejects.toMatchObject({ code: 'GIT_CONFIG_REFUSED' });
    await expect(check({ uri: repo.url, tag_filter: 'v*', tag_regex: 'v.*' })).rejects.toMatchObject({
      code: 'GIT_BAD_SOURCE',
    });
  });

  it('refuses unknown source keys, as Concourse does', async () => {
    await expect(check({ uri: 'x', branchh: 'main' })).rejects.toMatchObject({
      code: 'CONFORMANCE_BAD_REQUEST',
    });
  });
});
