import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { VolumeRef } from '@conveyor/plugin-api';
import { type TarEntry, tarOf } from '@conveyor/plugin-api/testing';
import { MEDIA_TYPES, type OciImage } from '@conveyor/test/harness/oci-images.js';
import * as tar from 'tar';

const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** A fresh directory for a step, as the naive volume driver would give it. */
export async function stepDirectory(
  scratch: string,
  name: string,
): Promise<{ ref: VolumeRef; path: string }> {
  const path = join(scratch, name);
  await mkdir(path, { recursive: true });
  return { ref: { handle: name, driver: 'naive', location: { type: 'host-path', path } }, path };
}

/**
 * An image made of `base`'s layers plus one uncompressed layer of `entries`, built by hand (no tool
 * writes whiteouts on purpose): its config is the base's with the new diff id appended.
 */
export function withLayer(base: OciImage, entries: TarEntry[], env?: string[]): OciImage {
  const layerData = tarOf(entries);
  const layer = {
    mediaType: 'application/vnd.oci.image.layer.v1.tar',
    digest: sha256(layerData),
    size: layerData.length,
    data: layerData,
    diffId: sha256(layerData),
  };
  const baseConfig = JSON.parse(base.config.data.toString('utf8')) as {
    config: { Env?: string[] };
    rootfs: { diff_ids: string[] };
  };
  const configData = Buffer.from(
    JSON.stringify({
      ...baseConfig,
      config: { ...baseConfig.config, ...(env ? { Env: env } : {}) },
      rootfs: { type: 'layers', diff_ids: [...baseConfig.rootfs.diff_ids, layer.diffId] },
    }),
  );
  const config = {
    mediaType: MEDIA_TYPES.config,
    digest: sha256(configData),
    size: configData.length,
    data: configData,
  };
  const layers = [...base.layers, layer];
  const manifestData = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.manifest,
      config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
      layers: layers.map(({ mediaType, digest, size }) => ({ mediaType, digest, size })),
    }),
  );
  const manifest = {
    mediaType: MEDIA_TYPES.manifest,
    digest: sha256(manifestData),
    size: manifestData.length,
    data: manifestData,
  };
  return { ...base, manifest, config, layers };
}

/**
 * A copy of an image tarball with `change` applied to its unpacked files first (tamper with a blob,
 * drop index.json to leave a docker save archive).
 */
export async function rewriteTarball(
  tarball: string,
  into: string,
  change: (dir: string) => Promise<void>,
): Promise<string> {
  const dir = `${into}.d`;
  await mkdir(dir, { recursive: true });
  try {
    await tar.x({ file: tarball, cwd: dir });
    await change(dir);
    const names = ['oci-layout', 'index.json', 'manifest.json', 'blobs'];
    const present: string[] = [];
    for (const name of names)
      if (
        await readFile(join(dir, name)).then(
          () => true,
          (e: NodeJS.ErrnoException) => e.code === 'EISDIR',
        )
      )
        present.push(name);
    await tar.c({ file: into, cwd: dir, portable: true }, present);
    return into;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Flip a byte in the middle of a blob of an unpacked layout, keeping its name. */
export async function tamperBlob(dir: string, digest: string): Promise<void> {
  const path = join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length));
  const data = await readFile(path);
  const at = Math.floor(data.length / 2);
  data[at] = (data[at] ?? 0) ^ 0xff;
  await writeFile(path, data);
}
