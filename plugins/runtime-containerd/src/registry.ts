import {
  type ImageReference,
  parseReference as parseOciReference,
  RegistryClient,
  type RegistryOptions,
} from '@conveyor/plugin-api/oci';

/**
 * The runtime's side of the shared OCI client (@conveyor/plugin-api/oci): its failures carry the
 * runtime's codes (`CONTAINERD_REGISTRY_UNAUTHORIZED`, `CONTAINERD_BAD_IMAGE_REFERENCE`, …).
 */
export const CODE_PREFIX = 'CONTAINERD';

export function parseReference(reference: string): ImageReference {
  return parseOciReference(reference, CODE_PREFIX);
}

export function registryClient(
  ref: ImageReference,
  options: Omit<RegistryOptions, 'codePrefix'>,
): RegistryClient {
  return new RegistryClient(ref, { ...options, codePrefix: CODE_PREFIX });
}
