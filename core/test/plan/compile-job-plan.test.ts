import { readFileSync } from 'node:fs';
import { type JobModel, type PipelineModel, validatePipeline } from '@conveyor/core/config';
import { isConveyorError } from '@conveyor/core/errors';
import { type BuildPlan, compileJobPlan, type PlanStep } from '@conveyor/core/plan';
import { createAjv } from '@conveyor/plugin-api';
import { describe, expect, it } from 'vitest';
import { fixtureNames, fixtureVars, readFixture, yaml } from '../pipeline/helpers.js';

const planSchema = JSON.parse(
  readFileSync(new URL('../../plan/schemas/build-plan.json', import.meta.url), 'utf8'),
) as object;
const validatePlan = createAjv().compile(planSchema);

/** Compile a job and check the plan against build-plan.json, as the executor will read it. */
function compile(
  model: PipelineModel,
  jobName: string,
  extra: Partial<Parameters<typeof compileJobPlan>[1]> = {},
): BuildPlan {
  const job = model.jobs.find((candidate) => candidate.name === jobName) as JobModel;
  const inputVersions = Object.fromEntries(
    job.inputs.map((input) => [input.name, { ref: `${input.name}-v1` }]),
  );
  const plan = compileJobPlan(job, { pipeline: model, inputVersions, ...extra });
  expect(validatePlan(plan), JSON.stringify(validatePlan.errors)).toBe(true);
  return plan;
}

function modelOf(text: string): PipelineModel {
  return validatePipeline(text, { file: 'pipeline.yml' }).model;
}

/** Every step of a plan, depth first. */
function allSteps(step: PlanStep): PlanStep[] {
  const children: PlanStep[] = [];
  if ('steps' in step) children.push(...step.steps);
  if ('step' in step) children.push(step.step);
  if (step.type === 'hook') children.push(step.next);
  return [step, ...children.flatMap(allSteps)];
}

/** The chain of wrappers from a step down to its core: `hook:ensure > retry > task`. */
function chain(step: PlanStep): string {
  const label = step.type === 'hook' ? `hook:${step.hook}` : step.type;
  return 'step' in step && step.type !== 'try' ? `${label} > ${chain(step.step)}` : label;
}

const repo = ['resources:', '- name: repo', '  type: git', '  source: {uri: https://example.com/repo.git}'];

describe('compileJobPlan: modifiers nest as in Concourse’s planner', () => {
  const model = modelOf(
    yaml(
      ...repo,
      'jobs:',
      '- name: unit',
      '  plan:',
      '  - get: repo',
      '  - task: test',
      '    file: repo/ci/test.yml',
      '    ensure: {task: e, file: repo/e.yml}',
      '    on_error: {task: r, file: repo/r.yml}',
      '    on_abort: {task: a, file: repo/a.yml}',
      '    on_failure: {task: f, file: repo/f.yml}',
      '    on_success: {task: s, file: repo/s.yml}',
      '    across: [{var: os, values: [linux, darwin], max_in_flight: all}]',
      '    fail_fast: true',
      '    attempts: 3',
      '    timeout: 1m30s',
      '  on_success: {task: job-s, file: repo/s.yml}',
      '  on_failure: {task: job-f, file: repo/f.yml}',
      '  ensure: {task: job-e, file: repo/e.yml}',
    ),
  );
  const plan = compile(model, 'unit');

  it('wraps a step: timeout innermost, then attempts, across, and hooks with ensure outermost', () => {
    const root = plan.root;
    if (root.type !== 'hook') throw new Error('expected job hooks at the root');
    const inner = allSteps(root).find(
      (step) =>
        step.type === 'hook' && step.hook === 'ensure' && step.next.type === 'task' && step.next.name === 'e',
    );
    expect(chain(inner as PlanStep)).toBe(
      'hook:ensure > hook:on_error > hook:on_abort > hook:on_failure > hook:on_success > across > retry > timeout > task',
    );
    const steps = allSteps(inner as PlanStep);
    expect(steps.find((step) => step.type === 'timeout')).toMatchObject({ durationMs: 90_000 });
    expect(steps.find((step) => step.type === 'retry')).toMatchObject({ attempts: 3 });
    expect(steps.find((step) => step.type === 'across')).toMatchObject({
      vars: [{ var: 'os', values: ['linux', 'darwin'], maxInFlight: 'all' }],
      failFast: true,
    });
    const hooks = steps.filter((step) => step.type === 'hook');
    expect(
      hooks.map((hook) => (hook.type === 'hook' && hook.next.type === 'task' ? hook.next.name : '')),
    ).toEqual(['e', 'r', 'a', 'f', 's']);
  });

  it('wraps the whole plan in the job’s hooks, ensure outermost', () => {
    expect(chain(plan.root)).toBe('hook:ensure > hook:on_failure > hook:on_success > do');
    const names = allSteps(plan.root).flatMap((step) =>
      step.type === 'hook' && step.next.type === 'task' ? [step.next.name] : [],
    );
    expect(names.slice(0, 3)).toEqual(['job-e', 'job-f', 'job-s']);
  });

  it('gives every step an id unique within the build', () => {
    const ids = allSteps(plan.root).map((step) => step.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('compileJobPlan: gets and puts', () => {
  const model = modelOf(
    yaml(
      ...repo,
      '- name: image',
      '  type: registry-image@^1',
      '  source: {repository: example/app}',
      'jobs:',
      '- name: build',
      '  plan:',
      '  - get: repo',
      '    params: {depth: 1}',
      '  - get: code',
      '    resource: repo',
      '  - put: image',
      '    inputs: [repo]',
      '    params: {image: repo/image.tar}',
      '    get_params: {skip_download: true}',
      '    tags: [docker]',
      '  - put: quiet',
      '    resource: image',
      '    no_get: true',
    ),
  );
  const plan = compile(model, 'build');
  const steps = allSteps(plan.root);

  it('gives each get of the job the version the scheduler resolved', () => {
    const gets = steps.filter((step) => step.type === 'get' && step.fromPut === undefined);
    expect(gets).toEqual([
      expect.objectContaining({
        name: 'repo',
        resource: 'repo',
        resourceType: 'git',
        params: { depth: 1 },
        version: { ref: 'repo-v1' },
      }),
      expect.objectContaining({
        name: 'code',
        resource: 'repo',
        version: { ref: 'code-v1' },
        source: { uri: 'https://example.com/repo.git' },
      }),
    ]);
  });

  it('follows a put with the implicit get of what it produced, unless no_get', () => {
    const [put, quiet] = steps.filter((step) => step.type === 'put');
    const hook = steps.find((step) => step.type === 'hook');
    expect(hook).toMatchObject({ hook: 'on_success', step: { type: 'put', name: 'image' } });
    expect(hook?.type === 'hook' && hook.next).toEqual({
      id: expect.any(String),
      type: 'get',
      name: 'image',
      resource: 'image',
      resourceType: 'registry-image@^1',
      source: { repository: 'example/app' },
      params: { skip_download: true },
      fromPut: put?.id,
      tags: ['docker'],
    });
    expect(put).toMatchObject({ inputs: ['repo'], params: { image: 'repo/image.tar' }, tags: ['docker'] });
    expect(quiet).toMatchObject({ name: 'quiet', resource: 'image' });
    expect(steps.filter((step) => step.type === 'get' && step.fromPut === quiet?.id)).toEqual([]);
    // A plugin reference stays a plugin reference: no pipeline resource types are involved.
    expect(plan.resourceTypes).toBeUndefined();
  });

  it('refuses to compile without a version for an input', () => {
    const job = model.jobs[0] as JobModel;
    let caught: unknown;
    try {
      compileJobPlan(job, { pipeline: model, inputVersions: { repo: { ref: 'a' } } });
    } catch (error: unknown) {
      caught = error;
    }
    expect(isConveyorError(caught, 'CC_E_PLAN_INPUT_MISSING')).toBe(true);
    expect(isConveyorError(caught) && caught.details).toEqual({ job: 'build', input: 'code' });
  });
});

describe('compileJobPlan: resource types and the other steps', () => {
  const model = modelOf(readFixture('valid', 'resource-types.yml'));

  it('carries the pipeline resource types a plan uses, with their versions, and applies defaults', () => {
    const plan = compile(model, 'test-pr', { resourceTypes: { pr: { digest: 'sha256:abc' } } });
    expect(plan.resourceTypes).toEqual([
      {
        name: 'pr',
        type: 'registry-image',
        source: { repository: 'teliaoss/github-pr-resource' },
        params: { skip_download: false },
        version: { digest: 'sha256:abc' },
        privileged: true,
      },
      {
        name: 'slack-notification',
        type: 'registry-image',
        source: { repository: 'cfcommunity/slack-notification-resource', tag: 'latest' },
      },
    ]);
    const get = allSteps(plan.root).find((step) => step.type === 'get' && step.name === 'pull-request');
    expect(get).toMatchObject({
      resourceType: 'pr',
      source: { access_token: '((github.token))', repository: 'example/app' },
    });
    const task = allSteps(plan.root).find((step) => step.type === 'task');
    // The step's container_limits win over the config's; other config stays as written.
    expect(task).toMatchObject({
      name: 'unit',
      image: 'version',
      config: { container_limits: { cpu: 512, memory: 2147483648 } },
    });
  });

  it('compiles in_parallel, do, try, set_pipeline, load_var and across, passing tags down', () => {
    const text = yaml(
      ...repo,
      'jobs:',
      '- name: meta',
      '  plan:',
      '  - in_parallel:',
      '      limit: 2',
      '      fail_fast: true',
      '      steps:',
      '      - get: repo',
      '      - try: {task: flaky, file: repo/flaky.yml}',
      '  - do:',
      '    - load_var: branches',
      '      file: repo/branches.json',
      '      format: json',
      '      reveal: true',
      '    - across: [{var: b, values: ((.:branches))}]',
      '      set_pipeline: release',
      '      file: repo/release.yml',
      '      team: main',
      '      instance_vars: {branch: ((.:b))}',
      '      var_files: [repo/vars.yml]',
      '    - task: tagged',
      '      file: repo/t.yml',
      '    tags: [gpu]',
    );
    const steps = allSteps(compile(modelOf(text), 'meta').root);
    expect(steps.find((step) => step.type === 'in_parallel')).toMatchObject({ limit: 2, failFast: true });
    expect(steps.find((step) => step.type === 'try')).toMatchObject({
      step: { type: 'task', name: 'flaky' },
    });
    expect(steps.find((step) => step.type === 'load_var')).toMatchObject({
      name: 'branches',
      file: 'repo/branches.json',
      format: 'json',
      reveal: true,
    });
    expect(steps.find((step) => step.type === 'across')).toMatchObject({
      vars: [{ var: 'b', values: '((.:branches))' }],
      step: {
        type: 'set_pipeline',
        name: 'release',
        team: 'main',
        instanceVars: { branch: '((.:b))' },
        varFiles: ['repo/vars.yml'],
      },
    });
    expect(steps.find((step) => step.type === 'task' && step.name === 'tagged')).toMatchObject({
      tags: ['gpu'],
    });
  });
});

describe('compileJobPlan: the valid corpus', () => {
  it.each(fixtureNames('valid'))('%s: every job compiles to a plan that fits build-plan.json', (name) => {
    const { model } = validatePipeline(readFixture('valid', name), { file: name, vars: fixtureVars(name) });
    for (const job of model.jobs) {
      const plan = compile(model, job.name);
      const ids = allSteps(plan.root).map((step) => step.id);
      expect(new Set(ids).size).toBe(ids.length);
    }
  });
});
