import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { OciImage } from './oci-images.js';

export const DOCKER_REGISTRY = '/usr/bin/docker-registry';

/**
 * The one account of an authenticated registry. Distribution reads bcrypt htpasswd files only, and
 * neither node nor a default Debian install can make a bcrypt hash, so the hash is made once
 * (`python3 -c "import crypt; print(crypt.crypt(PASSWORD, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=32)))"`)
 * and kept here. It guards nothing but a test registry on loopback.
 */
export const REGISTRY_USER = { username: 'conveyor', password: 'conveyor-test-password' } as const;
const REGISTRY_USER_BCRYPT = '$2b$05$7zFlJpOoohzGPR30gqYJLejudWd45DD/hABNt0lgWcxMufiVSa0S2';

/** A real Distribution 2.8 registry (Debian's docker-registry) on a loopback port. */
export interface TestRegistry {
  /** `127.0.0.1:<port>`: the host part of image references. */
  readonly host: string;
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** The account when started with `auth: true`. */
  readonly credentials: { username: string; password: string } | undefined;
  /** Push an image of oci-images.ts as `<repository>:<tag>`; returns the manifest digest. */
  push(image: OciImage, repository: string, tag?: string): Promise<string>;
  stop(): Promise<void>;
}

/** Whether the registry can run here; throws in CI when it cannot. */
export function dockerRegistryUnavailable(): string | undefined {
  if (existsSync(DOCKER_REGISTRY)) return undefined;
  const reason = `${DOCKER_REGISTRY} not found: install Debian's docker-registry`;
  if (process.env.CI === 'true') throw new Error(`CI must run the registry tests: ${reason}`);
  console.warn(`\n!!! SKIPPING registry tests: ${reason}\n`);
  return reason;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no port from the OS');
  return address.port;
}

export interface DockerRegistryOptions {
  /** htpasswd auth with REGISTRY_USER (Basic, realm conveyor-test). */
  auth?: boolean;
  /** `storage.delete.enabled`: whether DELETE of manifests and blobs works (default true). */
  delete?: boolean;
}

export async function startDockerRegistry(options: DockerRegistryOptions = {}): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'conveyor-registry-'));
  const credentials = options.auth ? { ...REGISTRY_USER } : undefined;
  if (credentials)
    await writeFile(join(dir, 'htpasswd'), `${credentials.username}:${REGISTRY_USER_BCRYPT}\n`);

  let child: ChildProcess | undefined;
  let port = 0;
  let stderr = '';
  // Another process may take the port between freePort and the registry's bind: try a few.
  for (let attempt = 0; attempt < 5 && !child; attempt++) {
    port = await freePort();
    await writeFile(
      join(dir, 'config.yml'),
      [
        'version: 0.1',
        'log:',
        '  level: warn',
        '  accesslog:',
        '    disabled: true',
        'storage:',
        '  filesystem:',
        `    rootdirectory: ${join(dir, 'storage')}`,
        '  delete:',
        `    enabled: ${options.delete ?? true}`,
        'http:',
        `  addr: 127.0.0.1:${port}`,
        `  secret: ${randomBytes(16).toString('hex')}`,
        ...(credentials
          ? ['auth:', '  htpasswd:', '    realm: conveyor-test', `    path: ${join(dir, 'htpasswd')}`]
          : []),
        '',
      ].join('\n'),
    );
    const candidate = spawn(DOCKER_REGISTRY, ['serve', join(dir, 'config.yml')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let exited = false;
    candidate.once('exit', () => {
      exited = true;
    });
    candidate.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    for (let waited = 0; waited < 10_000 && !exited; waited += 50) {
      const answered = await fetch(`http://127.0.0.1:${port}/v2/`).then(
        (response) => response.status === 200 || response.status === 401,
        () => false,
      );
      if (answered) {
        child = candidate;
        break;
      }
      await sleep(50);
    }
    if (!child && !exited) candidate.kill('SIGKILL');
  }
  if (!child) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`docker-registry did not start: ${stderr.slice(-2000)}`);
  }
  const registry = child;
  const url = `http://127.0.0.1:${port}`;
  const authorization = credentials
    ? `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`
    : undefined;
  const headers = (extra: Record<string, string> = {}) => ({
    ...extra,
    ...(authorization ? { authorization } : {}),
  });

  async function pushBlob(repository: string, digest: string, data: Buffer): Promise<void> {
    const exists = await fetch(`${url}/v2/${repository}/blobs/${digest}`, {
      method: 'HEAD',
      headers: headers(),
    });
    if (exists.status === 200) return;
    const started = await fetch(`${url}/v2/${repository}/blobs/uploads/`, {
      method: 'POST',
      headers: headers(),
    });
    if (started.status !== 202)
      throw new Error(`starting an upload: ${started.status} ${await started.text()}`);
    const location = new URL(started.headers.get('location') ?? '', url);
    location.searchParams.set('digest', digest);
    const done = await fetch(location, {
      method: 'PUT',
      headers: headers({ 'content-type': 'application/octet-stream' }),
      body: data,
    });
    if (done.status !== 201) throw new Error(`uploading ${digest}: ${done.status} ${await done.text()}`);
  }

  return {
    host: `127.0.0.1:${port}`,
    url,
    credentials,
    async push(image, repository, tag = image.tag) {
      for (const blob of [...image.layers, image.config]) await pushBlob(repository, blob.digest, blob.data);
      const response = await fetch(`${url}/v2/${repository}/manifests/${tag}`, {
        method: 'PUT',
        headers: headers({ 'content-type': image.manifest.mediaType }),
        body: image.manifest.data,
      });
      if (response.status !== 201)
        throw new Error(`pushing the manifest: ${response.status} ${await response.text()}`);
      return response.headers.get('docker-content-digest') ?? image.manifest.digest;
    },
    async stop() {
      if (registry.exitCode === null && registry.signalCode === null) {
        const exited = new Promise((resolve) => registry.once('exit', resolve));
        registry.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
