import type { runtime } from '@conveyor/plugin-api';
import { describe, expect, it } from 'vitest';
import { ImagePins } from '../../executor/image-pins.js';

type Image = runtime.ContainerSpec['image'];

const digestOf = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;

/**
 * A registry's view of tags, resolved as a runtime resolves them: what a tag points at when the
 * container is made. `asked` is every image the containers were made with.
 */
function registry(tags: Record<string, number>) {
  const asked: Image[] = [];
  let gate: Promise<void> = Promise.resolve();
  return {
    asked,
    tags,
    /** Holds every create until `open` is called, so creates overlap. */
    hold() {
      let open!: () => void;
      gate = new Promise((resolve) => (open = resolve));
      return open;
    },
    async create(image: Image): Promise<runtime.ResolvedImage | undefined> {
      asked.push(image);
      await gate;
      if (image.type !== 'oci') return undefined;
      const at = image.reference.indexOf('@');
      if (at >= 0) return { reference: image.reference, digest: image.reference.slice(at + 1) };
      const number = tags[image.reference];
      if (number === undefined) throw new Error(`manifest unknown: ${image.reference}`);
      return { reference: image.reference, digest: digestOf(number) };
    },
  };
}

const oci = (reference: string, extra: Partial<Image> = {}): Image =>
  ({ type: 'oci', reference, ...extra }) as Image;

describe('image pins', () => {
  it('asks for the digest the first container saw, once the tag has moved', async () => {
    const world = registry({ 'example.com/tools:latest': 1 });
    const pins = new ImagePins();
    await pins.create(oci('example.com/tools:latest'), world.create);
    world.tags['example.com/tools:latest'] = 2;
    await pins.create(oci('example.com/tools:latest', { username: 'u', password: 'p' }), world.create);

    expect(world.asked).toEqual([
      oci('example.com/tools:latest'),
      oci(`example.com/tools:latest@${digestOf(1)}`, { username: 'u', password: 'p' }),
    ]);
    // Another build pins afresh.
    const next = new ImagePins();
    await next.create(oci('example.com/tools:latest'), world.create);
    expect(world.asked.at(-1)).toEqual(oci('example.com/tools:latest'));
  });

  it('names the implied tag when pinning a reference without one', async () => {
    const world = registry({ busybox: 1 });
    const pins = new ImagePins();
    await pins.create(oci('busybox'), world.create);
    await pins.create(oci('busybox'), world.create);
    expect(world.asked.at(-1)).toEqual(oci(`busybox:latest@${digestOf(1)}`));
  });

  it('resolves a tag once when containers of it are made together', async () => {
    const world = registry({ 'tools:v1': 1 });
    const pins = new ImagePins();
    const open = world.hold();
    const made = Promise.all([1, 2, 3].map(() => pins.create(oci('tools:v1'), world.create)));
    await new Promise((resolve) => setImmediate(resolve));
    // Only the first is being made; the others wait for what it resolves.
    expect(world.asked).toEqual([oci('tools:v1')]);
    world.tags['tools:v1'] = 2;
    open();
    await made;
    expect(world.asked.slice(1)).toEqual([oci(`tools:v1@${digestOf(2)}`), oci(`tools:v1@${digestOf(2)}`)]);
  });

  it('lets the next container resolve the tag when the first one failed', async () => {
    const world = registry({ 'tools:v1': 3 });
    const pins = new ImagePins();
    const open = world.hold();
    let failed = false;
    // The first create fails (say, its snapshot could not be made) after the tag was resolved.
    const failingOnce = async (image: Image) => {
      const resolved = await world.create(image);
      if (failed) return resolved;
      failed = true;
      throw new Error('no space left on device');
    };
    const first = pins.create(oci('tools:v1'), failingOnce);
    const second = pins.create(oci('tools:v1'), failingOnce);
    open();
    await expect(first).rejects.toThrow('no space left on device');
    await second;
    // The second was not pinned to what the failed one saw: it resolved the tag itself.
    expect(world.asked).toEqual([oci('tools:v1'), oci('tools:v1')]);
    await pins.create(oci('tools:v1'), world.create);
    expect(world.asked.at(-1)).toEqual(oci(`tools:v1@${digestOf(3)}`));
  });

  it('leaves digests, OCI layouts, volumes and the host alone', async () => {
    const world = registry({ 'tools:v1': 5 });
    const pins = new ImagePins();
    const images: Image[] = [
      oci(`tools@${digestOf(4)}`),
      oci('tools:v1', { layoutPath: '/volumes/image/image.tar' }),
      { type: 'volume', volume: { handle: 'v', location: { type: 'host-path', path: '/v' } } } as Image,
      { type: 'host' },
    ];
    for (const image of [...images, ...images]) await pins.create(image, world.create);
    expect(world.asked).toEqual([...images, ...images]);
  });

  it('does not pin where the runtime does not say what it resolved', async () => {
    const pins = new ImagePins();
    const asked: Image[] = [];
    const create = async (image: Image) => {
      asked.push(image);
      return undefined;
    };
    await pins.create(oci('tools:v1'), create);
    await pins.create(oci('tools:v1'), create);
    expect(asked).toEqual([oci('tools:v1'), oci('tools:v1')]);
  });
});
