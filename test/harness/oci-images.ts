import { execFile, spawn } from 'node:child_process';
import { createHash, type Hash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGzip } from 'node:zlib';
import * as tar from 'tar';

const run = promisify(execFile);

/** Debian's busybox-static: one static binary, so the image needs no libraries. */
export const BUSYBOX = '/bin/busybox';

export const MEDIA_TYPES = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

/** A blob of a layout: what a descriptor says about it. */
export interface BlobRef {
  mediaType: string;
  digest: string;
  size: number;
}

export interface Blob extends BlobRef {
  /** The bytes, as written to blobs/sha256/. */
  data: Buffer;
}

/** An OCI image layout on disk: where it is and its blobs' descriptors (JSON, so it can be cached). */
export interface OciLayout {
  /** The directory with oci-layout, index.json and blobs/sha256/. */
  layoutDir: string;
  /** `name:tag`, as in index.json's org.opencontainers.image.ref.name annotation (the tag). */
  reference: string;
  name: string;
  tag: string;
  manifest: BlobRef;
  config: BlobRef;
  layers: Array<BlobRef & { diffId: string }>;
}

/** A small OCI image layout on disk, and everything a test needs to know about it, bytes included. */
export interface OciImage extends OciLayout {
  /** The same layout as one tar (an OCI archive that also carries docker save's manifest.json). */
  tarball: string;
  manifest: Blob;
  config: Blob;
  layers: Array<Blob & { diffId: string }>;
}

export interface OciLayoutOptions {
  name: string;
  tag: string;
  /** The image config's Env (default: a standard PATH), Cmd, WorkingDir and User. */
  env?: string[] | undefined;
  cmd?: string[] | undefined;
  workingDir?: string | undefined;
  user?: string | undefined;
  /** The history entry's created_by: how the root filesystem was made. */
  createdBy: string;
  /**
   * Give every file to root in the layer, whoever owns it on disk (a rootfs made by hand); by
   * default owners are kept, as a distribution's rootfs needs (root:shadow /etc/shadow, …).
   */
  rootOwned?: boolean | undefined;
  /** Also write the layout as one tar, `<name>-<tag>.tar` next to the layout directory. */
  tarball?: boolean | undefined;
}

export interface BusyboxImageOptions {
  name?: string;
  tag?: string;
  /**
   * Extra files in the image (path → content), e.g. to make a second, different image; one whose
   * content starts with `#!` is executable.
   */
  files?: Record<string, string>;
  /** The image config's Env, WorkingDir and User. */
  env?: string[];
  workingDir?: string;
  user?: string;
}

/** Whether the image can be built here; throws in CI when it cannot. */
export function busyboxUnavailable(): string | undefined {
  if (existsSync(BUSYBOX)) return undefined;
  const reason = `${BUSYBOX} not found: install Debian's busybox-static`;
  if (process.env.CI === 'true') throw new Error(`CI must build the test images: ${reason}`);
  console.warn(`\n!!! SKIPPING: ${reason}\n`);
  return reason;
}

const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

function blob(mediaType: string, data: Buffer): Blob {
  return { mediaType, digest: sha256(data), size: data.length, data };
}

const descriptor = ({ mediaType, digest, size }: BlobRef): BlobRef => ({ mediaType, digest, size });

/** The OCI platform architecture of this machine. */
export function ociArchitecture(): string {
  const map: Record<string, string> = {
    x64: 'amd64',
    arm64: 'arm64',
    arm: 'arm',
    ppc64: 'ppc64le',
    s390x: 's390x',
  };
  return map[process.arch] ?? process.arch;
}

/**
 * Build a one-layer OCI image from busybox-static under `parentDir`: /bin/busybox and a symlink per
 * applet, /etc/passwd and /etc/group (root, a `tester` user 1000, nobody), an /etc/os-release that
 * is not the host's, and a sticky /tmp. Timestamps are fixed, so the same options give the same
 * digests.
 */
export async function buildBusyboxImage(
  parentDir: string,
  options: BusyboxImageOptions = {},
): Promise<OciImage> {
  const name = options.name ?? 'busybox';
  const tag = options.tag ?? 'latest';
  const work = await mkdtemp(join(parentDir, 'image-'));
  const rootfs = join(work, 'rootfs');
  try {
    await makeRootfs(rootfs, options.files ?? {});
    const layout = await writeOciLayout(rootfs, join(work, 'layout'), {
      name,
      tag,
      env: options.env,
      cmd: ['sh'],
      workingDir: options.workingDir,
      user: options.user,
      createdBy: 'conveyor test harness: busybox-static',
      rootOwned: true,
      tarball: true,
    });
    await rm(rootfs, { recursive: true, force: true });
    const withData = async <B extends BlobRef>(b: B): Promise<B & Blob> => ({
      ...b,
      data: await readBlob(layout.layoutDir, b.digest),
    });
    return {
      ...layout,
      tarball: tarballOf(layout.layoutDir, name, tag),
      manifest: await withData(layout.manifest),
      config: await withData(layout.config),
      layers: await Promise.all(layout.layers.map(withData)),
    };
  } catch (error) {
    await rm(work, { recursive: true, force: true });
    throw error;
  }
}

const tarballOf = (layoutDir: string, name: string, tag: string) =>
  join(dirname(layoutDir), `${name}-${tag}.tar`);

/**
 * Write an OCI image layout of a root filesystem directory at `layoutDir` (which must not exist
 * yet): one gzipped layer, its config and manifest, index.json naming it `tag` (and containerd's
 * `docker.io/library/<name>:<tag>`), and docker save's manifest.json over the same blobs, so the
 * layout (and its tarball) reads as either format. Every mtime in the layer is fixed and entries
 * are sorted, so the same tree gives the same digests. The layer is streamed: a Debian rootfs is
 * hundreds of megabytes.
 */
export async function writeOciLayout(
  rootfs: string,
  layoutDir: string,
  options: OciLayoutOptions,
): Promise<OciLayout> {
  const { name, tag } = options;
  const blobs = join(layoutDir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const writeBlob = async (mediaType: string, data: Buffer): Promise<BlobRef> => {
    const b = blob(mediaType, data);
    await writeFile(join(blobs, b.digest.slice('sha256:'.length)), data);
    return descriptor(b);
  };

  const layer = await writeLayer(rootfs, blobs, options.rootOwned === true);
  const config = await writeBlob(
    MEDIA_TYPES.config,
    Buffer.from(
      JSON.stringify({
        created: '2024-01-01T00:00:00Z',
        architecture: ociArchitecture(),
        os: 'linux',
        config: {
          Env: options.env ?? ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
          ...(options.cmd ? { Cmd: options.cmd } : {}),
          ...(options.workingDir ? { WorkingDir: options.workingDir } : {}),
          ...(options.user ? { User: options.user } : {}),
        },
        rootfs: { type: 'layers', diff_ids: [layer.diffId] },
        history: [{ created: '2024-01-01T00:00:00Z', created_by: options.createdBy }],
      }),
    ),
  );
  const manifest = await writeBlob(
    MEDIA_TYPES.manifest,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.manifest,
        config,
        layers: [descriptor(layer)],
      }),
    ),
  );
  await writeFile(join(layoutDir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    join(layoutDir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.index,
      manifests: [
        {
          ...manifest,
          annotations: {
            'org.opencontainers.image.ref.name': tag,
            'io.containerd.image.name': `docker.io/library/${name}:${tag}`,
          },
          platform: { architecture: ociArchitecture(), os: 'linux' },
        },
      ],
    }),
  );
  // docker save's index of the same blobs, so the archive reads as either format.
  await writeFile(
    join(layoutDir, 'manifest.json'),
    JSON.stringify([
      {
        Config: `blobs/sha256/${config.digest.slice(7)}`,
        RepoTags: [`${name}:${tag}`],
        Layers: [`blobs/sha256/${layer.digest.slice(7)}`],
      },
    ]),
  );
  if (options.tarball) {
    await tar.c(
      { file: tarballOf(layoutDir, name, tag), cwd: layoutDir, portable: true, mtime: new Date(0) },
      ['oci-layout', 'index.json', 'manifest.json', 'blobs'],
    );
  }
  return { layoutDir, reference: `${name}:${tag}`, name, tag, manifest, config, layers: [layer] };
}

async function makeRootfs(rootfs: string, files: Record<string, string>): Promise<void> {
  for (const dir of ['bin', 'etc', 'tmp', 'root', 'home/tester', 'proc', 'sys', 'dev', 'var', 'usr/bin'])
    await mkdir(join(rootfs, dir), { recursive: true });
  await chmod(join(rootfs, 'tmp'), 0o1777);
  await copyFile(BUSYBOX, join(rootfs, 'bin', 'busybox'));
  await chmod(join(rootfs, 'bin', 'busybox'), 0o755);
  const { stdout } = await run(BUSYBOX, ['--list']);
  for (const applet of stdout.split('\n').filter((a) => a && a !== 'busybox' && !a.includes('/')))
    await symlink('busybox', join(rootfs, 'bin', applet));
  await writeFile(
    join(rootfs, 'etc', 'passwd'),
    'root:x:0:0:root:/root:/bin/sh\ntester:x:1000:1000:tester:/home/tester:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
  );
  await writeFile(join(rootfs, 'etc', 'group'), 'root:x:0:\ntester:x:1000:\nnogroup:x:65534:\n');
  await writeFile(
    join(rootfs, 'etc', 'os-release'),
    'NAME="Conveyor test busybox"\nID=conveyor-busybox\nPRETTY_NAME="Conveyor test busybox"\n',
  );
  for (const [path, content] of Object.entries(files)) {
    const target = join(rootfs, path);
    await mkdir(dirname(target), { recursive: true });
    // A script (`#!`) is executable, as a resource type's /opt/resource/* must be.
    await writeFile(target, content, { mode: content.startsWith('#!') ? 0o755 : 0o644 });
  }
}

/** Hash what passes through; count its bytes. */
function tap(hash: Hash, count?: (bytes: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      count?.(chunk.length);
      done(null, chunk);
    },
  });
}

/**
 * Tar a directory's contents with GNU tar (hard links, device nodes and long names as a
 * distribution's rootfs has them), reproducibly: sorted, one mtime, no atime/ctime or pid in pax
 * headers, numeric owners. Gzipped into blobs/ under its digest; the tar's own digest is the diff id.
 */
async function writeLayer(
  dir: string,
  blobsDir: string,
  rootOwned: boolean,
): Promise<BlobRef & { diffId: string }> {
  const args = [
    '--create',
    '--file=-',
    `--directory=${dir}`,
    '--sort=name',
    '--format=posix',
    '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
    '--mtime=2024-01-01 00:00:00Z',
    '--numeric-owner',
    ...(rootOwned ? ['--owner=0', '--group=0'] : []),
    '.',
  ];
  const child = spawn('tar', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  const diff = createHash('sha256');
  const compressed = createHash('sha256');
  let size = 0;
  const partial = join(blobsDir, `.layer-${randomBytes(6).toString('hex')}`);
  try {
    await pipeline(
      child.stdout,
      tap(diff),
      createGzip({ level: 6 }),
      tap(compressed, (bytes) => {
        size += bytes;
      }),
      createWriteStream(partial),
    );
    const code = await exited;
    if (code !== 0) throw new Error(`tar of ${dir} failed (exit ${code}): ${stderr.slice(-2000)}`);
    const digest = compressed.digest('hex');
    await rename(partial, join(blobsDir, digest));
    return {
      mediaType: MEDIA_TYPES.layerGzip,
      digest: `sha256:${digest}`,
      size,
      diffId: `sha256:${diff.digest('hex')}`,
    };
  } catch (error) {
    child.kill('SIGKILL');
    await rm(partial, { force: true });
    throw error;
  }
}

/** Read a blob of a layout. */
export function readBlob(layoutDir: string, digest: string): Promise<Buffer> {
  return readFile(join(layoutDir, 'blobs', 'sha256', digest.replace(/^sha256:/, '')));
}

/** A scratch directory for images; remove it when done. */
export function imageScratch(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'conveyor-oci-'));
}
