// The conformance suite against Debian's docker-registry (Distribution 2.8), the reference
// registry: what passes here is what the spec and real clients expect of registry-mirror too.
import {
  DOCKER_REGISTRY,
  dockerRegistryUnavailable,
  startDockerRegistry,
} from '@conveyor/test/harness/docker-registry.js';
import { describe, it } from 'vitest';
import { describeConformance } from './conformance.js';
import { basicAuth } from './oci-client.js';

const unavailable = dockerRegistryUnavailable();

if (unavailable) {
  describe('OCI Distribution conformance: docker-registry', () => {
    it.skip(`needs ${DOCKER_REGISTRY}: ${unavailable}`, () => {});
  });
} else {
  describeConformance(
    'docker-registry (Distribution 2.8, htpasswd auth)',
    async () => {
      const registry = await startDockerRegistry({ auth: true, delete: true });
      const { username, password } = registry.credentials!;
      return { url: registry.url, authorization: basicAuth(username, password), stop: () => registry.stop() };
    },
    // Distribution 2.8 predates OCI 1.1 (no referrers API, no tag deletion), ignores Content-Range
    // on PATCH and does not paginate tags.
    { referrers: false, deleteTag: false, chunkRangeCheck: false, tagPagination: false },
  );
}
