import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { VolumeRef } from '@conveyor/plugin-api';
import { loadPluginForTest, type PluginUnderTest } from '@conveyor/plugin-api/testing';
import {
  type GitDaemon,
  type GitHttpServer,
  git,
  isolatedGitEnv,
  startGitDaemon,
  startGitHttpServer,
} from '@conveyor/test/harness/git-daemon.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const username = 'ci-bot';
const password = 'correct-horse-battery-staple';
let daemon: GitDaemon;
let http: GitHttpServer;
let scratch: string;
let plugin: PluginUnderTest<'resource-type'>;

beforeAll(async () => {
  daemon = await startGitDaemon();
  http = await startGitHttpServer(daemon.baseDir, { username, password });
  scratch = await mkdtemp(join(tmpdir(), 'git-auth-test-'));
  plugin = await loadPluginForTest<'resource-type'>(packageDir, { cacheDir: join(scratch, 'cache') });
});

afterAll(async () => {
  await http?.stop();
  await daemon?.stop();
  await rm(scratch, { recursive: true, force: true });
});

async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error('expected the call to fail');
}

describe('git over HTTP with a username and password', () => {
  it('checks, gets and pushes with the credentials, which never reach a message', async () => {
    const repo = await daemon.createRepo('private');
    const first = await repo.commit();
    const source = { uri: http.url('private'), branch: 'main', username, password };

    const { value: checked } = await plugin.call('check', { source });
    expect(checked.versions).toEqual([{ ref: first }]);

    const dir = join(scratch, 'get');
    await mkdir(dir);
    const ref: VolumeRef = { handle: 'get', driver: 'naive', location: { type: 'host-path', path: dir } };
    const got = await plugin.call('get', { source, version: { ref: first }, directory: ref });
    expect(JSON.stringify(got)).not.toContain(password);
    expect((await git(['rev-parse', 'HEAD'], { cwd: dir })).trim()).toBe(first);

    const env = isolatedGitEnv({
      GIT_AUTHOR_NAME: 'b',
      GIT_AUTHOR_EMAIL: 'b@x',
      GIT_COMMITTER_NAME: 'b',
      GIT_COMMITTER_EMAIL: 'b@x',
    });
    await writeFile(join(dir, 'new.txt'), 'new\n');
    await git(['add', 'new.txt'], { cwd: dir, env });
    await git(['commit', '--quiet', '-m', 'over http'], { cwd: dir, env });
    const pushed = await plugin.call('put', {
      source,
      params: { repository: 'get' },
      directory: { handle: 'put', driver: 'naive', location: { type: 'host-path', path: scratch } },
    });
    expect(await repo.revParse('refs/heads/main')).toBe(pushed.value.version.ref);
    expect(JSON.stringify(pushed)).not.toContain(password);
  });

  it('fails with GIT_AUTH_FAILED on a wrong password or none, without showing it', async () => {
    const repo = await daemon.createRepo('guarded');
    await repo.commit();
    const refusedBefore = http.attempts.refused;
    const wrong = await failure(
      plugin.call('check', { source: { uri: http.url('guarded'), username, password: 'not-the-password' } }),
    );
    expect(wrong.code).toBe('GIT_AUTH_FAILED');
    expect(wrong.message).toContain('source.username and source.password');
    expect(wrong.message).not.toContain('not-the-password');
    expect(http.attempts.refused).toBeGreaterThan(refusedBefore);

    const none = await failure(plugin.call('check', { source: { uri: http.url('guarded') } }));
    expect(none.code).toBe('GIT_AUTH_FAILED');
  });

  it('masks credentials written into the uri', async () => {
    const uri = http.url('nope').replace('http://', `http://${username}:secret-in-uri@`);
    const error = await failure(plugin.call('check', { source: { uri } }));
    expect(error.message).not.toContain('secret-in-uri');
    expect(error.message).toContain(`${username}:***@`);
  });
});

const hasSsh = (() => {
  try {
    execFileSync('ssh', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

// On a developer's laptop without ssh this suite is skipped loudly; in CI (.ci/run installs
// openssh-client) it must run.
if (!hasSsh) {
  if (process.env.CI === 'true') throw new Error('ssh is required in CI: .ci/run installs openssh-client');
  console.warn('SKIPPING git-over-ssh tests: no `ssh` on this machine (apt-get install openssh-client)');
}

describe.skipIf(!hasSsh)('git over ssh with a private key', () => {
  it('uses the key without ever showing it', async () => {
    // A port nobody listens on: ssh runs with the key, fails to connect, and the error is clean.
    const gone = await startGitDaemon();
    await gone.stop();
    const key =
      '-----BEGIN OPENSSH PRIVATE KEY-----\nthis-is-not-a-real-key-but-a-secret\n-----END OPENSSH PRIVATE KEY-----';
    const error = await failure(
      plugin.call('check', {
        source: { uri: `ssh://git@127.0.0.1:${gone.port}/repo.git`, private_key: key },
      }),
    );
    expect(error.code).toBe('GIT_UNREACHABLE');
    expect(error.message).not.toContain('this-is-not-a-real-key-but-a-secret');
  });
});
