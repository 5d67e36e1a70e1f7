import type { runtime } from '@conveyor/plugin-api';

/**
 * Within one build, an image tag names one image: the first container made from a registry
 * image's tag records the digest the runtime resolved it to, and the build's later containers of
 * that tag ask for that digest. A tag pushed while a build runs (a team's `latest`, a resource
 * type's `v1`) is for the builds after it, as a plugin version installed mid-build is.
 *
 * Containers of one tag made at the same time wait for the first, so they cannot resolve the tag
 * twice. A runtime that does not say what it resolved (one before plugin API 1.3) is not pinned.
 */
export class ImagePins {
  readonly #pins = new Map<string, Promise<string | undefined>>();

  /**
   * Make a container with `create`, given the image to ask for: `image` pinned to the build's
   * digest for its tag when there is one. `create` answers what the runtime resolved.
   */
  async create(
    image: runtime.ContainerSpec['image'],
    create: (image: runtime.ContainerSpec['image']) => Promise<runtime.ResolvedImage | undefined>,
  ): Promise<void> {
    const tag = image.type === 'oci' ? pinnableTag(image) : undefined;
    if (!tag || image.type !== 'oci') return void (await create(image));
    for (;;) {
      const pin = this.#pins.get(tag);
      if (!pin) break;
      const digest = await pin;
      // The first container of the tag failed before resolving it: the next one tries.
      if (this.#pins.get(tag) !== pin) continue;
      return void (await create(digest ? { ...image, reference: `${tag}@${digest}` } : image));
    }
    let settle!: (digest: string | undefined) => void;
    this.#pins.set(tag, new Promise((resolve) => (settle = resolve)));
    try {
      const resolved = await create(image);
      settle(resolved?.reference === image.reference ? resolved.digest : undefined);
    } catch (error) {
      this.#pins.delete(tag);
      settle(undefined);
      throw error;
    }
  }
}

/**
 * The tagged reference (`repository:tag`, `:latest` when it names none) of a registry image the
 * build can pin; undefined for an image already named by digest, one read from an OCI layout (a
 * build's own artifact, which does not change under it), or no image.
 */
function pinnableTag(image: Extract<runtime.ContainerSpec['image'], { type: 'oci' }>): string | undefined {
  if (image.layoutPath !== undefined || image.reference.includes('@')) return undefined;
  const lastPart = image.reference.slice(image.reference.lastIndexOf('/') + 1);
  return lastPart.includes(':') ? image.reference : `${image.reference}:latest`;
}
