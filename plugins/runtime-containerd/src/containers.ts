import { chown, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { type CallContext, type Labels, PluginError, type runtime } from '@conveyor/plugin-api';
import type { FilledConfig } from './config.js';
import { type ContainerdClient, ignoreNotFound, isAlreadyExists } from './containerd-client.js';
import type { Container, Mount, Process } from './containerd-types.js';
import { withMounted } from './host-mounts.js';
import { BASE_PROCESS_EXTENSION, containerDir, containerdId, LABEL_PREFIX, LABELS, leaseId } from './ids.js';
import type { OciImageSpec } from './image-sources.js';
import { ensureImage } from './images.js';
import { buildSpec, INIT_PATH, PROCESS_TYPE_URL, SPEC_TYPE_URL, toAny } from './oci-spec.js';
import {
  type IdMapping,
  overlayOnHostDir,
  prepareSnapshot,
  remapOverlay,
  remappedSnapshot,
} from './rootfs.js';
import { needsUserDatabase, resolveUser } from './users.js';

/** Image config values a volume image may carry in its metadata, as a get step reports them. */
interface VolumeImageMetadata {
  env?: string[] | Record<string, string>;
  user?: string;
  workingDir?: string;
}

/**
 * A volume in the layout of Concourse's image artifacts (what registry-image's get writes, and
 * what a task's `image:` names): the root filesystem in `rootfs/`, the image's env and user in
 * `metadata.json`. Undefined for a volume that is a root filesystem itself.
 */
async function concourseImageLayout(
  path: string,
  handle: string,
): Promise<{ rootfs: string; metadata: VolumeImageMetadata } | undefined> {
  const rootfs = join(path, 'rootfs');
  if (!(await stat(rootfs).catch(() => undefined))?.isDirectory()) return undefined;
  const text = await readFile(join(path, 'metadata.json'), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const parsed = JSON.parse(text) as VolumeImageMetadata;
    return { rootfs, metadata: typeof parsed === 'object' && parsed !== null ? parsed : {} };
  } catch (error) {
    throw new PluginError(
      'CONTAINERD_IMAGE_CORRUPT',
      `the image volume ${handle} has rootfs/ and a metadata.json that is not JSON (${(error as Error).message}); it is the image's env and user, as Concourse's registry-image writes it`,
    );
  }
}

/**
 * Create a container: a lease first (everything made for the container is kept from containerd's
 * garbage collector until destroy deletes it), the image pulled or imported and unpacked, the
 * container's writable snapshot on top (remapped for its user namespace), its OCI spec, and the
 * container record. Anything made before a failure is removed again.
 */
export async function createContainer(
  client: ContainerdClient,
  config: FilledConfig,
  request: runtime.CreateContainerRequest,
  context: CallContext<unknown>,
): Promise<runtime.ContainerInfo> {
  const { handle, spec } = request;
  const labels = request.labels ?? {};
  for (const key of Object.keys(labels)) {
    if (key.startsWith(LABEL_PREFIX)) {
      throw new PluginError(
        'CONTAINERD_RESERVED_LABEL',
        `label ${key} is reserved for the containerd runtime's own use`,
      );
    }
  }
  // No image of its own (a Concourse task without image_resource): the configured default image.
  const image: Exclude<runtime.ContainerSpec['image'], { type: 'host' }> =
    spec.image.type === 'host' ? { type: 'oci', ...defaultImage(config, handle) } : spec.image;
  const id = containerdId(handle);
  if (await ignoreNotFound(client.call('containers', 'Get', { id }))) throw alreadyExists(handle);

  const lease = leaseId(id);
  try {
    await client.call('leases', 'Create', { id: lease, labels: { [LABELS.handle]: handle } });
  } catch (error) {
    // Left by a create that died half-way: it is ours to reuse.
    if (!isAlreadyExists(error)) throw error;
  }
  const leased = client.withLease(lease);
  const dir = containerDir(config, id);
  const mapping: IdMapping | undefined =
    spec.privileged || config.userNamespace === false ? undefined : config.userNamespace;

  try {
    // The shim (host root) and the container's root (a mapped uid) both look into it.
    await mkdir(dir, { recursive: true, mode: 0o711 });
    let imageName = '';
    let resolved: runtime.ResolvedImage | undefined;
    let imageEnv: string[] = [];
    let imageUser: string | undefined;
    let imageDir: string | undefined;
    let mounts: Mount[];
    let lower: string | undefined;
    if (image.type === 'oci') {
      const unpacked = await ensureImage(leased, image, {
        snapshotter: config.snapshotter,
        scratchDir: dir,
        signal: context.signal,
        log: context.log,
      });
      imageName = unpacked.name;
      resolved = { reference: image.reference, digest: unpacked.target.digest };
      imageEnv = unpacked.config.config?.Env ?? [];
      imageUser = unpacked.config.config?.User || undefined;
      imageDir = unpacked.config.config?.WorkingDir || undefined;
      const parent = mapping ? await remappedSnapshot(leased, config, unpacked, mapping) : unpacked.chainId;
      mounts = await prepareSnapshot(leased, config, id, parent, { [LABELS.handle]: handle });
    } else {
      const location = image.volume.location;
      if (location.type !== 'host-path') {
        throw new PluginError(
          'CONTAINERD_IMAGE_UNSUPPORTED',
          `the image volume ${image.volume.handle} is a ${location.type} volume; the containerd runtime takes root filesystems from host-path volumes only`,
        );
      }
      const layout = await concourseImageLayout(location.path, image.volume.handle);
      lower = layout?.rootfs ?? location.path;
      const metadata = (image.metadata ?? layout?.metadata ?? {}) as VolumeImageMetadata;
      imageEnv = Array.isArray(metadata.env)
        ? metadata.env
        : Object.entries(metadata.env ?? {}).map(([key, value]) => `${key}=${value}`);
      imageUser = metadata.user || undefined;
      imageDir = metadata.workingDir || undefined;
      mounts = await overlayOnHostDir(
        lower,
        await prepareSnapshot(leased, config, id, '', { [LABELS.handle]: handle }),
      );
      if (mapping) await remapOverlay(mounts, config, mapping);
    }

    const workingDir = posix.resolve('/', spec.dir ?? imageDir ?? '/');
    const userName = spec.user ?? imageUser;
    const where = `container ${handle}`;
    const user = needsUserDatabase(userName)
      ? await withMounted(mounts, dir, (root) => resolveUser(userName, root, where))
      : await resolveUser(userName, undefined, where);

    const hostsFile = join(dir, 'hosts');
    const resolvConfFile = join(dir, 'resolv.conf');
    const hostname = spec.hostname ?? id.slice(0, 63);
    await writeFile(
      hostsFile,
      `127.0.0.1\tlocalhost ${hostname}\n::1\tlocalhost ip6-localhost ip6-loopback\n`,
    );
    await writeFile(resolvConfFile, await readFile(config.resolvConf).catch(() => ''));
    if (mapping) {
      // Root in the container owns its /etc/hosts and /etc/resolv.conf, as it would its own files.
      for (const file of [hostsFile, resolvConfFile]) await chown(file, mapping.hostUid, mapping.hostGid);
    }

    const ociSpec = buildSpec({
      id,
      spec: { ...spec, hostname },
      imageEnv,
      workingDir,
      user,
      mapping,
      hostsFile,
      resolvConfFile,
      config,
    });
    const ownLabels: Labels = {
      [LABELS.handle]: handle,
      [LABELS.lease]: lease,
      [LABELS.dir]: workingDir,
      ...(lower ? { [LABELS.rootfsLower]: lower } : {}),
      ...(config.init ? { [LABELS.init]: INIT_PATH } : {}),
      ...(mapping ? { [LABELS.userns]: `${mapping.hostUid}:${mapping.hostGid}:${mapping.size}` } : {}),
    };
    const { container } = await leased.call<{ container: Container }>('containers', 'Create', {
      container: {
        id,
        labels: { ...labels, ...ownLabels },
        image: imageName,
        runtime: { name: config.runtime },
        spec: toAny(SPEC_TYPE_URL, ociSpec),
        extensions: { [BASE_PROCESS_EXTENSION]: toAny(PROCESS_TYPE_URL, ociSpec.process) },
        snapshotter: config.snapshotter,
        snapshot_key: id,
      },
    });
    return { ...containerInfo(container, 'created'), ...(resolved ? { image: resolved } : {}) };
  } catch (error) {
    if (isAlreadyExists(error)) {
      // Another call created the same handle meanwhile: leave its snapshot, lease and files alone.
      throw alreadyExists(handle);
    }
    await ignoreNotFound(
      client.call('snapshots', 'Remove', { snapshotter: config.snapshotter, key: id }),
    ).catch(() => undefined);
    await ignoreNotFound(client.call('leases', 'Delete', { id: lease })).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** The container record for a handle, or a CONTAINERD_CONTAINER_NOT_FOUND error. */
export async function getContainer(client: ContainerdClient, handle: string): Promise<Container> {
  const found = await ignoreNotFound(
    client.call<{ container: Container }>('containers', 'Get', { id: containerdId(handle) }),
  );
  if (!found || found.container.labels[LABELS.handle] !== handle) {
    throw new PluginError(
      'CONTAINERD_CONTAINER_NOT_FOUND',
      `container ${handle} does not exist in containerd (namespace ${client.namespace})`,
    );
  }
  return found.container;
}

/** The mounts a task's rootfs is made of: the container's snapshot, under an overlay for a volume image. */
export async function rootfsMounts(client: ContainerdClient, container: Container): Promise<Mount[]> {
  const { mounts } = await client.call<{ mounts: Mount[] }>('snapshots', 'Mounts', {
    snapshotter: container.snapshotter,
    key: container.snapshot_key,
  });
  const lower = container.labels[LABELS.rootfsLower];
  return lower ? overlayOnHostDir(lower, mounts) : mounts;
}

/** How long destroy waits for a killed task to exit. */
const KILL_WAIT_MS = 10_000;

/**
 * Destroy a container and everything made for it: its processes (SIGKILL to all), task, record,
 * snapshot, lease and files. Idempotent: each part may be gone already (a destroy that died
 * half-way, a crash); false when nothing at all was left.
 */
export async function destroyContainer(
  client: ContainerdClient,
  config: FilledConfig,
  handle: string,
): Promise<boolean> {
  const id = containerdId(handle);
  const existing = await ignoreNotFound(client.call<{ container: Container }>('containers', 'Get', { id }));
  if (existing && existing.container.labels[LABELS.handle] !== handle) return false;
  let found = existing !== undefined;

  const task = await ignoreNotFound(client.call<{ process: Process }>('tasks', 'Get', { container_id: id }));
  if (task) {
    found = true;
    if (task.process.status !== 'STOPPED') {
      await client.call('tasks', 'Kill', { container_id: id, signal: 9, all: true }).catch(() => undefined);
      await client
        .call('tasks', 'Wait', { container_id: id }, { timeoutMs: KILL_WAIT_MS })
        .catch(() => undefined);
    }
    await ignoreNotFound(client.call('tasks', 'Delete', { container_id: id }));
  }
  await ignoreNotFound(client.call('containers', 'Delete', { id }));
  const snapshotter = existing?.container.snapshotter || config.snapshotter;
  if (await ignoreNotFound(client.call('snapshots', 'Remove', { snapshotter, key: id }))) found = true;
  if (await ignoreNotFound(client.call('leases', 'Delete', { id: leaseId(id) }))) found = true;
  await rm(containerDir(config, id), { recursive: true, force: true });
  return found;
}

/** Conveyor's containers in containerd, with the state of their task, those with `wanted` labels. */
export async function listContainers(
  client: ContainerdClient,
  wanted: Labels | undefined,
): Promise<runtime.ContainerInfo[]> {
  const { containers } = await client.call<{ containers: Container[] }>('containers', 'List', {
    filters: [`labels."${LABELS.handle}"`],
  });
  const { tasks } = await client.call<{ tasks: Process[] }>('tasks', 'List', {});
  // A task is listed as its init process, whose id is the container's.
  const taskOf = new Map(tasks.map((t) => [t.container_id || t.id, t]));
  return containers
    .filter((c) => Object.entries(wanted ?? {}).every(([key, value]) => c.labels[key] === value))
    .map((c) => containerInfo(c, stateOf(taskOf.get(c.id))))
    .sort((a, b) => a.handle.localeCompare(b.handle));
}

function stateOf(task: Process | undefined): runtime.ContainerState {
  if (!task) return 'created';
  switch (task.status) {
    case 'CREATED':
      return 'created';
    case 'RUNNING':
    case 'PAUSED':
    case 'PAUSING':
      return 'running';
    case 'STOPPED':
      return 'stopped';
    default:
      return 'unknown';
  }
}

export function containerInfo(container: Container, state: runtime.ContainerState): runtime.ContainerInfo {
  const labels = Object.fromEntries(
    Object.entries(container.labels).filter(([key]) => !key.startsWith(LABEL_PREFIX)),
  );
  const created = container.created_at;
  return {
    handle: container.labels[LABELS.handle] ?? container.id,
    state,
    labels,
    ...(created
      ? { createdAt: new Date(created.seconds * 1000 + Math.floor(created.nanos / 1e6)).toISOString() }
      : {}),
  };
}

/** The image of a container whose step has none: the configured default, or a refusal. */
function defaultImage(config: FilledConfig, handle: string): OciImageSpec {
  if (!config.defaultImage) {
    throw new PluginError(
      'CONTAINERD_NO_DEFAULT_IMAGE',
      `container ${handle} has no image (its task has no image_resource), and the containerd runtime has no default image: give the task an image_resource (or image), or set \`defaultImage\` in the runtime's configuration (e.g. { reference: "debian:bookworm" }) for tasks written for a worker with a default rootfs`,
    );
  }
  return config.defaultImage;
}

function alreadyExists(handle: string): PluginError {
  return new PluginError(
    'CONTAINERD_CONTAINER_EXISTS',
    `container ${handle} already exists; choose another handle or destroy it first`,
  );
}
