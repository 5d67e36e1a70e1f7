import semver from 'semver';
import { registryImageError } from './errors.js';

/** A tag read as a version the way Concourse's resource (Masterminds/semver) reads it. */
export interface TagVersion {
  /** The tag as the registry lists it (`1.2.0-alpine`). */
  tag: string;
  /** The version part as written (`1.2`): its number of dots says how specific it is. */
  original: string;
  version: semver.SemVer;
}

/**
 * Masterminds' lenient form: `v` allowed, minor and patch optional (`1`, `1.2`, `v1.2.3`), then an
 * optional pre-release and build. node-semver wants all three numbers, so the missing ones are 0.
 */
const LENIENT =
  /^v?(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?(?:\.(0|[1-9]\d*))?(-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

export function parseTagVersion(tag: string, original = tag): TagVersion | undefined {
  const match = LENIENT.exec(original);
  if (!match) return undefined;
  const [, major, minor = '0', patch = '0', pre = '', build = ''] = match;
  const version = semver.parse(`${major}.${minor}.${patch}${pre}${build}`);
  return version ? { tag, original, version } : undefined;
}

/** A constraint compiled once: `test` says whether a version satisfies it. */
export interface SemverConstraint {
  text: string;
  test(version: semver.SemVer): boolean;
}

/** One comparator: an operator (maybe none), a version or wildcard, or a hyphen range `a - b`. */
const COMPARATOR =
  /\s*(!=|==|=<|=>|<=|>=|~>|[<>=~^])?\s*(v?[0-9xX*][0-9A-Za-z.*+-]*)(?:\s+-\s+(v?[0-9xX*][0-9A-Za-z.*+-]*))?\s*/y;

/**
 * Compile Concourse's `semver_constraint`, written for Masterminds/semver v3, onto node-semver.
 * What differs is translated: `,` and spaces both mean AND, `||` means OR; `=<`/`=>` are `<=`/`>=`;
 * `~>` is `~`; `!=` (which node-semver lacks) is "not in that range", so `!= 1.2` excludes 1.2.x.
 * The rest (`~`, `^`, `x`/`*` wildcards, `a - b` ranges, partial versions) means the same in both.
 * Pre-release versions only satisfy a constraint naming a pre-release of the same major.minor.patch,
 * as node-semver has it (Masterminds is close to this but not identical).
 */
export function parseConstraint(text: string): SemverConstraint {
  const bad = (why: string) =>
    registryImageError(
      'BAD_SOURCE',
      `source.semver_constraint ${JSON.stringify(text)} ${why}; write it as Concourse does, e.g. ">= 1.2, < 2", "~1.2", "^1.2.3" or "1.x || >= 3"`,
    );
  const groups = text.split('||').map((group) => {
    const tests: Array<(version: semver.SemVer) => boolean> = [];
    for (const part of group.split(',')) {
      if (part.trim() === '') throw bad('has an empty part');
      let at = 0;
      while (at < part.length) {
        COMPARATOR.lastIndex = at;
        const match = COMPARATOR.exec(part);
        if (!match || match[0].length === 0) throw bad(`cannot be read at ${JSON.stringify(part.slice(at))}`);
        at = COMPARATOR.lastIndex;
        const [, operator = '', version = '', upper] = match;
        tests.push(comparatorTest(operator, version, upper, bad));
      }
    }
    return tests;
  });
  return {
    text,
    test: (version) => groups.some((tests) => tests.every((test) => test(version))),
  };
}

function comparatorTest(
  operator: string,
  version: string,
  upper: string | undefined,
  bad: (why: string) => Error,
): (version: semver.SemVer) => boolean {
  if (upper !== undefined && operator !== '') throw bad(`puts ${operator} before a range`);
  const translated =
    upper !== undefined
      ? `${version} - ${upper}`
      : `${{ '=<': '<=', '=>': '>=', '~>': '~', '==': '=', '!=': '' }[operator] ?? operator}${version}`;
  const range = semver.validRange(translated) === null ? undefined : new semver.Range(translated);
  if (!range) throw bad(`has ${JSON.stringify(`${operator}${version}`)}, which is not a version range`);
  return operator === '!=' ? (v) => !range.test(v) : (v) => range.test(v);
}
