import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
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

export interface Blob {
  mediaType: string;
  digest: string;
  size: number;
  /** The bytes, as written to blobs/sha256/. */
  data: Buffer;
}

/** An OCI image layout on disk, and everything a test needs to know about it. */
export interface OciImage {
  /** The directory with oci-layout, index.json and blobs/sha256/. */
  layoutDir: string;
  /** The same layout as one tar (an OCI archive that also carries docker save's manifest.json). */
  tarball: string;
  /** `name:tag`, as in index.json's org.opencontainers.image.ref.name annotation (the tag). */
  reference: string;
  name: string;
  tag: string;
  manifest: Blob;
  config: Blob;
  layers: Array<Blob & { diffId: string }>;
}

export interface BusyboxImageOptions {
  name?: string;
  tag?: string;
  /** Extra files in the image (path → content), e.g. to make a second, different image. */
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

const descriptor = ({ mediaType, digest, size }: Blob) => ({ mediaType, digest, size });

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
    const layerTar = await tarDirectory(rootfs);
    const layer = {
      ...blob(MEDIA_TYPES.layerGzip, gzipSync(layerTar, { level: 6 })),
      diffId: sha256(layerTar),
    };
    const config = blob(
      MEDIA_TYPES.config,
      Buffer.from(
        JSON.stringify({
          created: '2024-01-01T00:00:00Z',
          architecture: ociArchitecture(),
          os: 'linux',
          config: {
            Env: options.env ?? ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
            Cmd: ['sh'],
            ...(options.workingDir ? { WorkingDir: options.workingDir } : {}),
            ...(options.user ? { User: options.user } : {}),
          },
          rootfs: { type: 'layers', diff_ids: [layer.diffId] },
          history: [{ created: '2024-01-01T00:00:00Z', created_by: 'conveyor test harness: busybox-static' }],
        }),
      ),
    );
    const manifest = blob(
      MEDIA_TYPES.manifest,
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MEDIA_TYPES.manifest,
          config: descriptor(config),
          layers: [descriptor(layer)],
        }),
      ),
    );

    const layoutDir = join(work, 'layout');
    await mkdir(join(layoutDir, 'blobs', 'sha256'), { recursive: true });
    for (const b of [layer, config, manifest])
      await writeFile(join(layoutDir, 'blobs', 'sha256', b.digest.slice('sha256:'.length)), b.data);
    await writeFile(join(layoutDir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    await writeFile(
      join(layoutDir, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.index,
        manifests: [
          {
            ...descriptor(manifest),
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
    const tarball = join(work, `${name}-${tag}.tar`);
    await tar.c({ file: tarball, cwd: layoutDir, portable: true, mtime: new Date(0) }, [
      'oci-layout',
      'index.json',
      'manifest.json',
      'blobs',
    ]);
    await rm(rootfs, { recursive: true, force: true });
    return { layoutDir, tarball, reference: `${name}:${tag}`, name, tag, manifest, config, layers: [layer] };
  } catch (error) {
    await rm(work, { recursive: true, force: true });
    throw error;
  }
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
    await writeFile(target, content);
  }
}

/** A tar of a directory's contents with fixed timestamps; `portable` leaves owners out (root). */
async function tarDirectory(dir: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const stream = tar.c(
    {
      cwd: dir,
      portable: true,
      mtime: new Date('2024-01-01T00:00:00Z'),
    },
    ['.'],
  );
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Read a blob of a layout. */
export function readBlob(layoutDir: string, digest: string): Promise<Buffer> {
  return readFile(join(layoutDir, 'blobs', 'sha256', digest.replace(/^sha256:/, '')));
}

/** A scratch directory for images; remove it when done. */
export function imageScratch(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'conveyor-oci-'));
}
