import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { MEDIA_TYPES } from './media-types.js';
import { type PackedPlugin, tarFiles } from './pack.js';

/**
 * A packed plugin as an OCI image layout in a tar (`oci-layout`, `index.json`, `blobs/sha256/…`),
 * which `oras cp`, `skopeo copy oci-archive:` and `crane` can push anywhere. The index tags the
 * manifest with the version (`org.opencontainers.image.ref.name`).
 */
export async function ociLayoutTar(packed: PackedPlugin): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'cc-plugin-layout-'));
  try {
    const files = ['oci-layout', 'index.json'];
    await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    const index = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociIndex,
      manifests: [
        {
          ...packed.artifact.descriptor,
          artifactType: MEDIA_TYPES.plugin,
          annotations: { 'org.opencontainers.image.ref.name': packed.manifest.version },
        },
      ],
    };
    await writeFile(join(dir, 'index.json'), JSON.stringify(index));
    for (const blob of [packed.config, packed.layer, packed.artifact]) {
      const path = `blobs/${blob.descriptor.digest.replace(':', '/')}`;
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), blob.data);
      files.push(path);
    }
    return await tarFiles(dir, ['blobs/', 'blobs/sha256/', ...files.sort()]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
