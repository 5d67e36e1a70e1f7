import { REDACTED, SecretRedactor } from '@conveyor/core/creds';
import { describe, expect, it } from 'vitest';

describe('secret redaction', () => {
  it('replaces every occurrence of a secret', () => {
    const redactor = new SecretRedactor();
    redactor.add('hunter2');
    expect(redactor.redact('+ echo hunter2 > file; cat file # hunter2')).toBe(
      `+ echo ${REDACTED} > file; cat file # ${REDACTED}`,
    );
  });

  it('redacts multi-line secrets line by line, trimmed, wherever the lines end up', () => {
    const redactor = new SecretRedactor();
    redactor.add('-----BEGIN KEY-----\n  line-one-of-key  \nline-two-of-key\n-----END KEY-----\n');
    // Unquoted in a shell, the lines are squashed into one line of arguments.
    expect(
      redactor.redact('+ echo -----BEGIN KEY----- line-one-of-key line-two-of-key -----END KEY-----'),
    ).toBe(`+ echo ${REDACTED} ${REDACTED} ${REDACTED} ${REDACTED}`);
    // JSON-encoded, the lines are split by \n escapes.
    expect(redactor.redact(JSON.stringify({ key: 'line-one-of-key\nline-two-of-key' }))).toBe(
      `{"key":"${REDACTED}\\n${REDACTED}"}`,
    );
  });

  it('leaves secrets shorter than three characters alone', () => {
    const redactor = new SecretRedactor();
    redactor.add('ab');
    redactor.add('x\nlonger');
    expect(redactor.redact('ab x longer')).toBe(`ab x ${REDACTED}`);
  });

  it('remembers the strings inside objects and lists, not numbers', () => {
    const redactor = new SecretRedactor();
    redactor.add({ user: 'admin-user', port: 5432, nested: { tokens: ['tok-one', 'tok-two'] } });
    expect(redactor.redact('admin-user tok-one tok-two 5432')).toBe(
      `${REDACTED} ${REDACTED} ${REDACTED} 5432`,
    );
    expect(redactor.secrets().sort()).toEqual(['admin-user', 'tok-one', 'tok-two']);
  });

  it('replaces the longest secret first, so no part of it shows', () => {
    const redactor = new SecretRedactor();
    redactor.add('abc');
    redactor.add('abcdef');
    expect(redactor.redact('abcdef abc')).toBe(`${REDACTED} ${REDACTED}`);
  });

  it('treats characters with a meaning in regular expressions literally', () => {
    const redactor = new SecretRedactor();
    redactor.add('p@ss.w*rd(1)');
    expect(redactor.redact('pass p@ss.w*rd(1) p@ssXwrd(1)')).toBe(`pass ${REDACTED} p@ssXwrd(1)`);
  });
});
