import { mkdir } from 'node:fs/promises';
import { defineRuntime, PluginError, type runtime } from '@conveyor/plugin-api';
import { containersRoot, type LocalRuntimeConfig } from './config.js';
import { containerPath } from './container-paths.js';
import { ContainerStore, matchesLabels } from './container-store.js';
import { assertCurrentUser } from './current-user.js';
import { linkMounts } from './mounts.js';
import { signalGroup } from './process-groups.js';
import { runProcess } from './run-process.js';

export type { LocalRuntimeConfig } from './config.js';

const store = (config: LocalRuntimeConfig) => new ContainerStore(containersRoot(config));

/**
 * The local runtime: steps run as plain processes on this host. A container is a directory that
 * stands in for `/`; nothing is isolated, so it suits a laptop or a trusted single machine.
 */
export default defineRuntime<LocalRuntimeConfig>({
  info: () => ({
    platform: process.platform,
    capabilities: { isolation: false, privileged: false, tty: false, reattach: false },
  }),

  async createContainer({ handle, spec, labels }, { config, log }) {
    assertRunnable(spec);
    for (const ignored of ignoredSettings(spec))
      log(`container ${handle}: ${ignored} is ignored by the local runtime`);
    const containers = store(config);
    const record = {
      handle,
      spec,
      labels: labels ?? {},
      state: 'created' as const,
      createdAt: new Date().toISOString(),
    };
    await containers.create(record, async (rootDir) => {
      const workingDir = containerPath(rootDir, rootDir, spec.dir ?? '.', 'working directory');
      await linkMounts(rootDir, workingDir, spec.mounts ?? []);
      await mkdir(workingDir, { recursive: true });
    });
    return { container: containerInfo(record, 'created') };
  },

  run: (request, context) => runProcess(store(context.config), request, context),

  async signal({ handle, processId, signal }, { config }) {
    const started = await store(config).readProcess(handle, processId);
    return { delivered: started ? signalGroup(started.pgid, signal) : false };
  },

  async destroyContainer({ handle }, { config, log }) {
    return { destroyed: await store(config).destroy(handle, log) };
  },

  async listContainers({ labels }, { config }) {
    const containers = await store(config).list();
    return {
      containers: containers
        .filter(({ record }) => matchesLabels(record.labels, labels))
        .map(({ record, state }) => containerInfo(record, state)),
    };
  },
});

/** Refuse what the local runtime cannot do, before anything is made. */
function assertRunnable(spec: runtime.ContainerSpec): void {
  if (spec.image.type !== 'host') {
    throw new PluginError(
      'LOCAL_IMAGE_UNSUPPORTED',
      `the local runtime cannot run images (got a ${spec.image.type} image): it runs steps on the host itself; use the containerd runtime for steps with an image`,
    );
  }
  if (spec.privileged) {
    throw new PluginError(
      'LOCAL_PRIVILEGED_UNSUPPORTED',
      'the local runtime has no privileged mode: steps run as the user that runs Conveyor; use the containerd runtime',
    );
  }
  assertCurrentUser(spec.user, 'the container');
}

/** Settings the local runtime accepts but cannot honour without isolation. */
function ignoredSettings(spec: runtime.ContainerSpec): string[] {
  const ignored: string[] = [];
  if (spec.limits) ignored.push('limits');
  if (spec.hostname) ignored.push('hostname');
  if (spec.mounts?.some((m) => m.readOnly)) ignored.push('readOnly on mounts');
  return ignored;
}

function containerInfo(
  record: { handle: string; labels: Record<string, string>; createdAt: string },
  state: runtime.ContainerState,
): runtime.ContainerInfo {
  return { handle: record.handle, state, labels: record.labels, createdAt: record.createdAt };
}
