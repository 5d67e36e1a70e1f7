import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRunner, type GitRunner } from './git-command.js';
import type { GitConfig, GitSource } from './types.js';

const DEFAULT_TIMEOUT_MS = 10 * 60_000;

/** Variables of the Conveyor process a git command may see: proxies and certificate stores. */
const PASSED_THROUGH = [
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'ALL_PROXY',
  'all_proxy',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'GIT_SSL_CAINFO',
  'GIT_SSL_CAPATH',
];

/**
 * A private home for one call's git commands: a global git config holding source.git_config
 * (below the repository's own, as in Concourse's resource image), the private key file and an
 * askpass program for HTTP passwords and key passphrases. The secrets travel in environment
 * variables of the git process only; everything is removed when the call ends.
 */
export async function withGitSession<T>(
  source: GitSource,
  config: GitConfig,
  use: (git: GitRunner) => Promise<T>,
): Promise<T> {
  const home = await mkdtemp(join(tmpdir(), 'conveyor-git-'));
  try {
    await chmod(home, 0o700);
    const gitconfig = join(home, '.gitconfig');
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      HOME: home,
      // Messages in English: errors are classified by what git prints.
      LC_ALL: 'C',
      LANG: 'C',
      GIT_TERMINAL_PROMPT: '0',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: gitconfig,
      GIT_ASKPASS: join(home, 'askpass'),
      SSH_ASKPASS: join(home, 'askpass'),
      SSH_ASKPASS_REQUIRE: 'force',
    };
    for (const name of PASSED_THROUGH) {
      const value = process.env[name];
      if (value !== undefined) env[name] = value;
    }
    if (source.skip_ssl_verification) env.GIT_SSL_NO_VERIFY = 'true';

    // Each answer comes from the git process's environment, never from a file on disk.
    await writeFile(
      join(home, 'askpass'),
      [
        '#!/bin/sh',
        'case "$1" in',
        '  Username*) printf "%s\\n" "$CONVEYOR_GIT_USERNAME" ;;',
        '  *passphrase*) printf "%s\\n" "$CONVEYOR_GIT_KEY_PASSPHRASE" ;;',
        '  *) printf "%s\\n" "$CONVEYOR_GIT_PASSWORD" ;;',
        'esac',
        '',
      ].join('\n'),
      { mode: 0o700 },
    );
    if (source.username !== undefined) env.CONVEYOR_GIT_USERNAME = source.username;
    if (source.password !== undefined) env.CONVEYOR_GIT_PASSWORD = source.password;
    if (source.private_key_passphrase !== undefined) {
      env.CONVEYOR_GIT_KEY_PASSPHRASE = source.private_key_passphrase;
    }

    const ssh = [
      'ssh',
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'LogLevel=ERROR',
    ];
    // Without a passphrase there is nothing to ask: batch mode fails fast instead of prompting.
    if (source.private_key_passphrase === undefined) ssh.push('-o', 'BatchMode=yes');
    if (source.private_key !== undefined) {
      const keyFile = join(home, 'private-key');
      const key = source.private_key.endsWith('\n') ? source.private_key : `${source.private_key}\n`;
      await writeFile(keyFile, key, { mode: 0o600 });
      ssh.push('-i', keyFile, '-o', 'IdentitiesOnly=yes');
    }
    if (source.private_key_user !== undefined) ssh.push('-o', `User=${source.private_key_user}`);
    env.GIT_SSH_COMMAND = ssh.map(shellQuote).join(' ');

    const secrets = [
      source.password,
      source.private_key_passphrase,
      ...(source.private_key?.split('\n') ?? []),
    ]
      .map((secret) => secret?.trim())
      .filter((secret): secret is string => !!secret);
    const git = createRunner({ env, timeoutMs: config.commandTimeoutMs ?? DEFAULT_TIMEOUT_MS, secrets });

    // A commit made by a merge or rebase needs an author; the repository's own config wins.
    await git.run(['config', '--file', gitconfig, 'user.name', 'git']);
    await git.run(['config', '--file', gitconfig, 'user.email', 'git@localhost']);
    await git.run(['config', '--file', gitconfig, 'credential.helper', '']);
    // Volumes and build repositories may belong to the containers' users, not to Conveyor's.
    await git.run(['config', '--file', gitconfig, 'safe.directory', '*']);
    for (const { name, value } of source.git_config ?? []) {
      await git.run(['config', '--file', gitconfig, '--add', name, value]);
    }
    return await use(git);
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

/** Quote a word for the shell git runs GIT_SSH_COMMAND with. */
function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./=:@-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
