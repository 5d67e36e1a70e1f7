import { describe, expect, it } from 'vitest';
import { nextCursor } from '../src/client/pagination.js';
import { buildDuration, formatDuration, renderProblem, styleFor } from '../src/output/index.js';
import { diffLines, diffPipelineConfigs, renderConfigDiff } from '../src/pipeline/index.js';
import { parseJobRef, parsePipelineName, parseResourceRef, parseVersionPairs } from '../src/refs/index.js';
import { BuildEventRenderer, exitCodeOf } from '../src/watch/index.js';

describe('P/J and P/R arguments', () => {
  it('splits PIPELINE/JOB and PIPELINE/RESOURCE', () => {
    expect(parseJobRef('app/unit')).toEqual({ pipeline: 'app', job: 'unit' });
    expect(parseResourceRef('app/repo')).toEqual({ pipeline: 'app', resource: 'repo' });
  });

  it.each(['app', '/unit', 'app/', 'a/b/c', ''])(
    'refuses %j as a usage error (exit 2) showing the form',
    (value) => {
      expect(() => parseJobRef(value)).toThrow(expect.objectContaining({ code: 'CC_E_CLI_USAGE', exit: 2 }));
      expect(() => parseJobRef(value)).toThrow(/is not PIPELINE\/JOB/);
    },
  );

  it('refuses a pipeline name with a slash, and reads KEY:VALUE version fields', () => {
    expect(() => parsePipelineName('app/unit')).toThrow(expect.objectContaining({ code: 'CC_E_CLI_USAGE' }));
    expect(parseVersionPairs(['ref:abc', 'url:http://x:1'], '-v')).toEqual({ ref: 'abc', url: 'http://x:1' });
    expect(() => parseVersionPairs([':x'], '-v')).toThrow(/is not KEY:VALUE/);
  });
});

describe('the config diff', () => {
  it('diffs lines with the fewest changes, removals before additions', () => {
    expect(diffLines(['a', 'b', 'c', 'd'], ['a', 'x', 'c', 'd', 'e'])).toEqual([
      { op: ' ', text: 'a' },
      { op: '-', text: 'b' },
      { op: '+', text: 'x' },
      { op: ' ', text: 'c' },
      { op: ' ', text: 'd' },
      { op: '+', text: 'e' },
    ]);
  });

  it('reports each named item added, removed or changed, groups by position too, and unknown keys whole', () => {
    const before = {
      groups: [
        { name: 'a', jobs: ['x'] },
        { name: 'b', jobs: ['y'] },
      ],
      resources: [
        { name: 'gone', type: 'git' },
        { name: 'same', type: 'git' },
      ],
      jobs: [{ name: 'x', plan: [] }],
      custom: 1,
    };
    const after = {
      groups: [
        { name: 'b', jobs: ['y'] },
        { name: 'a', jobs: ['x'] },
      ],
      resources: [{ name: 'same', type: 'git' }],
      jobs: [
        { name: 'x', plan: [{ get: 'same' }] },
        { name: 'new', plan: [] },
      ],
    };
    const diff = diffPipelineConfigs(before, after);
    expect(diff.map((s) => [s.key, s.items.map((i) => `${i.subject} ${i.change}`)])).toEqual([
      ['groups', ['group a changed', 'group b changed']],
      ['resources', ['resource gone removed']],
      ['jobs', ['job x changed', 'job new added']],
      ['custom', ['custom removed']],
    ]);
    expect(renderConfigDiff(diff.slice(1, 2), styleFor({ isTTY: false }, {}))).toBe(
      'resources:\n  resource gone has been removed:\n- name: gone\n- type: git\n',
    );
    expect(diffPipelineConfigs(after, structuredClone(after))).toEqual([]);
  });

  it('colours additions green and removals red on a terminal', () => {
    const style = styleFor({ isTTY: true }, {});
    const text = renderConfigDiff(diffPipelineConfigs({}, { jobs: [{ name: 'x' }] }), style);
    expect(text).toContain('\u001b[32m+\u001b[39m \u001b[32mname: x\u001b[39m');
    expect(styleFor({ isTTY: true }, { NO_COLOR: '1' }).green('x')).toBe('x');
    expect(styleFor({ isTTY: false }, { FORCE_COLOR: '1' }).enabled).toBe(true);
  });
});

describe('output helpers', () => {
  it('renders problems compiler-style, warnings marked', () => {
    expect(
      renderProblem({ file: 'srv.yml', line: 3, column: 5, path: 'jobs[0]', message: 'bad' }, 'mine.yml'),
    ).toBe('mine.yml:3:5: jobs[0]: bad');
    expect(
      renderProblem({ line: 1, column: 1, path: '', message: 'odd', severity: 'warning' }, 'p.yml'),
    ).toBe('p.yml:1:1: warning: odd');
  });

  it('prints durations as Go does', () => {
    expect([0, 45, 90, 3723].map(formatDuration)).toEqual(['0s', '45s', '1m30s', '1h2m3s']);
    expect(buildDuration(100, undefined, 112_000)).toBe('12s+');
    expect(buildDuration(undefined, undefined)).toBe('n/a');
  });

  it('follows the rel="next" link of a Link header', () => {
    expect(
      nextCursor(
        '</api/v1/builds?since=9&limit=5>; rel="previous", </api/v1/builds?before=4&limit=5>; rel="next"',
      ),
    ).toBe(4);
    expect(nextCursor('</api/v1/builds?since=9&limit=5>; rel="previous"')).toBeUndefined();
    expect(nextCursor(null)).toBeUndefined();
  });
});

describe('the build event renderer', () => {
  it('puts headers and the status on lines of their own and ignores unknown events', () => {
    let out = '';
    const renderer = new BuildEventRenderer(
      (text) => {
        out += text;
      },
      styleFor({ isTTY: false }, {}),
    );
    const origin = { id: 't' };
    const events = [
      { event: 'initialize-task', data: { origin, config: { run: { path: 'make', args: ['test'] } } } },
      { event: 'selected-worker', data: { selected_worker: 'w1' } },
      { event: 'start-task', data: { origin } },
      { event: 'log', data: { payload: 'no newline' } },
      { event: 'something-new', data: {} },
      { event: 'status', data: { status: 'started' } },
    ];
    for (const event of events) expect(renderer.render({ version: '1.0', ...event })).toBeUndefined();
    expect(renderer.render({ event: 'status', version: '1.0', data: { status: 'errored' } })).toBe('errored');
    expect(out).toBe('initializing\nselected worker: w1\nrunning make test\nno newline\nerrored\n');
    expect(exitCodeOf('errored')).toBe(2);
  });
});
