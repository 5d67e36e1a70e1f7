import { closestKey } from '../problems.js';
import { CONCOURSE_RESOURCE_TYPE } from '../resource-type-images.js';
import type { YamlPath } from '../yaml-source.js';
import { type Findings, isRecord } from './findings.js';
import { compileGlob } from './globs.js';
import { checkIdentifier } from './identifiers.js';
import { varReferences } from './var-refs.js';
import { recordsOf, type StepVisit, stepResource, stringField, visitJob } from './visit.js';

/** Which resource types exist outside the pipeline: a list of plugin names, or a predicate. */
export type KnownResourceTypes = readonly string[] | ((type: string) => boolean);

export interface SemanticOptions {
  knownResourceTypes?: KnownResourceTypes;
  /**
   * Types that name an image rather than a resource (registry-image, docker-image): allowed as a
   * pipeline resource type's `type` and a task's `image_resource.type`, not as a resource's.
   */
  imageTypes?: readonly string[];
}

/** The named lists of a pipeline, with the word Concourse uses for each. */
const namedLists = ['resources', 'resource_types', 'jobs', 'groups', 'var_sources'] as const;

/**
 * The rules Concourse applies beyond the shape of the document (atc/configvalidate and the step
 * validator): unique names, known resources and jobs, `passed:` that can be satisfied, groups
 * that cover every job, tasks with a config, local var scopes; plus a cycle check of `passed:`
 * and unknown resource types, which Conveyor adds.
 */
export function checkSemantics(
  doc: Record<string, unknown>,
  findings: Findings,
  options: SemanticOptions,
): void {
  for (const list of namedLists) checkNames(doc, list, findings);
  const jobs = recordsOf(doc.jobs);
  if (jobs.length === 0) findings.error(['jobs'], 'a pipeline needs at least one job');

  const resourceNames = namesOf(doc.resources);
  const jobNames = namesOf(doc.jobs);
  // Every resource each job gets or puts, anywhere in its plan or hooks.
  const touches = new Map<string, Set<string>>();
  for (const [, job] of jobs) {
    const touched = new Set<string>();
    visitJob(job, [], {
      enter({ type, step }) {
        if (type === 'get' || type === 'put') {
          const resource = stepResource(step, type);
          if (resource !== undefined) touched.add(resource);
        }
      },
    });
    const name = stringField(job, 'name');
    if (name !== undefined) touches.set(name, touched);
  }
  const used = new Set([...touches.values()].flatMap((set) => [...set]));
  for (const [i, resource] of recordsOf(doc.resources)) {
    const name = stringField(resource, 'name');
    if (name !== undefined && !used.has(name))
      findings.error(
        ['resources', i, 'name'],
        `resource \`${name}\` is not used by any job; get or put it in a job, or remove it`,
      );
  }

  checkResourceTypes(doc, findings, options.knownResourceTypes, options.imageTypes ?? []);
  const edges: PassedEdge[] = [];
  for (const [j, job] of jobs)
    checkJob(job, ['jobs', j], { resourceNames, jobNames, jobs, touches, edges, findings, options, doc });
  checkPassedCycles(edges, findings);
  checkGroups(doc, jobNames, resourceNames, findings);
  checkVarSources(doc, findings);
  checkDisplay(doc, findings);
}

function namesOf(list: unknown): string[] {
  return recordsOf(list).flatMap(([, item]) => {
    const name = stringField(item, 'name');
    return name === undefined ? [] : [name];
  });
}

function checkNames(
  doc: Record<string, unknown>,
  list: (typeof namedLists)[number],
  findings: Findings,
): void {
  const first = new Map<string, number>();
  for (const [i, item] of recordsOf(doc[list])) {
    const name = stringField(item, 'name');
    if (name === undefined) continue;
    checkIdentifier(name, [list, i, 'name'], findings);
    const earlier = first.get(name);
    if (earlier === undefined) first.set(name, i);
    else
      findings.error(
        [list, i, 'name'],
        `\`${name}\` is already the name of ${list}[${earlier}]; names must be unique`,
      );
  }
}

/** Whether a resource type is a plugin the caller knows (a `name@range` counts by its name). */
function isKnownType(type: string, known: KnownResourceTypes): boolean {
  const name = type.split('@')[0] ?? type;
  return typeof known === 'function' ? known(type) : known.includes(type) || known.includes(name);
}

function checkResourceTypes(
  doc: Record<string, unknown>,
  findings: Findings,
  known: KnownResourceTypes | undefined,
  imageTypes: readonly string[],
): void {
  if (known === undefined) return;
  const custom = namesOf(doc.resource_types);
  const candidates = [...custom, ...(typeof known === 'function' ? [] : known)];
  const check = (type: string | undefined, segments: YamlPath, self?: string, image = false) => {
    if (type === undefined) return;
    // The plugin that runs Concourse resource-type images has no image of its own to run.
    if (type.split('@')[0] === CONCOURSE_RESOURCE_TYPE && imageTypes.length > 0 && !custom.includes(type)) {
      findings.error(
        segments,
        `\`${CONCOURSE_RESOURCE_TYPE}\` runs Concourse resource-type images and is not named directly: declare the image as one of the pipeline's resource_types (\`type: registry-image\`, \`source: {repository: …}\`) and give the resource that type`,
      );
      return;
    }
    if ((custom.includes(type) && type !== self) || isKnownType(type, known)) return;
    if (image && imageTypes.includes(type)) return;
    const suggestion = closestKey(type, candidates);
    findings.error(
      segments,
      `unknown resource type \`${type}\`: it is neither one of the pipeline's resource_types nor an installed resource type plugin${suggestion ? `; did you mean \`${suggestion}\`?` : ''}`,
      suggestion ? { suggestion } : {},
    );
  };
  for (const [i, resource] of recordsOf(doc.resources))
    check(stringField(resource, 'type'), ['resources', i, 'type']);
  for (const [i, type] of recordsOf(doc.resource_types))
    check(stringField(type, 'type'), ['resource_types', i, 'type'], stringField(type, 'name'), true);
  for (const [j, job] of recordsOf(doc.jobs)) {
    visitJob(job, ['jobs', j], {
      enter({ type, step, segments }) {
        if (type !== 'task' || !isRecord(step.config) || !isRecord(step.config.image_resource)) return;
        check(
          stringField(step.config.image_resource, 'type'),
          [...segments, 'config', 'image_resource', 'type'],
          undefined,
          true,
        );
      },
    });
  }
}

interface PassedEdge {
  from: string;
  to: string;
  segments: YamlPath;
}

interface JobContext {
  resourceNames: string[];
  jobNames: string[];
  jobs: Array<[number, Record<string, unknown>]>;
  touches: Map<string, Set<string>>;
  edges: PassedEdge[];
  findings: Findings;
  options: SemanticOptions;
  doc: Record<string, unknown>;
}

function checkJob(job: Record<string, unknown>, jobSegments: YamlPath, context: JobContext): void {
  const { findings } = context;
  const jobName = stringField(job, 'name');
  const limited = job.serial === true || (Array.isArray(job.serial_groups) && job.serial_groups.length > 0);
  if (limited && job.max_in_flight !== undefined) {
    findings.warn(
      [...jobSegments, 'max_in_flight'],
      `is ignored: \`${job.serial === true ? 'serial' : 'serial_groups'}\` already limits the job to one build at a time, as in Concourse`,
      { target: 'key' },
    );
  }
  if (job.build_log_retention !== undefined && job.build_logs_to_retain !== undefined) {
    findings.error(
      [...jobSegments, 'build_logs_to_retain'],
      'cannot be used together with `build_log_retention`; use `build_log_retention.builds`',
      {
        target: 'key',
      },
    );
  }
  const retention = job.build_log_retention;
  if (
    isRecord(retention) &&
    typeof retention.builds === 'number' &&
    typeof retention.minimum_succeeded_builds === 'number'
  ) {
    if (retention.builds > 0 && retention.minimum_succeeded_builds > retention.builds)
      findings.error(
        [...jobSegments, 'build_log_retention', 'minimum_succeeded_builds'],
        `(${retention.minimum_succeeded_builds}) must not be greater than \`builds\` (${retention.builds})`,
      );
  }

  const gets = new Set<string>();
  // Local var scopes: the job's, then one per enclosing `across`.
  const scopes: Array<Set<string>> = [new Set()];
  const declare = (name: unknown, segments: YamlPath) => {
    if (typeof name !== 'string') return;
    const current = scopes.at(-1);
    if (current?.has(name))
      findings.error(segments, `local var \`${name}\` is already declared in this scope`);
    else if (scopes.some((scope) => scope.has(name)))
      findings.warn(segments, `shadows the local var \`${name}\` of an enclosing step`);
    current?.add(name);
  };
  const inAcross: boolean[] = [];

  visitJob(job, jobSegments, {
    enter(visit) {
      const { type, step, segments } = visit;
      const across = Array.isArray(step.across) ? step.across : undefined;
      inAcross.push(across !== undefined);
      if (across) {
        scopes.push(new Set());
        across.forEach((item, i) => {
          if (isRecord(item)) {
            declare(item.var, [...segments, 'across', i, 'var']);
            if (typeof item.var === 'string')
              checkIdentifier(item.var, [...segments, 'across', i, 'var'], findings);
          }
        });
      }
      const name = step[type];
      if (typeof name === 'string' && ['get', 'put', 'task', 'set_pipeline', 'load_var'].includes(type)) {
        // Concourse lets task and set_pipeline names under `across` carry local vars unchecked.
        if (!(across && (type === 'task' || type === 'set_pipeline')))
          checkIdentifier(name, [...segments, type], findings);
      }
      if (type === 'get') checkGet(visit, jobName, gets, context);
      else if (type === 'put') checkPut(visit, context);
      else if (type === 'task') checkTask(visit, findings);
      else if (type === 'load_var') declare(step.load_var, [...segments, 'load_var']);
    },
    leave() {
      if (inAcross.pop()) scopes.pop();
    },
  });
}

function unknownResource(resource: string, segments: YamlPath, context: JobContext): void {
  const suggestion = closestKey(resource, context.resourceNames);
  context.findings.error(
    segments,
    `unknown resource \`${resource}\`${suggestion ? `; did you mean \`${suggestion}\`?` : ' (it is not in `resources`)'}`,
    suggestion ? { suggestion } : {},
  );
}

function checkGet(
  { step, segments }: StepVisit,
  jobName: string | undefined,
  gets: Set<string>,
  context: JobContext,
): void {
  const { findings } = context;
  const name = stringField(step, 'get');
  const resource = stepResource(step, 'get');
  const resourceKey = 'resource' in step ? 'resource' : 'get';
  if (name !== undefined) {
    if (gets.has(name))
      findings.error(
        [...segments, 'get'],
        `\`${name}\` is already the name of another get step of this job; give this one another name (and \`resource: ${resource ?? name}\`)`,
      );
    gets.add(name);
  }
  if (resource === undefined) return;
  if (!context.resourceNames.includes(resource))
    unknownResource(resource, [...segments, resourceKey], context);
  if (typeof step.version === 'string' && step.version !== 'latest' && step.version !== 'every') {
    findings.warn(
      [...segments, 'version'],
      `\`${step.version}\` is neither \`latest\` nor \`every\`, so it means \`latest\` (as in Concourse); to pin a version write a mapping like \`{ref: abc123}\``,
    );
  }
  if (!Array.isArray(step.passed)) return;
  step.passed.forEach((pattern, i) => {
    if (typeof pattern !== 'string') return;
    const at = [...segments, 'passed', i];
    const glob = compileGlob(pattern);
    if (!glob.ok) {
      findings.error(at, `\`${pattern}\` is not a valid job name or glob: it ${glob.reason}`);
      return;
    }
    const matched = context.jobNames.filter((job) => glob.matches(job));
    if (matched.length === 0) {
      const suggestion = closestKey(pattern, context.jobNames);
      findings.error(
        at,
        `unknown job \`${pattern}\`${suggestion ? `; did you mean \`${suggestion}\`?` : ''}`,
        suggestion ? { suggestion } : {},
      );
      return;
    }
    for (const job of matched) {
      if (!context.touches.get(job)?.has(resource))
        findings.error(
          at,
          `job \`${job}\` does not get or put resource \`${resource}\`, so no version of it can have passed that job`,
        );
      if (jobName !== undefined) context.edges.push({ from: jobName, to: job, segments: at });
    }
  });
}

function checkPut({ step, segments }: StepVisit, context: JobContext): void {
  const resource = stepResource(step, 'put');
  if (resource !== undefined && !context.resourceNames.includes(resource))
    unknownResource(resource, [...segments, 'resource' in step ? 'resource' : 'put'], context);
  if (typeof step.inputs === 'string' && step.inputs !== 'all' && step.inputs !== 'detect') {
    context.findings.warn(
      [...segments, 'inputs'],
      `\`${step.inputs}\` is neither \`all\` nor \`detect\`, so the put gets no inputs (as in Concourse); write a list of artifact names to choose some`,
    );
  }
}

function checkTask({ step, segments }: StepVisit, findings: Findings): void {
  if (step.file === undefined && step.config === undefined) {
    findings.error(
      segments,
      'a task step needs either `file:` (a task config in an artifact) or `config:` (an inline task config)',
    );
  } else if (step.file !== undefined && step.config !== undefined) {
    findings.error([...segments, 'file'], 'and `config:` are both set; a task step takes one of them', {
      target: 'key',
    });
  }
  const config = step.config;
  if (
    step.image !== undefined &&
    isRecord(config) &&
    (config.image_resource !== undefined || config.rootfs_uri !== undefined)
  ) {
    findings.warn(
      [...segments, 'image'],
      "is set on the step and the task config also names an image; the step's `image:` wins, as in Concourse",
      { target: 'key' },
    );
  }
}

/** `passed:` edges that loop: no version can pass every job of a loop before the others. */
function checkPassedCycles(edges: readonly PassedEdge[], findings: Findings): void {
  const graph = new Map<string, string[]>();
  for (const edge of edges) graph.set(edge.from, [...(graph.get(edge.from) ?? []), edge.to]);
  const reported = new Set<string>();
  for (const edge of edges) {
    // A path back from `to` to `from` closes a loop through this edge.
    const path = pathBetween(graph, edge.to, edge.from);
    if (!path) continue;
    const loop = [edge.from, ...path];
    const key = [...new Set(loop)].sort().join('\u0000');
    if (reported.has(key)) continue;
    reported.add(key);
    findings.error(
      edge.segments,
      `\`passed:\` constraints form a cycle (${loop.map((job) => `\`${job}\``).join(' → ')}); no version can pass all of these jobs first, so none of them would ever run`,
    );
  }
}

function pathBetween(
  graph: ReadonlyMap<string, readonly string[]>,
  from: string,
  to: string,
): string[] | undefined {
  const previous = new Map<string, string>();
  const queue = [from];
  const seen = new Set([from]);
  while (queue.length > 0) {
    const node = queue.shift() as string;
    if (node === to) {
      const path = [node];
      let current = node;
      while (previous.has(current)) {
        current = previous.get(current) as string;
        path.unshift(current);
      }
      return path;
    }
    for (const next of graph.get(node) ?? []) {
      if (seen.has(next)) continue;
      seen.add(next);
      previous.set(next, node);
      queue.push(next);
    }
  }
  return undefined;
}

function checkGroups(
  doc: Record<string, unknown>,
  jobNames: string[],
  resourceNames: string[],
  findings: Findings,
): void {
  const groups = recordsOf(doc.groups);
  if (groups.length === 0) return;
  const grouped = new Set<string>();
  for (const [g, group] of groups) {
    const name = stringField(group, 'name') ?? `groups[${g}]`;
    if (Array.isArray(group.jobs)) {
      group.jobs.forEach((pattern, i) => {
        if (typeof pattern !== 'string') return;
        const at = ['groups', g, 'jobs', i];
        const glob = compileGlob(pattern);
        if (!glob.ok) {
          findings.error(at, `\`${pattern}\` is not a valid job name or glob: it ${glob.reason}`);
          return;
        }
        const matched = jobNames.filter((job) => glob.matches(job));
        for (const job of matched) grouped.add(job);
        if (matched.length === 0) {
          const suggestion = closestKey(pattern, jobNames);
          findings.error(
            at,
            `group \`${name}\` has unknown job \`${pattern}\`${suggestion ? `; did you mean \`${suggestion}\`?` : ''}`,
            suggestion ? { suggestion } : {},
          );
        }
      });
    }
    if (Array.isArray(group.resources)) {
      group.resources.forEach((resource, i) => {
        if (typeof resource === 'string' && !resourceNames.includes(resource)) {
          const suggestion = closestKey(resource, resourceNames);
          findings.error(
            ['groups', g, 'resources', i],
            `group \`${name}\` has unknown resource \`${resource}\`${suggestion ? `; did you mean \`${suggestion}\`?` : ''}`,
            suggestion ? { suggestion } : {},
          );
        }
      });
    }
  }
  for (const [j, job] of recordsOf(doc.jobs)) {
    const name = stringField(job, 'name');
    if (name !== undefined && !grouped.has(name))
      findings.error(
        ['jobs', j, 'name'],
        `job \`${name}\` belongs to no group; once a pipeline has groups, every job must be in one`,
      );
  }
}

/** Var sources may use each other's vars in their config, but not in a loop. */
function checkVarSources(doc: Record<string, unknown>, findings: Findings): void {
  const sources = recordsOf(doc.var_sources);
  const pending = new Map<string, { index: number; needs: Set<string> }>();
  for (const [i, source] of sources) {
    const name = stringField(source, 'name');
    if (name === undefined) continue;
    const needs = new Set<string>();
    collectSources(source.config, needs);
    needs.delete('.');
    pending.set(name, { index: i, needs });
  }
  const resolved = new Set<string>();
  let progress = true;
  while (progress) {
    progress = false;
    for (const [name, { needs }] of pending) {
      if ([...needs].every((need) => resolved.has(need))) {
        resolved.add(name);
        pending.delete(name);
        progress = true;
      }
    }
  }
  for (const [name, { index, needs }] of pending) {
    const missing = [...needs].filter((need) => !resolved.has(need));
    findings.error(
      ['var_sources', index, 'config'],
      `var source \`${name}\` uses vars of ${missing.map((need) => `\`${need}\``).join(', ')}, which cannot be resolved before it (unknown, or depending on it in turn)`,
    );
  }
}

function collectSources(value: unknown, into: Set<string>): void {
  if (typeof value === 'string') {
    for (const reference of varReferences(value))
      if (reference.source !== undefined) into.add(reference.source);
  } else if (Array.isArray(value)) {
    for (const item of value) collectSources(item, into);
  } else if (isRecord(value)) {
    for (const [key, item] of Object.entries(value)) {
      collectSources(key, into);
      collectSources(item, into);
    }
  }
}

function checkDisplay(doc: Record<string, unknown>, findings: Findings): void {
  if (!isRecord(doc.display)) return;
  const image = doc.display.background_image;
  if (typeof image !== 'string') return;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(image)?.[1]?.toLowerCase();
  if (scheme !== undefined && scheme !== 'http' && scheme !== 'https')
    findings.error(['display', 'background_image'], 'must be an http, https or relative URL');
}
