import type { runtime } from '@conveyor/plugin-api';
import { isLoopbackHost } from '@conveyor/plugin-api/oci';

/**
 * Concourse names the image of a custom resource type (and of a task) with a resource of an
 * image-fetching type: `type: registry-image` (or the older `docker-image`) and the image's
 * `source`. Conveyor has the runtime pull such images itself, so pipelines written for Concourse
 * run unchanged: a pipeline resource type of one of these types is a Concourse resource-type
 * image, run through the `concourse` resource type plugin; a task's `image_resource` of one of
 * these types is the image the runtime runs the task in.
 */
export const IMAGE_RESOURCE_TYPES: readonly string[] = ['registry-image', 'docker-image'];

/** The resource type plugin that runs Concourse resource-type images (`/opt/resource/*`). */
export const CONCOURSE_RESOURCE_TYPE = 'concourse';

export function isImageResourceType(type: string): boolean {
  return IMAGE_RESOURCE_TYPES.includes(type);
}

/**
 * The `source` fields of Concourse's registry-image and docker-image resources that say where an
 * image is. Fields of theirs that Conveyor does not use (aws_*, debug, ca_certs, …) are accepted
 * and ignored, as Concourse accepts them.
 */
export const imageSourceSchema = {
  type: 'object',
  required: ['repository'],
  properties: {
    repository: {
      type: 'string',
      minLength: 1,
      description: 'e.g. `busybox`, `registry.example.com:5000/team/image`, or `name@sha256:…`',
    },
    tag: { type: ['string', 'number'] },
    username: { type: 'string' },
    password: { type: 'string' },
    insecure_registries: { type: 'array', items: { type: 'string' } },
  },
} as const;

/**
 * The runtime image for an image source of a registry-image or docker-image resource, at
 * `version` (`{ digest }`) when one is given. A registry on loopback, or one listed in
 * docker-image's `insecure_registries`, is reached over plain HTTP.
 */
export function imageFromSource(
  source: Record<string, unknown>,
  version?: Readonly<Record<string, string>>,
): runtime.Image {
  const repository = source.repository;
  if (typeof repository !== 'string' || repository === '') {
    throw new TypeError('the image source has no `repository` (e.g. `repository: busybox`)');
  }
  const digest = version?.digest;
  const tag = source.tag === undefined ? 'latest' : String(source.tag);
  const reference = repository.includes('@')
    ? repository
    : digest
      ? `${repository}@${digest}`
      : `${repository}:${tag}`;
  const first = repository.split('/')[0] ?? '';
  // Only a first component that looks like a host (a dot, a port, or localhost) is a registry.
  const host = repository.includes('/') && /[.:]|^localhost$/.test(first) ? first : undefined;
  const insecureList = Array.isArray(source.insecure_registries) ? source.insecure_registries : [];
  const insecure = host !== undefined && (isLoopbackHost(host) || insecureList.includes(host));
  return {
    type: 'oci',
    reference,
    ...(typeof source.username === 'string' ? { username: source.username } : {}),
    ...(typeof source.password === 'string' ? { password: source.password } : {}),
    ...(insecure ? { insecure: true } : {}),
  };
}

/** A pipeline resource type as the plan and the checker know it. */
export interface PipelineResourceType {
  name: string;
  type: string;
  source: Record<string, unknown>;
  version?: Readonly<Record<string, string>> | undefined;
  privileged?: boolean | undefined;
}

/**
 * The plugin that runs a type a resource names: the plugin a pipeline resource type names (the
 * `concourse` plugin for a Concourse resource-type image), or the type itself.
 */
export function resourceTypePlugin(type: string, pipelineType: PipelineResourceType | undefined): string {
  if (!pipelineType) return type;
  return isImageResourceType(pipelineType.type) ? CONCOURSE_RESOURCE_TYPE : pipelineType.type;
}
