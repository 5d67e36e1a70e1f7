import {
  IMAGE_RESOURCE_TYPES,
  imageFromSource,
  imageSourceSchema,
  resourceTypePlugin,
  validatePipeline,
} from '@conveyor/core/config';
import { describe, expect, it } from 'vitest';
import { brief, problemsOf, yaml } from './helpers.js';

/** As the server validates: installed plugins, image types, and their source schema. */
const options = {
  knownResourceTypes: ['git', 'mock', 'concourse'],
  imageTypes: IMAGE_RESOURCE_TYPES,
  resourceTypeSchemas: (type: string) =>
    IMAGE_RESOURCE_TYPES.includes(type) ? { source: imageSourceSchema } : undefined,
};

describe('registry-image and docker-image in pipelines', () => {
  it("accepts them as a resource type's type and a task's image, as Concourse pipelines use them", () => {
    const text = yaml(
      'resource_types:',
      '- name: pr',
      '  type: registry-image',
      '  source: {repository: teliaoss/github-pr-resource, tag: v0.23.0}',
      '- name: old',
      '  type: docker-image',
      '  source: {repository: example/old-resource, insecure_registries: ["registry.local:5000"]}',
      'resources:',
      '- name: pull-request',
      '  type: pr',
      '  source: {repository: me/app}',
      'jobs:',
      '- name: test',
      '  plan:',
      '  - get: pull-request',
      '  - task: t',
      '    config:',
      '      platform: linux',
      '      image_resource: {type: registry-image, source: {repository: busybox}}',
      '      run: {path: "true"}',
    );
    const { model } = validatePipeline(text, { file: 'pipeline.yml', ...options });
    expect(model.resourceTypes.map((t) => t.type)).toEqual(['registry-image', 'docker-image']);
  });

  it("refuses them as a resource's own type (no plugin fetches images as versions) and checks the image source", () => {
    const text = yaml(
      'resource_types:',
      '- name: pr',
      '  type: registry-image',
      '  source: {tag: latest}',
      'resources:',
      '- name: image',
      '  type: registry-image',
      '  source: {repository: busybox}',
      'jobs:',
      '- name: test',
      '  plan:',
      '  - get: image',
    );
    const problems = problemsOf(text, options);
    expect(brief(problems)).toEqual([
      '4:11 resource_types[0].source.repository error',
      '7:9 resources[0].type error',
    ]);
    expect(problems[0]?.message).toMatch(/required/);
  });
});

it('refuses the concourse plugin named directly, and says how to declare an image instead', () => {
  const text = yaml(
    'resources:',
    '- name: r',
    '  type: concourse',
    '  source: {}',
    'jobs:',
    '- name: test',
    '  plan:',
    '  - get: r',
  );
  const problems = problemsOf(text, options);
  expect(brief(problems)).toEqual(['3:9 resources[0].type error']);
  expect(problems[0]?.message).toMatch(/declare the image as one of the pipeline's resource_types/);
});

describe('the image a registry-image source names', () => {
  it('is a tag of the repository, latest by default, or the digest a version pins', () => {
    expect(imageFromSource({ repository: 'busybox' })).toEqual({ type: 'oci', reference: 'busybox:latest' });
    expect(imageFromSource({ repository: 'ghcr.io/me/img', tag: 1.5 }, undefined)).toEqual({
      type: 'oci',
      reference: 'ghcr.io/me/img:1.5',
    });
    expect(imageFromSource({ repository: 'ghcr.io/me/img', tag: 'v1' }, { digest: 'sha256:abc' })).toEqual({
      type: 'oci',
      reference: 'ghcr.io/me/img@sha256:abc',
    });
  });

  it('carries credentials, and reaches loopback and insecure_registries over plain HTTP only', () => {
    expect(imageFromSource({ repository: '127.0.0.1:5000/ci/tool', username: 'u', password: 'p' })).toEqual({
      type: 'oci',
      reference: '127.0.0.1:5000/ci/tool:latest',
      username: 'u',
      password: 'p',
      insecure: true,
    });
    expect(imageFromSource({ repository: 'localhost:5000/tool' })).toMatchObject({ insecure: true });
    expect(
      imageFromSource({
        repository: 'registry.local:5000/tool',
        insecure_registries: ['registry.local:5000'],
      }),
    ).toMatchObject({ insecure: true });
    expect(imageFromSource({ repository: 'registry.local:5000/tool' })).not.toHaveProperty('insecure');
    // A Docker Hub name has no registry host.
    expect(imageFromSource({ repository: 'library/busybox' })).not.toHaveProperty('insecure');
  });

  it('says what is missing', () => {
    expect(() => imageFromSource({ tag: 'v1' })).toThrow(/no `repository`/);
  });
});

describe('which plugin runs a type', () => {
  it('is the concourse plugin for an image type, the named plugin otherwise', () => {
    const image = { name: 'pr', type: 'registry-image', source: { repository: 'x' } };
    expect(resourceTypePlugin('pr', image)).toBe('concourse');
    expect(resourceTypePlugin('my-git', { name: 'my-git', type: 'git@^2', source: {} })).toBe('git@^2');
    expect(resourceTypePlugin('git', undefined)).toBe('git');
  });
});
