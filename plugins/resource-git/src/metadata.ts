import type { Metadata } from '@conveyor/plugin-api';
import type { GitRunner } from './git-command.js';

const MAX_MESSAGE = 10_240;

/** What the resource reports about the commit checked out in `dir`, as Concourse's git resource. */
export async function commitMetadata(git: GitRunner, dir: string, uri: string): Promise<Metadata> {
  const run = async (...args: string[]) => (await git.run(args, { cwd: dir })).stdout;
  const [fields = '', message = ''] = (
    await run('log', '-1', '--format=format:%H%x00%an%x00%ai%x00%cn%x00%ci%x01%B', 'HEAD')
  ).split('\x01');
  const [commit = '', author = '', authorDate = '', committer = '', committerDate = ''] =
    fields.split('\x00');
  const metadata: Metadata = [
    { name: 'commit', value: commit },
    { name: 'author', value: author },
    { name: 'author_date', value: authorDate },
    { name: 'committer', value: committer },
    { name: 'committer_date', value: committerDate },
  ];

  const heads = await run('for-each-ref', '--points-at', commit, '--format=%(refname:strip=2)', 'refs/heads');
  const branches = heads.split('\n').filter(Boolean);
  if (branches.length) metadata.push({ name: 'branch', value: branches.join(',') });

  const tags = (await run('tag', '--points-at', 'HEAD')).split('\n').filter(Boolean);
  if (tags.length) metadata.push({ name: 'tags', value: tags.join(',') });

  metadata.push({ name: 'message', value: message.slice(0, MAX_MESSAGE) });
  const url = commitUrl(git.sanitize(uri), commit);
  if (url) metadata.push({ name: 'url', value: url });
  return metadata;
}

/** A link to the commit on the hosting services whose URL scheme is known. */
function commitUrl(uri: string, commit: string): string | undefined {
  const match = /^(?:https?:\/\/(?:[^@/]*@)?|ssh:\/\/git@|git@)([^/]+)\/(.*)$/.exec(uri);
  if (!match) return undefined;
  let host = match[1] ?? '';
  let path = (match[2] ?? '').replace(/\.git$/, '');
  // scp-like git@github.com:owner/repo: the owner is behind the colon.
  if (uri.startsWith('git@') && host.includes(':')) {
    path = `${host.slice(host.indexOf(':') + 1)}/${path}`;
    host = host.slice(0, host.indexOf(':'));
  }
  host = host.replace(/:\d+$/, '');
  if (/github|gogs/.test(host)) return `https://${host}/${path}/commit/${commit}`;
  if (/gitlab/.test(host)) return `https://${host}/${path}/-/commit/${commit}`;
  if (/bitbucket/.test(host)) return `https://${host}/${path}/commits/${commit}`;
  return undefined;
}
