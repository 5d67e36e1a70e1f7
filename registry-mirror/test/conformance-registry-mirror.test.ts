// The conformance suite against registry-mirror, on loopback with token auth (the token as the
// Basic password, as docker login would send it).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistryMirror } from '@conveyor/registry-mirror';
import { describeConformance } from './conformance.js';
import { basicAuth } from './oci-client.js';

describeConformance(
  'registry-mirror (token auth)',
  async () => {
    const root = await mkdtemp(join(tmpdir(), 'conveyor-registry-mirror-'));
    const registry = await startRegistryMirror({
      root,
      port: 0,
      auth: {
        anonymous: 'none',
        tokens: [{ name: 'ci', token: 'conformance-token', access: [{ repository: '**', actions: ['*'] }] }],
      },
    });
    return {
      url: registry.url,
      authorization: basicAuth('ci', 'conformance-token'),
      async stop() {
        await registry.close();
        await rm(root, { recursive: true, force: true });
      },
    };
  },
  { referrers: true, deleteTag: true, chunkRangeCheck: true, tagPagination: true },
);
