import {
  type CandidateVersion,
  type JobInputRow,
  lastUsedCheckOrder,
  latestVersion,
  loadJobInputs,
  loadPassedVersions,
  nextEveryVersion,
  type PassedVersionRow,
  pinnedVersion,
  type Queryable,
  type Version,
} from '../db/index.js';

/** One input of a job with the version chosen for it. */
export interface ResolvedInput {
  name: string;
  resourceId: number;
  resourceVersionId: number;
  trigger: boolean;
  /** `version: every`: each version gets a build of its own. */
  every: boolean;
}

export type Resolution =
  | { ok: true; inputs: ResolvedInput[] }
  | {
      ok: false;
      /** The input that found no version. */
      input: string;
      /** Why, in words for the job's page and for `cc trigger-job`. */
      reason: string;
    };

/** How many partial assignments the passed-constraint search may try before it gives up. */
const SEARCH_BUDGET = 100_000;

interface InputSpec {
  row: JobInputRow;
  /** The pin that applies: the get step's, else the resource's in the config, else the API's. */
  pin: { version: Version } | { id: number } | null;
  /** The version the pin names, when there is a pin and the version exists (enabled). */
  pinned: CandidateVersion | null;
  /** For `every`: the check order of the newest version of the resource the job has used. */
  lastUsed: number | null;
}

/**
 * Finds one consistent set of input versions for a job, as Concourse's algorithm does:
 *
 * - An input without `passed:` gets its pinned version (get step, resource config, API pin, in
 *   that order), else with `version: every` the oldest version newer than any the job has used
 *   (the newest one first when the job has used none), else the newest version. Disabled versions
 *   never count.
 * - An input with `passed:` gets a version that some succeeded build of every listed job had as an
 *   input or output; inputs that share a passed job must take their versions from the same build
 *   of it. Candidates are tried newest first (for `every`, the next unused first), and the search
 *   backtracks until every passed input fits.
 */
export async function resolveInputs(db: Queryable, jobId: number): Promise<Resolution> {
  const rows = await loadJobInputs(db, jobId);
  const specs: InputSpec[] = [];
  for (const row of rows) {
    const pin =
      row.version_mode === 'pinned' && row.pinned_version !== null
        ? { version: row.pinned_version }
        : row.config_pinned_version !== null
          ? { version: row.config_pinned_version }
          : row.api_pinned_version_id !== null
            ? { id: row.api_pinned_version_id }
            : null;
    const pinned = pin === null ? null : await pinnedVersion(db, row.resource_id, row.version_scope, pin);
    if (pin !== null && pinned === null) {
      const what = 'version' in pin ? JSON.stringify(pin.version) : `(id ${pin.id})`;
      return {
        ok: false,
        input: row.name,
        reason: `the pinned version ${what} of resource ${row.resource_name} does not exist or is disabled`,
      };
    }
    const lastUsed =
      row.version_mode === 'every' && pin === null
        ? await lastUsedCheckOrder(db, jobId, row.resource_id, row.version_scope)
        : null;
    specs.push({ row, pin, pinned, lastUsed });
  }

  const chosen = new Map<string, number>();
  for (const spec of specs) {
    if (spec.row.passed_job_ids.length > 0) continue;
    const version = await independentVersion(db, spec);
    if (version === null) {
      return {
        ok: false,
        input: spec.row.name,
        reason: `resource ${spec.row.resource_name} has no versions yet (or all of them are disabled)`,
      };
    }
    chosen.set(spec.row.name, version.id);
  }

  const constrained = specs.filter((spec) => spec.row.passed_job_ids.length > 0);
  if (constrained.length > 0) {
    const failure = await resolvePassed(db, constrained, chosen);
    if (failure !== null) return failure;
  }

  return {
    ok: true,
    inputs: specs.map((spec) => ({
      name: spec.row.name,
      resourceId: spec.row.resource_id,
      resourceVersionId: chosen.get(spec.row.name) as number,
      trigger: spec.row.trigger,
      every: spec.row.version_mode === 'every' && spec.pin === null,
    })),
  };
}

async function independentVersion(db: Queryable, spec: InputSpec): Promise<CandidateVersion | null> {
  if (spec.pinned !== null) return spec.pinned;
  const { resource_id: resourceId, version_scope: scope } = spec.row;
  if (spec.row.version_mode === 'every' && spec.lastUsed !== null) {
    return nextEveryVersion(db, resourceId, scope, spec.lastUsed);
  }
  return latestVersion(db, resourceId, scope);
}

/** What one upstream job passed: for each resource, each version and the builds that had it. */
interface PassedIndex {
  /** `${jobId}:${resourceId}` → version id → build ids, newest first. */
  builds: Map<string, Map<number, number[]>>;
  /** build id → resource id → version ids. */
  contents: Map<number, Map<number, Set<number>>>;
  checkOrder: Map<number, number>;
}

function indexPassed(rows: readonly PassedVersionRow[]): PassedIndex {
  const index: PassedIndex = { builds: new Map(), contents: new Map(), checkOrder: new Map() };
  for (const row of rows) {
    const key = `${row.job_id}:${row.resource_id}`;
    const versions = index.builds.get(key) ?? new Map<number, number[]>();
    index.builds.set(key, versions);
    const builds = versions.get(row.version_id) ?? [];
    // Rows come newest build first, so each list stays in that order.
    if (builds.at(-1) !== row.build_id) builds.push(row.build_id);
    versions.set(row.version_id, builds);

    const contents = index.contents.get(row.build_id) ?? new Map<number, Set<number>>();
    index.contents.set(row.build_id, contents);
    const held = contents.get(row.resource_id) ?? new Set<number>();
    held.add(row.version_id);
    contents.set(row.resource_id, held);
    index.checkOrder.set(row.version_id, row.check_order);
  }
  return index;
}

/** The versions of the input's resource that passed every one of its jobs, in preference order. */
function candidatesFor(spec: InputSpec, index: PassedIndex): number[] {
  let common: Set<number> | null = null;
  for (const jobId of spec.row.passed_job_ids) {
    const passed = [...(index.builds.get(`${jobId}:${spec.row.resource_id}`)?.keys() ?? [])];
    common = common === null ? new Set(passed) : new Set(passed.filter((id) => common?.has(id)));
  }
  let versions = [...(common ?? [])];
  if (spec.pinned !== null) versions = versions.filter((id) => id === spec.pinned?.id);
  const order = (id: number) => index.checkOrder.get(id) ?? 0;
  const newestFirst = versions.sort((a, b) => order(b) - order(a));
  const last = spec.lastUsed;
  if (spec.row.version_mode !== 'every' || spec.pin !== null || last === null) return newestFirst;
  // `every`: the oldest unused version first, then (nothing new) the used ones, newest first.
  const unused = newestFirst.filter((id) => order(id) > last).reverse();
  return [...unused, ...newestFirst.filter((id) => order(id) <= last)];
}

async function resolvePassed(
  db: Queryable,
  specs: readonly InputSpec[],
  chosen: Map<string, number>,
): Promise<Resolution | null> {
  const jobIds = [...new Set(specs.flatMap((spec) => spec.row.passed_job_ids))];
  const resourceIds = [...new Set(specs.map((spec) => spec.row.resource_id))];
  const index = indexPassed(await loadPassedVersions(db, jobIds, resourceIds));

  const candidates = specs.map((spec) => candidatesFor(spec, index));
  for (const [i, spec] of specs.entries()) {
    if ((candidates[i] ?? []).length === 0) return passedFailure(spec);
  }

  // Depth-first over the inputs and, for each candidate version, over the upstream builds that
  // had it; `builds` holds the build fixed for each upstream job so far. A job's build is fixed
  // by the first input passed by it: later inputs sharing the job must find their version in it.
  const builds = new Map<number, number>();
  let budget = SEARCH_BUDGET;
  const holds = (buildId: number, resourceId: number, versionId: number): boolean =>
    index.contents.get(buildId)?.get(resourceId)?.has(versionId) === true;

  const assign = (i: number): boolean => {
    const spec = specs[i];
    if (spec === undefined) return true;
    for (const versionId of candidates[i] ?? []) {
      if (--budget < 0) return false;
      chosen.set(spec.row.name, versionId);
      if (fixBuilds(spec, versionId, 0, () => assign(i + 1))) return true;
      chosen.delete(spec.row.name);
    }
    return false;
  };

  const fixBuilds = (spec: InputSpec, versionId: number, k: number, next: () => boolean): boolean => {
    const jobId = spec.row.passed_job_ids[k];
    if (jobId === undefined) return next();
    const resourceId = spec.row.resource_id;
    const fixed = builds.get(jobId);
    if (fixed !== undefined)
      return holds(fixed, resourceId, versionId) && fixBuilds(spec, versionId, k + 1, next);
    for (const buildId of index.builds.get(`${jobId}:${resourceId}`)?.get(versionId) ?? []) {
      if (--budget < 0) return false;
      builds.set(jobId, buildId);
      if (fixBuilds(spec, versionId, k + 1, next)) return true;
      builds.delete(jobId);
    }
    return false;
  };

  if (assign(0)) return null;
  const first = specs[0] as InputSpec;
  const names = specs.map((spec) => spec.row.name).join(', ');
  return {
    ok: false,
    input: first.row.name,
    reason:
      budget < 0
        ? `too many combinations of upstream builds to search for inputs ${names}; run the upstream jobs again`
        : `no set of versions for inputs ${names} passed their upstream jobs together (from the same builds where they share a job)`,
  };
}

function passedFailure(spec: InputSpec): Resolution {
  const what = spec.pinned !== null ? 'the pinned version' : 'any version';
  return {
    ok: false,
    input: spec.row.name,
    reason: `${what} of resource ${spec.row.resource_name} has not passed every job in passed: (no succeeded build of them had it yet)`,
  };
}
