import { formatPipeline, validatePipeline } from '@conveyor/core/config';
import { isConveyorError } from '@conveyor/core/errors';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { fixtureNames, fixtureVars, readFixture, yaml } from './helpers.js';

describe('formatPipeline', () => {
  it.each(fixtureNames('valid'))('%s: formatting is idempotent and keeps the pipeline the same', (name) => {
    const text = readFixture('valid', name);
    const once = formatPipeline(text);
    expect(formatPipeline(once)).toBe(once);
    const vars = fixtureVars(name);
    expect(validatePipeline(once, { file: name, vars }).model).toEqual(
      validatePipeline(text, { file: name, vars }).model,
    );
  });

  it('puts known keys in canonical order and normalises indentation', () => {
    const text = yaml(
      'jobs:',
      '    - plan:',
      '        - trigger: true',
      '          get: repo',
      '        - file: repo/ci/test.yml',
      '          timeout: 5m',
      '          task: test',
      '      name: unit',
      'resources:',
      '    - source: {uri: https://example.com/repo.git}',
      '      type: git',
      '      name: repo',
    );
    expect(formatPipeline(text)).toBe(
      yaml(
        'resources:',
        '- name: repo',
        '  type: git',
        '  source: {uri: https://example.com/repo.git}',
        'jobs:',
        '- name: unit',
        '  plan:',
        '  - get: repo',
        '    trigger: true',
        '  - task: test',
        '    file: repo/ci/test.yml',
        '    timeout: 5m',
      ),
    );
  });

  it('keeps comments with what they describe and leaves free-form values alone', () => {
    const text = yaml(
      '# The pipeline of the app.',
      'jobs:',
      '- plan:',
      '  # fetch first',
      '  - get: repo',
      '  name: unit # the only job',
      'resources:',
      '- source:',
      '    zeta: 1',
      '    alpha: 2 # order kept',
      '  name: repo',
      '  type: git',
    );
    const formatted = formatPipeline(text);
    expect(formatted).toBe(
      yaml(
        '# The pipeline of the app.',
        'resources:',
        '- name: repo',
        '  type: git',
        '  source:',
        '    zeta: 1',
        '    alpha: 2 # order kept',
        'jobs:',
        '- name: unit # the only job',
        '  plan:',
        '  # fetch first',
        '  - get: repo',
      ),
    );
    expect(formatPipeline(formatted)).toBe(formatted);
  });

  it('keeps the user’s order where reordering would put an alias before its anchor', () => {
    const text = yaml(
      'jobs:',
      '- name: unit',
      '  plan:',
      '  - get: repo',
      '    params: &params {depth: 1}',
      'resources:',
      '- name: repo',
      '  type: git',
      '  source: *params',
    );
    const formatted = formatPipeline(text);
    expect(parse(formatted)).toEqual(parse(text));
    expect(formatPipeline(formatted)).toBe(formatted);
  });

  it('refuses text that is not YAML', () => {
    let caught: unknown;
    try {
      formatPipeline('jobs: [\n', { file: 'broken.yml' });
    } catch (error: unknown) {
      caught = error;
    }
    expect(isConveyorError(caught, 'CC_E_PIPELINE_INVALID')).toBe(true);
  });
});
