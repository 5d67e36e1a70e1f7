// Options are checked at the boundary with messages that name the option; the standalone command
// (dist/main.js) runs the registry from flags or a JSON config file.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildRegistry, type RegistryMirrorOptions } from '@conveyor/registry-mirror';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, makeImage, OciClient } from './oci-client.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'conveyor-registry-config-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('options', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['no root', {}, /options\.root is required/],
    ['an unknown key', { root: 'x', prot: 5000 }, /options\.prot is not an option; known: root, host, port/],
    ['a port out of range', { root: 'x', port: 70000 }, /options\.port must be a number from 0 to 65535/],
    [
      'a token without grants',
      { root: 'x', auth: { tokens: [{ token: 't', access: [] }] } },
      /tokens\[0\]\.access must be a non-empty array/,
    ],
    [
      'an unknown action',
      { root: 'x', auth: { tokens: [{ token: 't', access: [{ repository: '**', actions: ['write'] }] }] } },
      /tokens\[0\]\.access\[0\]\.actions\[0\] must be one of pull, push, delete, \*/,
    ],
    [
      'both token and sha256',
      {
        root: 'x',
        auth: {
          tokens: [{ token: 't', sha256: 'a'.repeat(64), access: [{ repository: '**', actions: ['pull'] }] }],
        },
      },
      /needs exactly one of token, sha256/,
    ],
    [
      'a bad anonymous level',
      { root: 'x', auth: { anonymous: 'read' } },
      /options\.auth\.anonymous must be one of none, pull, push/,
    ],
    [
      'a bearer realm that is no URL',
      { root: 'x', auth: { scheme: 'bearer', realm: 'conveyor' } },
      /realm must be the token endpoint URL/,
    ],
    [
      'an upstream that is no URL',
      { root: 'x', upstream: { url: 'registry' } },
      /options\.upstream\.url registry is not a URL/,
    ],
    [
      'an upstream over ftp',
      { root: 'x', upstream: { url: 'ftp://example.com' } },
      /must be http:\/\/ or https:\/\//,
    ],
    [
      'a user name without password',
      { root: 'x', upstream: { url: 'http://example.com', username: 'u' } },
      /username and options\.upstream\.password go together/,
    ],
    [
      'a negative TTL',
      { root: 'x', upstream: { url: 'http://example.com', tagTtlSeconds: -1 } },
      /tagTtlSeconds must be a number/,
    ],
  ];
  for (const [what, options, message] of cases) {
    it(`refuses ${what}`, async () => {
      const error = await buildRegistry(options as RegistryMirrorOptions).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'RegistryConfigError', code: 'CC_E_REGISTRY_CONFIG_INVALID' });
      expect((error as Error).message).toMatch(message);
    });
  }
});

/** Run dist/main.js; resolves with the first line it prints, or its exit code and stderr if it exits first. */
async function run(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [MAIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const line = new Promise<string>((resolve) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('\n')) resolve(stdout.split('\n')[0]!);
    });
  });
  const exited = once(child, 'exit').then(([code]) => ({ code: code as number | null, stderr, stdout }));
  const first = await Promise.race([line, exited]);
  return { child, first, exited };
}

async function stop(child: ChildProcess) {
  if (child.exitCode !== null) return child.exitCode;
  child.kill('SIGTERM');
  const [code] = await once(child, 'exit');
  return code as number | null;
}

describe('the standalone command', () => {
  it('serves from flags, with a token scoped by pattern, and stops on SIGTERM', async () => {
    const { child, first } = await run([
      '--root',
      join(root, 'flags'),
      '--port',
      '0',
      '--token',
      'cli-secret:pull,push:plugins/*',
    ]);
    try {
      expect(first).toMatch(/^listening on http:\/\/127\.0\.0\.1:\d+$/);
      const url = (first as string).slice('listening on '.length);
      const client = new OciClient(url, basicAuth('ci', 'cli-secret'));
      const digest = await client.pushImage('plugins/git', makeImage({ layers: 1 }), 'v1');
      expect((await client.pullImage('plugins/git', digest)).blobs).toHaveLength(2);
      const elsewhere = await client.fetch('/v2/other/blobs/uploads/', { method: 'POST' });
      expect(elsewhere.status).toBe(403);
    } finally {
      expect(await stop(child)).toBe(0);
    }
  });

  it('reads a JSON config file, flags over it', async () => {
    const file = join(root, 'registry.json');
    await writeFile(
      file,
      JSON.stringify({
        root: join(root, 'from-file'),
        port: 1,
        auth: {
          anonymous: 'none',
          tokens: [{ token: 'file-secret', access: [{ repository: '**', actions: ['*'] }] }],
        },
      }),
    );
    const { child, first } = await run(['--config', file, '--port', '0']);
    try {
      expect(first).toMatch(/^listening on /);
      const url = (first as string).slice('listening on '.length);
      expect((await fetch(`${url}/v2/`)).status).toBe(401);
      expect((await fetch(`${url}/v2/`, { headers: { authorization: 'Bearer file-secret' } })).status).toBe(
        200,
      );
    } finally {
      await stop(child);
    }
  });

  it('says which mirror it is', async () => {
    const { child, first } = await run(
      ['--root', join(root, 'mirror'), '--port', '0', '--upstream', 'http://127.0.0.1:9/'],
      {
        CONVEYOR_REGISTRY_UPSTREAM_PASSWORD: 'unused',
      },
    );
    try {
      // A password without a user name is refused: both or neither.
      expect(first).toMatchObject({ code: 2 });
      expect((first as { stderr: string }).stderr).toMatch(
        /CC_E_REGISTRY_CONFIG_INVALID.*username and options\.upstream\.password/,
      );
    } finally {
      await stop(child);
    }
    const again = await run([
      '--root',
      join(root, 'mirror'),
      '--port',
      '0',
      '--upstream',
      'http://127.0.0.1:9/',
      '--tag-ttl',
      '60',
    ]);
    try {
      expect(again.first).toMatch(
        /^listening on http:\/\/127\.0\.0\.1:\d+ \(mirror of http:\/\/127\.0\.0\.1:9\/\)$/,
      );
    } finally {
      await stop(again.child);
    }
  });

  it('exits 2 with the error code on bad flags or config', async () => {
    const unknown = await run(['--root', root, '--colour']);
    expect(unknown.first).toMatchObject({ code: 2 });
    expect((unknown.first as { stderr: string }).stderr).toMatch(/CC_E_REGISTRY_CONFIG_INVALID.*--colour/);

    const missing = await run(['--port', '0']);
    expect((missing.first as { stderr: string }).stderr).toMatch(/--root .* is required/);

    const notJson = join(root, 'bad.json');
    await writeFile(notJson, 'root: /tmp');
    const bad = await run(['--config', notJson]);
    expect(bad.first).toMatchObject({ code: 2 });
    expect((bad.first as { stderr: string }).stderr).toMatch(/CC_E_REGISTRY_CONFIG_UNREADABLE.*is not JSON/);

    const token = await run(['--root', root, '--token', 'a:b:c:d']);
    expect((token.first as { stderr: string }).stderr).toMatch(/expected SECRET\[:ACTIONS\[:PATTERN\]\]/);
  });
});
