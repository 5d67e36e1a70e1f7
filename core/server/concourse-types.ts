import { imageFromSource, isImageResourceType, type PipelineResourceType } from '../config/index.js';
import { ConveyorError, toError } from '../errors/index.js';
import type { ResourceTypeImage } from '../executor/index.js';

/**
 * The image of a pipeline resource type that is a Concourse resource-type image (its `type` is
 * registry-image or docker-image), for the `concourse` plugin's host.run; undefined for a type a
 * plugin implements. The source's `((vars))` are resolved when the image is needed.
 */
export function concourseTypeImage(
  pipelineType: PipelineResourceType | undefined,
  interpolate: (source: Record<string, unknown>) => Promise<Record<string, unknown>>,
): ResourceTypeImage | undefined {
  if (!pipelineType || !isImageResourceType(pipelineType.type)) return undefined;
  const { name } = pipelineType;
  return {
    name,
    privileged: pipelineType.privileged === true,
    async image() {
      try {
        return imageFromSource(await interpolate(pipelineType.source), pipelineType.version);
      } catch (error) {
        if (error instanceof ConveyorError) throw error;
        throw new ConveyorError(
          'CC_E_EXEC_RESOURCE_CONFIG_INVALID',
          `resource type ${JSON.stringify(name)}: source: ${toError(error).message}`,
          { cause: error, details: { resourceType: name } },
        );
      }
    },
  };
}
