import { readFileSync } from 'node:fs';
import { ConveyorError, errorCodes, registry, renderErrorDocs } from '@conveyor/core/errors';
import { describe, expect, it } from 'vitest';

describe('error registry', () => {
  it('has well-formed codes, each with a status and docs', () => {
    expect(errorCodes.length).toBeGreaterThan(10);
    for (const code of errorCodes) {
      expect(code).toMatch(/^CC_E_[A-Z0-9_]+$/);
      const { status, docs } = registry[code];
      expect(status >= 400 && status < 600, `${code} status ${status}`).toBe(true);
      expect(docs.length, `${code} docs`).toBeGreaterThan(20);
    }
  });

  it('keeps docs/errors.md in step with the registry', () => {
    const docs = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
    expect(docs).toBe(renderErrorDocs());
    for (const code of errorCodes) expect(docs).toContain(`\`${code}\``);
  });

  it('gives every ConveyorError the status of its code', () => {
    const error = new ConveyorError('CC_E_PLUGIN_NOT_FOUND', 'no such plugin', { cause: new Error('inner') });
    expect(error.status).toBe(404);
    expect((error.cause as Error).message).toBe('inner');
  });
});
