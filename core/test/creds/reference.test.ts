import { findReferences, formatReference, parseReference } from '@conveyor/core/creds';
import { describe, expect, it } from 'vitest';

describe('((var)) references', () => {
  it('parses paths, fields, var sources and local vars', () => {
    expect(parseReference('hello')).toEqual({ source: undefined, path: 'hello', fields: [] });
    expect(parseReference('((hello.a.b))')).toEqual({ source: undefined, path: 'hello', fields: ['a', 'b'] });
    expect(parseReference('vault:db.password')).toEqual({
      source: 'vault',
      path: 'db',
      fields: ['password'],
    });
    expect(parseReference('.:version.ref')).toEqual({ source: '.', path: 'version', fields: ['ref'] });
  });

  it('reads quoted segments whole, colons and dots included', () => {
    expect(parseReference('"hello.world"."a.b"."foo:bar"')).toEqual({
      source: undefined,
      path: 'hello.world',
      fields: ['a.b', 'foo:bar'],
    });
    expect(parseReference('source:"my:path"."field.1"')).toEqual({
      source: 'source',
      path: 'my:path',
      fields: ['field.1'],
    });
    expect(parseReference('a."b.c"')).toEqual({ source: undefined, path: 'a', fields: ['b.c'] });
  });

  it('trims spaces around segments but not inside quotes', () => {
    expect(parseReference('hello .world ')).toEqual({ source: undefined, path: 'hello', fields: ['world'] });
    expect(parseReference('" hello "."world "')).toEqual({
      source: undefined,
      path: ' hello ',
      fields: ['world '],
    });
  });

  it('fails on malformed references, quoting the reference', () => {
    const cases: Array<[string, string]> = [
      ['a."b', 'invalid var ((a."b)): contains unclosed quotes'],
      ['"some-source":path', 'invalid var (("some-source":path)): the var source name must not be quoted'],
      ['vault:.field', 'invalid var ((vault:.field)): empty field'],
      ['vault:"".field', 'invalid var ((vault:"".field)): empty field'],
      ['vault:', 'invalid var ((vault:)): empty field'],
      ['a..b', 'invalid var ((a..b)): empty field'],
      [':path', 'invalid var ((:path)): the var source name before ":" is empty'],
      ['', 'invalid var (()): it is empty'],
    ];
    for (const [text, message] of cases) {
      expect(() => parseReference(text), text).toThrow(
        expect.objectContaining({ code: 'CC_E_CREDS_INVALID_REFERENCE', message }),
      );
    }
  });

  it('writes references back, quoting segments that need it', () => {
    expect(formatReference({ path: 'hello', fields: ['a', 'b'] })).toBe('hello.a.b');
    expect(formatReference({ source: 'vault', path: 'hello', fields: [] })).toBe('vault:hello');
    expect(
      formatReference({ path: 'hello.world', fields: ['a', 'foo:bar', 'other field', 'another/field'] }),
    ).toBe('"hello.world".a."foo:bar"."other field"."another/field"');
    const text = 'src:"a.b".c';
    expect(formatReference(parseReference(text))).toBe(text);
  });

  it('finds references in text as Concourse does, and leaves shell arithmetic alone', () => {
    const found = findReferences(
      'user ((creds.user)) at ((vault:"db.host")) and $((i + 1)) or ((not a var))',
    );
    expect(found.map((f) => f.inner)).toEqual(['creds.user', 'vault:"db.host"']);
    expect(found[0]).toEqual({ text: '((creds.user))', inner: 'creds.user', index: 5 });
    expect(findReferences('((héllo-wörld/x@y))').map((f) => f.inner)).toEqual(['héllo-wörld/x@y']);
    expect(findReferences('no vars here')).toEqual([]);
  });
});
