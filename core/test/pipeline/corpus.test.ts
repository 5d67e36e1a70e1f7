import { validatePipeline } from '@conveyor/core/config';
import { describe, expect, it } from 'vitest';
import { fixtureNames, fixtureVars, problemsOf, readFixture } from './helpers.js';

describe('valid corpus: real-world Concourse pipelines are accepted', () => {
  const names = fixtureNames('valid');

  it('has several pipelines', () => {
    expect(names.length).toBeGreaterThanOrEqual(6);
  });

  it.each(names)('%s validates without errors', (name) => {
    const { model, warnings } = validatePipeline(readFixture('valid', name), {
      file: name,
      vars: fixtureVars(name),
    });
    expect(warnings.every((warning) => warning.severity === 'warning')).toBe(true);
    expect(model.jobs.length).toBeGreaterThan(0);
  });
});

/** `# expect: 12:5 jobs[0].plan[1].get error :: part of the message` lines at the end of a fixture. */
function expectations(text: string) {
  return [...text.matchAll(/^# expect: (\d+):(\d+) (\S+) (error|warning) :: (.*)$/gm)].map((match) => ({
    line: Number(match[1]),
    column: Number(match[2]),
    path: match[3] === '-' ? '' : match[3],
    severity: match[4],
    message: match[5] ?? '',
  }));
}

describe('invalid corpus: what Concourse rejects is rejected, each problem placed exactly', () => {
  it.each(fixtureNames('invalid'))('%s is rejected with exactly the expected problems', (name) => {
    const text = readFixture('invalid', name);
    const expected = expectations(text);
    expect(expected.length, `${name} lists its expected problems`).toBeGreaterThan(0);
    const problems = problemsOf(text, { file: name });
    expect(problems.map(({ line, column, path, severity }) => ({ line, column, path, severity }))).toEqual(
      expected.map(({ line, column, path, severity }) => ({ line, column, path, severity })),
    );
    problems.forEach((problem, i) => {
      expect(problem.file).toBe(name);
      expect(problem.message).toContain(expected[i]?.message);
    });
  });
});
