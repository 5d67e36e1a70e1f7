import type { runtime } from '@conveyor/plugin-api';
import { imageFromSource, isImageResourceType } from '../config/index.js';
import { ConveyorError } from '../errors/index.js';
import type { TaskStep } from '../plan/build-plan.generated.js';
import type { BuildContext } from './build-context.js';
import { fetchVersion } from './fetch-version.js';
import { latestVersion, outputToLogs } from './resource-calls.js';
import type { RunScope } from './run-scope.js';
import type { TaskConfig } from './task-config.js';

/**
 * The image a task runs in. A runtime without isolation (the local runtime) runs tasks on the
 * host and needs none; otherwise the step's `image:` artifact, or the config's image_resource
 * fetched with a get into a volume of its own (cached like any get), or else the runtime's
 * default image if it has one.
 */
export async function taskImage(
  build: BuildContext,
  step: TaskStep,
  config: TaskConfig,
  scope: RunScope,
  signal: AbortSignal,
): Promise<runtime.Image> {
  const info = await build.runtimeInfo();
  if (!info.capabilities.isolation) return { type: 'host' };
  const what = `task ${JSON.stringify(step.name)}`;

  if (step.image) {
    const volume = scope.artifact(step.image);
    if (!volume) {
      throw new ConveyorError(
        'CC_E_EXEC_ARTIFACT_NOT_FOUND',
        `${what}: missing image artifact source: ${step.image}; make sure there's a corresponding get step, or a task that produces it as an output`,
        { details: { artifact: step.image } },
      );
    }
    return { type: 'volume', volume };
  }

  const image = config.imageResource;
  // No image of its own: the runtime's default image, where it has one (a worker's default rootfs).
  if (!image && info.capabilities.defaultImage) return { type: 'host' };
  if (!image) {
    throw new ConveyorError(
      'CC_E_EXEC_IMAGE_MISSING',
      `${what} has no image: the runtime ${build.deps.runtime.id} runs tasks in containers, so give the task config an image_resource or the step an image artifact${config.rootfsUri ? ' (rootfs_uri is not supported)' : ''}`,
    );
  }
  const pulled = pulledByRuntime(image, what);
  if (pulled) return pulled;
  const client = build.deps.resourceType(image.type);
  const version =
    image.version ?? (await latestVersion(client, image.source, `the image of ${what}`, signal));
  const output = outputToLogs(build.events, step.id);
  try {
    const { volume } = await fetchVersion(
      build,
      step.id,
      'image',
      { client, source: image.source, version, params: image.params },
      (directory) =>
        client.call(
          'get',
          {
            source: image.source,
            version,
            ...(image.params ? { params: image.params } : {}),
            directory,
            build: build.deps.build,
          },
          { signal, onOutput: output.onOutput },
        ),
    );
    return { type: 'volume', volume };
  } finally {
    output.end();
  }
}

/**
 * A registry-image or docker-image `image_resource`: the runtime pulls the image itself (at the
 * version's digest when the plan pins one), as a Concourse worker runs it. Even where a plugin of
 * that name is installed (for resources and `get` steps of such images), the runtime's pull is
 * what a task wants: its layers stay unpacked in the runtime's cache, and the build pins the tag.
 */
function pulledByRuntime(
  image: NonNullable<TaskConfig['imageResource']>,
  what: string,
): runtime.Image | undefined {
  if (!isImageResourceType(image.type)) return undefined;
  try {
    return imageFromSource(image.source, image.version as Record<string, string> | undefined);
  } catch (error) {
    throw new ConveyorError(
      'CC_E_EXEC_RESOURCE_CONFIG_INVALID',
      `${what}: image_resource.source: ${(error as Error).message}`,
      { cause: error },
    );
  }
}
