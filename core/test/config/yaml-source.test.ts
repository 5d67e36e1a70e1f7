import { parseYamlSource } from '@conveyor/core/config';
import { describe, expect, it } from 'vitest';

const text = [
  'resources:', //                1
  '  - name: repo', //            2
  '    type: git', //             3
  '    source: &src', //          4
  '      uri: https://x', //      5
  'jobs:', //                     6
  '  - name: test', //            7
  '    plan: [{ get: repo }]', // 8
  'copy: *src', //                9
  'empty:', //                    10
  '',
].join('\n');

describe('YamlSource', () => {
  const source = parseYamlSource(text, { file: 'pipeline.yml' });

  it('parses to plain data', () => {
    expect(source.problems).toEqual([]);
    expect(source.file).toBe('pipeline.yml');
    expect(source.value).toMatchObject({ jobs: [{ name: 'test', plan: [{ get: 'repo' }] }], empty: null });
  });

  it('finds values and keys by path', () => {
    expect(source.positionOf(['resources', 0, 'type'])).toMatchObject({ line: 3, column: 11 });
    expect(source.positionOf(['resources', 0, 'type'], 'key')).toMatchObject({ line: 3, column: 5 });
    expect(source.positionOf(['jobs', 0, 'plan', 0, 'get'])).toMatchObject({ line: 8, column: 19 });
    expect(source.positionOf(['jobs', '0', 'name'])).toMatchObject({ line: 7, column: 11 });
    expect(source.positionOf([])).toMatchObject({ line: 1, column: 1, offset: 0 });
  });

  it('follows aliases into their anchors', () => {
    expect(source.positionOf(['copy'])).toMatchObject({ line: 9, column: 7 });
    expect(source.positionOf(['copy', 'uri'])).toMatchObject({ line: 5, column: 12 });
  });

  it('answers undefined for a path that is not there, and the closest ancestor on request', () => {
    expect(source.positionOf(['jobs', 3])).toBeUndefined();
    expect(source.positionOf(['resources', 0, 'check_every'])).toBeUndefined();
    expect(source.positionOf(['resources', 0, 'name', 'deeper'])).toBeUndefined();
    expect(source.closestPositionOf(['resources', 0, 'check_every'])).toMatchObject({ line: 2, column: 5 });
  });

  it('points just after the colon of an empty value', () => {
    expect(source.positionOf(['empty'])).toMatchObject({ line: 10, column: 7 });
  });

  it('looks through merge keys when asked to merge', () => {
    const merged = parseYamlSource('base: &b\n  image: busybox\ntask:\n  <<: *b\n  run: ls\n', {
      merge: true,
    });
    expect(merged.value).toEqual({ base: { image: 'busybox' }, task: { image: 'busybox', run: 'ls' } });
    expect(merged.positionOf(['task', 'image'])).toMatchObject({ line: 2, column: 10 });
    expect(merged.positionOf(['task', 'run'])).toMatchObject({ line: 5, column: 8 });
  });

  it('collects syntax errors with their positions instead of throwing', () => {
    const broken = parseYamlSource('a: 1\nb: [1, 2\n');
    expect(broken.value).toBeUndefined();
    expect(broken.problems.length).toBeGreaterThan(0);
    expect(broken.problems[0]).toMatchObject({
      code: expect.any(String),
      line: expect.any(Number),
      column: 1,
    });
  });

  it('refuses alias bombs', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', 'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]'];
    bomb.push('c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]');
    const parsed = parseYamlSource(`${bomb.join('\n')}\n`, { maxAliasCount: 20 });
    expect(parsed.value).toBeUndefined();
    expect(parsed.problems).toEqual([expect.objectContaining({ code: 'BAD_DOCUMENT', line: 1, column: 1 })]);
  });
});
