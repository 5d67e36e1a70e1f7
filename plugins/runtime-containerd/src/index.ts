import { defineRuntime } from '@conveyor/plugin-api';
import { type ContainerdRuntimeConfig, type FilledConfig, fillConfig } from './config.js';
import { ContainerdClient, unreachable } from './containerd-client.js';
import { createContainer, destroyContainer, listContainers } from './containers.js';
import { runProcess, signalProcess } from './tasks.js';

export type { ContainerdRuntimeConfig } from './config.js';

/** One connection per socket and namespace in each worker thread. */
const clients = new Map<string, ContainerdClient>();

function connect(config: ContainerdRuntimeConfig): { client: ContainerdClient; filled: FilledConfig } {
  const filled = fillConfig(config);
  const key = `${filled.address}\0${filled.namespace}`;
  let client = clients.get(key);
  if (!client) {
    client = new ContainerdClient({ address: filled.address, namespace: filled.namespace });
    clients.set(key, client);
  }
  return { client, filled };
}

/** Say what to check when containerd is not there, instead of a bare gRPC status. */
async function explained<T>(config: FilledConfig, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    throw unreachable(config.address, error) ?? error;
  }
}

/**
 * The containerd runtime: each container is a containerd container whose rootfs is a snapshot of
 * an OCI image, isolated by namespaces (a user namespace unless privileged) and limited by cgroups,
 * its processes run by runc through containerd's gRPC API.
 */
export default defineRuntime<ContainerdRuntimeConfig>({
  info(_request, { config }) {
    const { userNamespace, defaultImage } = fillConfig(config);
    return {
      platform: 'linux',
      capabilities: {
        isolation: true,
        privileged: true,
        tty: true,
        reattach: true,
        defaultImage: defaultImage !== undefined,
      },
      // Volumes an unprivileged container writes to must belong to its root: the range's first id.
      ...(userNamespace ? { idMapping: { ...userNamespace } } : {}),
    };
  },

  createContainer(request, context) {
    const { client, filled } = connect(context.config);
    return explained(filled, createContainer(client, filled, request, context)).then((container) => ({
      container,
    }));
  },

  run(request, context) {
    const { client, filled } = connect(context.config);
    return explained(filled, runProcess(client, filled, request, context));
  },

  signal(request, { config }) {
    const { client, filled } = connect(config);
    return explained(filled, signalProcess(client, request));
  },

  async destroyContainer({ handle }, { config }) {
    const { client, filled } = connect(config);
    return { destroyed: await explained(filled, destroyContainer(client, filled, handle)) };
  },

  async listContainers({ labels }, { config }) {
    const { client, filled } = connect(config);
    return { containers: await explained(filled, listContainers(client, labels)) };
  },
});
