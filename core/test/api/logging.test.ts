import { describe, expect, it } from 'vitest';
import { bearer, goodToken, loggedApi } from './helpers.js';

describe('API logs', () => {
  it('never contain a bearer token, right or wrong', async () => {
    const { app, lines } = await loggedApi();
    const wrongToken = 'cc_wrong_0d9e8f7a6b5c4d3e2f1a';
    try {
      await app.inject({ method: 'GET', url: '/api/v1/plugins', headers: bearer(goodToken) });
      await app.inject({ method: 'GET', url: '/api/v1/plugins', headers: bearer(wrongToken) });
      await app.inject({ method: 'GET', url: '/api/v1/nope', headers: bearer(goodToken) });
    } finally {
      await app.close();
    }
    const log = lines.join('');
    expect(lines.length).toBeGreaterThan(0);
    expect(log).not.toContain(goodToken);
    expect(log).not.toContain(wrongToken);
    // The header is logged, censored, so the test above is not vacuous.
    const incoming = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'incoming request');
    expect(incoming).toHaveLength(3);
    for (const line of incoming) expect(line.req.headers.authorization).toBe('[redacted]');
  });

  it('tag each line with the request id the reply carries', async () => {
    const { app, lines } = await loggedApi();
    let res: Awaited<ReturnType<typeof app.inject>>;
    try {
      res = await app.inject({ method: 'GET', url: '/api/v1/health' });
    } finally {
      await app.close();
    }
    const id = res.headers['x-request-id'];
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const parsed = lines.map((l) => JSON.parse(l)).filter((l) => l.reqId !== undefined);
    expect(parsed.map((l) => l.msg)).toEqual(['incoming request', 'request completed']);
    for (const line of parsed) expect(line.reqId).toBe(id);
  });

  it('keep a plain request id from the client and replace one that is not', async () => {
    const { app } = await loggedApi();
    try {
      const kept = await app.inject({
        method: 'GET',
        url: '/api/v1/health',
        headers: { 'x-request-id': 'lb-1234.a' },
      });
      expect(kept.headers['x-request-id']).toBe('lb-1234.a');
      const forged = await app.inject({
        method: 'GET',
        url: '/api/v1/health',
        headers: { 'x-request-id': 'x" admin=true {' },
      });
      expect(forged.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await app.close();
    }
  });
});
