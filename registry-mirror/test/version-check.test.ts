import { buildRegistry } from '@conveyor/registry-mirror';
import { describe, expect, it } from 'vitest';

describe('registry-mirror', () => {
  it('answers the Distribution API version check', async () => {
    const app = await buildRegistry();
    const response = await app.inject({ method: 'GET', url: '/v2/' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['docker-distribution-api-version']).toBe('registry/2.0');
    expect(response.json()).toEqual({});
    await app.close();
  });
});
