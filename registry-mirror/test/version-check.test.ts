import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRegistry } from '@conveyor/registry-mirror';
import { describe, expect, it } from 'vitest';

describe('registry-mirror', () => {
  it('answers the Distribution API version check', async () => {
    const root = await mkdtemp(join(tmpdir(), 'conveyor-registry-mirror-'));
    const app = await buildRegistry({ root });
    try {
      const response = await app.inject({ method: 'GET', url: '/v2/' });
      expect(response.statusCode).toBe(200);
      expect(response.headers['docker-distribution-api-version']).toBe('registry/2.0');
      expect(response.json()).toEqual({});
    } finally {
      await app.close();
      await rm(root, { recursive: true, force: true });
    }
  });
});
