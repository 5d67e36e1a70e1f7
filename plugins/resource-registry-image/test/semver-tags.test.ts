/** Tags read as versions and constraints read as Concourse (Masterminds/semver) writes them. */
import { describe, expect, it } from 'vitest';
import { parseConstraint, parseTagVersion } from '../src/semver-tags.js';

const satisfied = (constraint: string, versions: string[]) => {
  const compiled = parseConstraint(constraint);
  return versions.filter((tag) => {
    const parsed = parseTagVersion(tag);
    return parsed !== undefined && compiled.test(parsed.version);
  });
};

describe('version tags', () => {
  it('read partial and v-prefixed versions, and nothing else', () => {
    expect(parseTagVersion('1')?.version.format()).toBe('1.0.0');
    expect(parseTagVersion('v1.2')?.version.format()).toBe('1.2.0');
    expect(parseTagVersion('1.2.3-rc.1')?.version.prerelease).toEqual(['rc', 1]);
    expect(parseTagVersion('1.2.0-alpine', '1.2.0')?.version.format()).toBe('1.2.0');
    for (const tag of ['latest', '1.2.3.4', '01.2', 'v', '1.2.x', 'release-1.2']) {
      expect(parseTagVersion(tag)).toBeUndefined();
    }
  });
});

describe('semver_constraint', () => {
  const all = ['0.9.0', '1.0.0', '1.2.0', '1.2.5', '1.10.0', '2.0.0', '2.1.0-rc.1', '3.0.0'];
  it('means what Masterminds/semver means by it', () => {
    expect(satisfied('>= 1.2, < 2', all)).toEqual(['1.2.0', '1.2.5', '1.10.0']);
    expect(satisfied('>= 1.2 < 2', all)).toEqual(['1.2.0', '1.2.5', '1.10.0']);
    expect(satisfied('~1.2', all)).toEqual(['1.2.0', '1.2.5']);
    expect(satisfied('~> 1.2', all)).toEqual(['1.2.0', '1.2.5']);
    expect(satisfied('^1.2', all)).toEqual(['1.2.0', '1.2.5', '1.10.0']);
    expect(satisfied('1.x || >= 3', all)).toEqual(['1.0.0', '1.2.0', '1.2.5', '1.10.0', '3.0.0']);
    expect(satisfied('1.2 - 2', all)).toEqual(['1.2.0', '1.2.5', '1.10.0', '2.0.0']);
    expect(satisfied('=< 1.0', all)).toEqual(['0.9.0', '1.0.0']);
    expect(satisfied('!= 1.2, ^1', all)).toEqual(['1.0.0', '1.10.0']);
    expect(satisfied('*', all)).toEqual(all.filter((v) => !v.includes('-')));
    expect(satisfied('>= 2.1.0-rc.0', all)).toEqual(['2.1.0-rc.1', '3.0.0']);
  });

  it('refuses what it cannot read, saying where', () => {
    for (const [constraint, where] of [
      ['', 'empty part'],
      ['>= 1,', 'empty part'],
      ['>= 1 ||', 'empty part'],
      ['>= banana', 'banana'],
      ['>> 1', '>> 1'],
      ['> 1.2.3.4', '1.2.3.4'],
    ] as const) {
      expect(() => parseConstraint(constraint)).toThrow(
        expect.objectContaining({
          code: 'REGISTRY_IMAGE_BAD_SOURCE',
          message: expect.stringContaining(where),
        }),
      );
    }
  });
});
