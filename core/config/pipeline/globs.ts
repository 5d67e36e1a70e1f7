/**
 * Job-name globs as Concourse matches them in `passed:` and `groups[].jobs` (gobwas/glob without
 * separators): `*` any run of characters, `?` one character, `[abc]`, `[a-z]`, `[!abc]`, and
 * `{one,two}` alternatives. A name without any of these matches only itself.
 */
export type CompiledGlob = { ok: true; matches(name: string): boolean } | { ok: false; reason: string };

export function compileGlob(pattern: string): CompiledGlob {
  let source = '';
  let braces = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] ?? '';
    if (c === '\\') {
      const next = pattern[i + 1];
      if (next === undefined) return { ok: false, reason: 'ends with `\\`' };
      source += escapeRegExp(next);
      i++;
    } else if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) return { ok: false, reason: 'has `[` without a closing `]`' };
      let body = pattern.slice(i + 1, end);
      const negated = body.startsWith('!');
      if (negated) body = body.slice(1);
      if (body === '') return { ok: false, reason: 'has an empty `[]`' };
      source += `[${negated ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = end;
    } else if (c === '{') {
      braces++;
      source += '(?:';
    } else if (c === '}' && braces > 0) {
      braces--;
      source += ')';
    } else if (c === ',' && braces > 0) source += '|';
    else if (c === ']' || c === '}') return { ok: false, reason: `has an unmatched \`${c}\`` };
    else source += escapeRegExp(c);
  }
  if (braces > 0) return { ok: false, reason: 'has `{` without a closing `}`' };
  let regex: RegExp;
  try {
    regex = new RegExp(`^${source}$`, 'su');
  } catch {
    return { ok: false, reason: 'is not a valid pattern' };
  }
  return { ok: true, matches: (name) => regex.test(name) };
}

function escapeRegExp(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
