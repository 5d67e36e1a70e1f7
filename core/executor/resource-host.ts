import type { HostMethods, runtime, VolumeRef } from '@conveyor/plugin-api';
import { ConveyorError } from '../errors/index.js';
import type { HostServiceHandlers, PluginClient } from '../plugins/index.js';
import type { BuildContext } from './build-context.js';
import { runInterruptibly } from './process-runner.js';
import type { ResourceTypeImage } from './types.js';

/** Where a resource process's container comes from and goes. */
export interface ResourceContainers {
  create(spec: runtime.ContainerSpec): Promise<string>;
  /** Called once the process has ended (a build's ledger releases its containers at the end instead). */
  release?(handle: string): Promise<void>;
}

export interface ResourceImageRunOptions {
  runtime: PluginClient<'runtime'>;
  volumes: PluginClient<'volume'>;
  runtimeInfo(): Promise<runtime.InfoResponse>;
  type: ResourceTypeImage;
  containers: ResourceContainers;
  /** The volumes the call's own request named: the only ones a request may mount. */
  allowed: readonly VolumeRef[];
  /** The process's stderr, as it comes: Concourse resources write their progress there. */
  onStderr(data: string): void;
  killGracePeriodMs: number;
}

/** How much of a resource process's stderr its answer repeats, for the plugin's error message. */
const kStderrTailChars = 4096;

/** Most stdout kept from a resource process: its JSON answer, never a stream of data. */
const kMaxStdoutBytes = 16 * 1024 * 1024;

/**
 * `host.run` for a call of the `concourse` resource type: one process in a fresh container of the
 * runtime, in the resource type's image, mounting only volumes the call's request named. Within a
 * user namespace (an unprivileged container on a runtime with one), mounted volumes are first
 * owned by its ids, so the resource's root can write them; the shift is idempotent.
 */
export function resourceImageHost(options: ResourceImageRunOptions): HostServiceHandlers {
  return { run: (request, signal) => runInResourceImage(options, request, signal) };
}

async function runInResourceImage(
  options: ResourceImageRunOptions,
  request: HostMethods['run']['request'],
  signal: AbortSignal,
): Promise<HostMethods['run']['response']> {
  const { type } = options;
  const info = await options.runtimeInfo();
  if (!info.capabilities.isolation) {
    throw new ConveyorError(
      'CC_E_EXEC_RESOURCE_IMAGE_UNSUPPORTED',
      `resource type ${JSON.stringify(type.name)} is a Concourse resource-type image, and the runtime ${options.runtime.id} runs no images (it runs processes on the host); use a runtime with containers, e.g. \`runtime: containerd\` in conveyor.yaml`,
      { details: { resourceType: type.name, runtime: options.runtime.id } },
    );
  }
  const mounts: runtime.Mount[] = [];
  for (const [i, mount] of (request.mounts ?? []).entries()) {
    const allowed = options.allowed.find((volume) => volume.handle === mount.volume.handle);
    if (!allowed) {
      throw new ConveyorError(
        'CC_E_PLUGIN_HOST_SERVICE_BAD_REQUEST',
        `host.run: mounts[${i}].volume ${JSON.stringify(mount.volume.handle)} is not a volume this call was given`,
        { details: { handle: mount.volume.handle } },
      );
    }
    // The host's record of the volume, not the plugin's copy of it.
    mounts.push({ volume: allowed, destination: mount.destination });
  }
  if (info.idMapping && !type.privileged) {
    for (const mount of mounts) {
      await options.volumes.call('shiftOwnership', {
        handle: mount.volume.handle,
        idMapping: info.idMapping,
      });
    }
  }

  const image = await type.image();
  const handle = await options.containers.create({
    image,
    ...(request.env ? { env: request.env } : {}),
    dir: request.dir ?? '/',
    mounts,
    ...(type.privileged ? { privileged: true } : {}),
  });
  try {
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderrTail = '';
    const result = await runInterruptibly(
      options.runtime,
      {
        handle,
        processId: 'resource',
        process: { path: request.path, args: request.args ?? [] },
        ...(request.stdin === undefined ? {} : { stdin: true }),
      },
      {
        signal,
        graceMs: options.killGracePeriodMs,
        input: request.stdin === undefined ? undefined : [Buffer.from(request.stdin, 'utf8')],
        onOutput: (stream, data) => {
          if (stream === 'stderr') {
            stderrTail = (stderrTail + data).slice(-kStderrTailChars);
            return options.onStderr(data);
          }
          stdoutBytes += Buffer.byteLength(data);
          if (stdoutBytes <= kMaxStdoutBytes) stdout.push(Buffer.from(data, 'utf8'));
        },
      },
    );
    if (result.interrupted) throw signal.reason ?? new Error('the resource process was interrupted');
    if (stdoutBytes > kMaxStdoutBytes) {
      throw new ConveyorError(
        'CC_E_EXEC_RESOURCE_OUTPUT_TOO_LARGE',
        `${request.path} of resource type ${JSON.stringify(type.name)} wrote ${stdoutBytes} bytes to stdout; a resource answers with one JSON value, at most ${kMaxStdoutBytes} bytes (write progress to stderr)`,
      );
    }
    return { exitStatus: result.exitStatus, stdout: Buffer.concat(stdout).toString('utf8'), stderrTail };
  } finally {
    // A container that cannot be destroyed now stays recorded for gc; the answer stands.
    await options.containers.release?.(handle).catch(() => undefined);
  }
}

/**
 * The host services of one resource-type call of a build step: `run` where the step's type is a
 * Concourse resource-type image, in a container the build's ledger records (and releases when the
 * build ends, or keeps for `cc intercept` when it failed). None for plugin types.
 */
export function resourceCallHost(
  build: BuildContext,
  stepId: string,
  resourceType: string,
  allowed: readonly VolumeRef[],
  onOutput: (stream: 'stdout' | 'stderr' | 'log', data: string) => void,
): HostServiceHandlers | undefined {
  const type = build.deps.resourceTypeImage?.(resourceType);
  if (!type) return undefined;
  return resourceImageHost({
    runtime: build.deps.runtime,
    volumes: build.deps.volumes,
    runtimeInfo: () => build.runtimeInfo(),
    type,
    containers: { create: (spec) => build.ledger.createContainer(stepId, 'resource', spec) },
    allowed,
    onStderr: (data) => onOutput('stderr', data),
    killGracePeriodMs: build.killGracePeriodMs,
  });
}
