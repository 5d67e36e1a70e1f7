import { type PipelineModel, validatePipeline } from '@conveyor/core/config';
import { isConveyorError } from '@conveyor/core/errors';
import { describe, expect, it } from 'vitest';
import { brief, fixtureVars, problemsOf, readFixture, yaml } from './helpers.js';

function modelOf(text: string, vars: Record<string, unknown> = {}): PipelineModel {
  return validatePipeline(text, { file: 'pipeline.yml', vars }).model;
}

const repo = ['resources:', '- name: repo', '  type: git', '  source: {uri: https://example.com/repo.git}'];

describe('validatePipeline: the derived model', () => {
  it('fills Concourse defaults and keeps what was set', () => {
    const model = modelOf(readFixture('valid', 'resource-types.yml'));
    const [pr, notify, version] = model.resources;
    expect(pr).toMatchObject({
      name: 'pull-request',
      type: 'pr',
      checkEveryMs: 120_000,
      checkTimeoutMs: 300_000,
    });
    expect(pr?.webhookToken).toBe('((webhook-token))');
    // The pipeline type's defaults sit under the resource's own source.
    expect(pr?.source).toEqual({ access_token: '((github.token))', repository: 'example/app' });
    expect(notify?.checkEveryMs).toBeNull();
    expect(version).toMatchObject({
      checkEveryMs: 60_000,
      checkTimeoutMs: 3_600_000,
      pinnedVersion: { number: '1.4.0' },
      public: true,
      exposeBuildCreatedBy: true,
    });
    expect(model.resourceTypes[0]).toMatchObject({
      name: 'slack-notification',
      checkEveryMs: null,
      tags: ['internet'],
    });
    expect(model.resourceTypes[1]).toMatchObject({
      name: 'pr',
      privileged: true,
      params: { skip_download: false },
    });
    const [job] = model.jobs;
    expect(job).toMatchObject({ public: true, interruptible: true, buildLogRetention: { builds: 20 } });
    expect(job?.inputs.map((input) => [input.name, input.version])).toEqual([
      ['pull-request', 'every'],
      ['version', 'latest'],
    ]);
    // Outputs come from the plan and from the job's hooks, nested `do` included.
    expect(job?.outputs.map((output) => output.resource)).toEqual([
      'pull-request',
      'pull-request',
      'pull-request',
      'notify',
    ]);
    expect(job?.onSuccess).toMatchObject({ put: 'pull-request' });
  });

  it('collects inputs from anywhere in the plan, hooks and across included', () => {
    const model = modelOf(
      yaml(
        ...repo,
        '- name: tools',
        '  type: git',
        '- name: extra',
        '  type: mock',
        'jobs:',
        '- name: unit',
        '  plan:',
        '  - try:',
        '      do:',
        '      - in_parallel: {steps: [{get: repo, trigger: true}]}',
        '  - across: [{var: x, values: [1, 2]}]',
        '    do:',
        '    - get: tools',
        '      params: {depth: 1}',
        '      tags: [fast]',
        '  ensure:',
        '    get: extra',
        '    version: {ref: abc}',
      ),
    );
    expect(model.jobs[0]?.inputs).toEqual([
      { name: 'repo', resource: 'repo', trigger: true, passed: [], version: 'latest' },
      {
        name: 'tools',
        resource: 'tools',
        trigger: false,
        passed: [],
        version: 'latest',
        params: { depth: 1 },
        tags: ['fast'],
      },
      { name: 'extra', resource: 'extra', trigger: false, passed: [], version: { ref: 'abc' } },
    ]);
  });

  it('turns serial, serial_groups and max_in_flight into groups and limits as Concourse does', () => {
    const job = (name: string, extra: string[]) => [
      `- name: ${name}`,
      ...extra.map((line) => `  ${line}`),
      '  plan: [{get: repo}]',
    ];
    const model = modelOf(
      yaml(
        ...repo,
        'jobs:',
        ...job('free', []),
        ...job('serial', ['serial: true']),
        ...job('limited', ['max_in_flight: 3']),
        ...job('grouped', ['serial_groups: [deploy]', 'max_in_flight: 5']),
      ),
    );
    expect(
      model.jobs.map(({ name, serial, serialGroups, maxInFlight }) => ({
        name,
        serial,
        serialGroups,
        maxInFlight,
      })),
    ).toEqual([
      { name: 'free', serial: false, serialGroups: [], maxInFlight: null },
      { name: 'serial', serial: true, serialGroups: ['serial'], maxInFlight: 1 },
      { name: 'limited', serial: false, serialGroups: ['limited'], maxInFlight: 3 },
      { name: 'grouped', serial: false, serialGroups: ['deploy'], maxInFlight: 1 },
    ]);
  });

  it('expands passed and group globs to job names', () => {
    const model = modelOf(readFixture('valid', 'fan-in-globs.yml'));
    const production = model.jobs.find((job) => job.name === 'lvl-3-production');
    expect(production?.inputs.map((input) => input.passed)).toEqual([
      ['lvl-2-unit', 'lvl-2-integration'],
      ['lvl-2-unit', 'lvl-2-integration'],
      ['lvl-2-unit', 'lvl-2-integration'],
    ]);
    expect(model.groups).toEqual([
      { name: 'all', jobs: ['lvl-1-firewall', 'lvl-2-unit', 'lvl-2-integration', 'lvl-3-production'] },
      { name: 'prod', jobs: ['lvl-3-production'] },
    ]);
  });

  it('keeps var sources and display', () => {
    const model = modelOf(readFixture('valid', 'var-sources.yml'), fixtureVars('var-sources.yml'));
    expect(model.varSources.map((source) => [source.name, source.type])).toEqual([
      ['vault', 'vault'],
      ['teamvault', 'vault'],
    ]);
    expect(model.display).toEqual({ backgroundImage: 'https://example.com/bg.png' });
  });
});

describe('validatePipeline: static vars', () => {
  it('applies them as fly does and leaves the rest for run time', () => {
    const { model, config } = validatePipeline(readFixture('valid', 'var-sources.yml'), {
      file: 'var-sources.yml',
      vars: fixtureVars('var-sources.yml'),
    });
    const [app] = model.resources.filter((resource) => resource.name === 'app');
    expect(app?.source).toEqual({
      uri: 'https://example.com/app.git',
      branch: 'main',
      private_key: '((vault:deploy-key))',
    });
    expect(model.jobs[0]?.name).toBe('main-smoke');
    const task = (config.jobs as Array<{ plan: Array<Record<string, unknown>> }>)[0]?.plan[2];
    // A whole-value var keeps its type; one inside a string becomes text; credentials stay.
    expect(task?.params).toEqual({
      API_TOKEN: '((teamvault:api.token))',
      REPLICAS: 3,
      GREETING: 'hello-main',
    });
  });

  it('reaches into a var’s fields and refuses to put a mapping into a string', () => {
    const text = yaml(
      ...repo,
      'jobs:',
      '- name: unit',
      '  plan:',
      '  - get: repo',
      '  - task: t',
      '    file: repo/((files.task))',
      '    params: {A: ((files)), B: x-((files))}',
    );
    expect(() => validatePipeline(text, { file: 'p.yml', vars: { files: { task: 'ci/t.yml' } } })).toThrow();
    expect(brief(problemsOf(text, { vars: { files: { task: 'ci/t.yml' } } }))).toEqual([
      '11:31 jobs[0].plan[1].params.B error',
    ]);
    const missing = problemsOf(text, { vars: { files: {} } });
    expect(missing[0]).toMatchObject({
      line: 10,
      column: 11,
      message: expect.stringContaining('has no field `task`'),
    });
  });

  it('lets a var make a typed field valid, as fly substitutes before sending', () => {
    const text = yaml(
      ...repo,
      'jobs:',
      '- name: unit',
      '  plan:',
      '  - get: repo',
      '    trigger: ((auto))',
      '    attempts: ((n))',
    );
    expect(problemsOf(text).map((problem) => problem.path)).toEqual([
      'jobs[0].plan[0].trigger',
      'jobs[0].plan[0].attempts',
    ]);
    expect(modelOf(text, { auto: true, n: 2 }).jobs[0]?.inputs[0]?.trigger).toBe(true);
  });
});

describe('validatePipeline: YAML as Concourse reads it', () => {
  it('reads YAML 1.1 booleans and merge keys', () => {
    const model = modelOf(readFixture('valid', 'yaml-anchors.yml'));
    expect(model.resources[0]?.source).toEqual({
      uri: 'https://example.com/mono.git',
      branch: 'main',
      paths: ['frontend/'],
    });
    expect(model.jobs.map((job) => job.inputs[0]?.trigger)).toEqual([true, true]);
  });

  it('keeps a quoted "yes" a string, which a boolean field refuses', () => {
    const problems = problemsOf(
      yaml(...repo, 'jobs:', '- name: unit', '  plan:', '  - get: repo', '    trigger: "yes"'),
    );
    expect(problems).toEqual([
      expect.objectContaining({
        line: 9,
        column: 14,
        path: 'jobs[0].plan[0].trigger',
        message: 'must be true or false, not a string',
      }),
    ]);
  });

  it('treats an empty field as unset, as Go does', () => {
    const model = modelOf(
      yaml(
        ...repo,
        'jobs:',
        '- name: unit',
        '  serial:',
        '  plan:',
        '  - get: repo',
        '    trigger:',
        '    params:',
      ),
    );
    expect(model.jobs[0]).toMatchObject({ serial: false, inputs: [{ name: 'repo', trigger: false }] });
  });

  it('rejects a document that is not a mapping, and an empty one for having no job', () => {
    expect(brief(problemsOf('- a\n- b\n'))).toEqual(['1:1 - error']);
    expect(problemsOf('# nothing yet\n')).toEqual([
      expect.objectContaining({ path: 'jobs', message: 'a pipeline needs at least one job' }),
    ]);
  });
});

describe('validatePipeline: warnings, where Concourse only warns', () => {
  it('drops unknown top-level keys, flags odd names, ignored limits and shadowed vars', () => {
    const text = yaml(
      ...repo,
      'jobs:',
      '- name: Unit_Tests',
      '  serial: true',
      '  max_in_flight: 2',
      '  plan:',
      '  - get: repo',
      '    version: newest',
      '  - load_var: x',
      '    file: repo/x',
      '  - across: [{var: x, values: [a]}]',
      '    task: t',
      '    file: repo/t.yml',
      'job:',
      '- name: oops',
    );
    const { warnings } = validatePipeline(text, { file: 'p.yml' });
    expect(brief(warnings)).toEqual([
      '6:9 jobs[0].name warning',
      '8:3 jobs[0].max_in_flight warning',
      '11:14 jobs[0].plan[0].version warning',
      '14:20 jobs[0].plan[2].across[0].var warning',
      '17:1 job warning',
    ]);
    expect(warnings[4]).toMatchObject({ suggestion: 'jobs', message: expect.stringContaining('dropped') });
  });
});

describe('validatePipeline: resource type schemas', () => {
  const schemas = {
    source: {
      type: 'object',
      required: ['uri'],
      additionalProperties: false,
      properties: { uri: { type: 'string' }, branch: { type: 'string' }, depth: { type: 'integer' } },
    },
    getParams: { type: 'object', additionalProperties: false, properties: { depth: { type: 'integer' } } },
    putParams: { type: 'object', required: ['repository'], properties: { repository: { type: 'string' } } },
  };
  const lookup = (type: string) => (type === 'git' ? schemas : undefined);

  it('checks sources and params against the plugin’s schemas, with suggestions', () => {
    const text = yaml(
      'resources:',
      '- name: repo',
      '  type: git',
      '  source: {uri: https://example.com/r.git, brnch: main}',
      '- name: other',
      '  type: mock',
      '  source: {anything: goes}',
      'jobs:',
      '- name: unit',
      '  plan:',
      '  - get: repo',
      '    params: {depth: deep}',
      '  - get: other',
      '  - put: repo',
      '    params: {force: true}',
      '    get_params: {dept: 1}',
    );
    const problems = problemsOf(text, { resourceTypeSchemas: lookup });
    expect(brief(problems)).toEqual([
      '4:44 resources[0].source.brnch error',
      '12:21 jobs[0].plan[0].params.depth error',
      '15:13 jobs[0].plan[2].params.repository error',
      '16:18 jobs[0].plan[2].get_params.dept error',
    ]);
    expect(problems[0]).toMatchObject({ suggestion: 'branch' });
    expect(problems[0]?.message).toContain('did you mean `branch`?');
  });

  it('skips values that vars decide at run time', () => {
    const text = yaml(
      'resources:',
      '- name: repo',
      '  type: git',
      '  source: {uri: ((uri)), depth: ((depth)), ((key)): x}',
      'jobs:',
      '- name: unit',
      '  plan:',
      '  - get: repo',
      '    params: {depth: ((d))}',
    );
    expect(validatePipeline(text, { file: 'p.yml', resourceTypeSchemas: lookup }).warnings).toEqual([]);
  });

  it('still needs a whole source or params to be a mapping, as Concourse does', () => {
    const text = yaml(
      'resources:',
      '- name: repo',
      '  type: git',
      '  source: ((git-source))',
      'jobs:',
      '- name: unit',
      '  plan: [{get: repo}]',
    );
    expect(brief(problemsOf(text, { resourceTypeSchemas: lookup }))).toEqual([
      '4:11 resources[0].source error',
    ]);
  });
});

describe('validatePipeline: known resource types', () => {
  it('rejects a type that is neither a pipeline resource type nor a plugin', () => {
    const text = yaml(
      'resource_types:',
      '- name: slack',
      '  type: registry-image',
      'resources:',
      '- name: repo',
      '  type: gti',
      '- name: pinned',
      '  type: git@^2',
      '- name: notify',
      '  type: slack',
      'jobs:',
      '- name: unit',
      '  plan:',
      '  - get: repo',
      '  - get: pinned',
      '  - put: notify',
      '  - task: t',
      '    config:',
      '      platform: linux',
      '      image_resource: {type: docker-image}',
      '      run: {path: echo}',
    );
    const problems = problemsOf(text, { knownResourceTypes: ['git', 'registry-image', 'mock'] });
    expect(brief(problems)).toEqual([
      '6:9 resources[0].type error',
      '20:30 jobs[0].plan[3].config.image_resource.type error',
    ]);
    expect(problems[0]).toMatchObject({ suggestion: 'git' });
    expect(problemsOf(text, { knownResourceTypes: (type) => type !== 'gti' })).toHaveLength(1);
  });
});

describe('validatePipeline: reporting', () => {
  it('reports every problem at once in file order, in the error’s message too', () => {
    let caught: unknown;
    try {
      validatePipeline(readFixture('invalid', 'unknown-keys.yml'), { file: 'unknown-keys.yml' });
    } catch (error: unknown) {
      caught = error;
    }
    expect(isConveyorError(caught, 'CC_E_PIPELINE_INVALID')).toBe(true);
    if (!isConveyorError(caught)) return;
    expect(caught.status).toBe(400);
    expect(caught.message).toContain(
      'unknown-keys.yml:4:3: resources[0].sorce: is not a known field of a resource; did you mean `source`?',
    );
    const problems = caught.details.problems as Array<{ line: number }>;
    expect(problems.map((problem) => problem.line)).toEqual(
      [...problems.map((problem) => problem.line)].sort((a, b) => a - b),
    );
  });
});
