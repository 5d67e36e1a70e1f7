import { createHash, randomBytes } from 'node:crypto';
import {
  buildInputsMissing,
  buildInputUnknown,
  buildNotFinished,
  buildNotFound,
  buildNotPending,
  buildOutputNotFound,
  type OneOffBuildService,
  teamNotFound,
} from '../../api/index.js';
import {
  createOneOffBuild,
  deleteVolumeRecord,
  isFinishedStatus,
  recordVolume,
  setVolumeState,
  withTransaction,
} from '../../db/index.js';
import { ARTIFACT_LABEL, ROLE_LABEL } from '../../executor/index.js';
import { BUILD_LABEL, conveyorLabels } from '../../gc/index.js';
import type { ApiServicesDeps } from './deps.js';
import { jobInputGets } from './inputs-from.js';
import { requireBuild, requireTeam } from './lookups.js';
import { oneOffArtifacts, oneOffPlan } from './one-off-plan.js';
import {
  holdBuild,
  inputVolumes,
  isHeld,
  lockBuild,
  releaseBuild,
  statusForClient,
  uploadedInputs,
} from './one-off-queries.js';
import { presentOneBuild } from './present-builds.js';
import { translating } from './translate-error.js';
import { streamIntoVolume, streamOutOfVolume } from './volume-streams.js';

/** The worker every volume lives on while Conveyor runs on one machine (as the build runner has it). */
const kWorker = 'local';

/**
 * `cc execute`: a one-off build is created held (see one-off-queries.ts), its inputs are uploaded
 * into volumes of the configured driver, labelled so the build runner finds them, and `start`
 * releases it to the runner. Its outputs are the volumes the runner keeps, labelled
 * `conveyor.dev/role=output` and `conveyor.dev/artifact=<name>`.
 */
export function createOneOffBuildService(deps: ApiServicesDeps): OneOffBuildService {
  const { pool, volumes, runtime } = deps;
  const driver = volumes.manifest.name;

  /** Destroys a volume; what cannot be destroyed now is left `destroying` for gc. */
  const discard = async (handle: string): Promise<void> => {
    try {
      await volumes.call('destroyVolume', { handle });
      await deleteVolumeRecord(pool, handle);
    } catch {
      await setVolumeState(pool, handle, 'destroying').catch(() => undefined);
    }
  };

  return {
    async create(team, request, by) {
      await requireTeam(pool, team);
      const jobInputs = request.inputs_from ? await jobInputGets(pool, team, request.inputs_from) : [];
      const plan = oneOffPlan(request, jobInputs);
      const build = await translating({ CC_E_SCHEDULER_TEAM_NOT_FOUND: () => teamNotFound(team) }, () =>
        withTransaction(pool, async (client) => {
          const created = await createOneOffBuild(client, { team, plan, createdBy: by });
          // Held before anyone can see it: the runner never claims it before `start`.
          await holdBuild(client, created.id);
          return { ...created, abort_requested: true };
        }),
      );
      return presentOneBuild(pool, build);
    },

    async uploadInput(id, name, tar, { signal }) {
      const build = await requireBuild(pool, id);
      const artifacts = oneOffArtifacts(build);
      if (artifacts === null || !artifacts.inputs.includes(name)) {
        throw buildInputUnknown(id, name, artifacts?.inputs ?? []);
      }
      if (!isHeld(build)) throw buildNotPending(id, statusForClient(build));

      // An input uploaded again is replaced: the earlier upload goes first, so the build never
      // sees two volumes for one input.
      for (const earlier of await inputVolumes(pool, id, name)) await discard(earlier.handle);

      const handle = inputHandle(id, name);
      const labels = {
        ...conveyorLabels(id, deps.installation),
        [ROLE_LABEL]: 'input',
        [ARTIFACT_LABEL]: name,
      };
      // Recorded before the driver is asked, so a crash in between leaves a row for gc.
      await recordVolume(pool, { handle, driver, worker: kWorker, buildId: id, labels });
      try {
        await volumes.call('createVolume', { handle, strategy: { type: 'empty' }, labels }, { signal });
        await streamIntoVolume(volumes, handle, tar, signal);
        // The uploader's files are for the runtime's containers: within its user namespace, if any.
        const { idMapping } = await runtime.call('info', {}, { signal });
        if (idMapping) await volumes.call('shiftOwnership', { handle, idMapping }, { signal });
        const superseded = await withTransaction(pool, async (client) => {
          const locked = await lockBuild(client, id);
          if (locked === null) throw buildNotFound(id);
          if (!isHeld(locked)) throw buildNotPending(id, statusForClient(locked));
          // A concurrent upload of the same input may have completed meanwhile: the last one wins.
          const others = await inputVolumes(client, id, name, handle);
          for (const other of others) await setVolumeState(client, other.handle, 'destroying');
          await setVolumeState(client, handle, 'created');
          return others;
        });
        for (const other of superseded) await discard(other.handle);
      } catch (error: unknown) {
        await discard(handle);
        throw error;
      }
      return presentOneBuild(pool, await requireBuild(pool, id));
    },

    async start(id) {
      await withTransaction(pool, async (client) => {
        const build = await lockBuild(client, id);
        if (build === null) throw buildNotFound(id);
        const artifacts = oneOffArtifacts(build);
        if (artifacts === null || build.status !== 'pending') {
          throw buildNotPending(id, build.status);
        }
        // Released already (started twice before the runner claimed it): nothing more to do.
        if (!isHeld(build)) return;
        const uploaded = (await uploadedInputs(client, [id])).get(id) ?? new Set<string>();
        const missing = artifacts.inputs.filter((name) => !uploaded.has(name));
        if (missing.length > 0) throw buildInputsMissing(id, missing);
        await releaseBuild(client, id);
      });
      return presentOneBuild(pool, await requireBuild(pool, id));
    },

    async downloadOutput(id, name, { signal }) {
      const build = await requireBuild(pool, id);
      const artifacts = oneOffArtifacts(build);
      if (artifacts === null) throw buildOutputNotFound(id, name);
      if (!isFinishedStatus(build.status)) throw buildNotFinished(id, build.status);
      if (!artifacts.outputs.includes(name)) throw buildOutputNotFound(id, name);
      const { volumes: found } = await volumes.call(
        'listVolumes',
        { labels: { [BUILD_LABEL]: String(id), [ROLE_LABEL]: 'output', [ARTIFACT_LABEL]: name } },
        { signal },
      );
      const output = found[0];
      if (output === undefined) throw buildOutputNotFound(id, name);
      return streamOutOfVolume(volumes, output.volume.handle, signal);
    },
  };
}

/**
 * `build-<id>-input-<name>-<random>`: readable, unique across uploads of one input, and within
 * the plugin API's handle alphabet (a name outside it is replaced by its digest).
 */
function inputHandle(buildId: number, name: string): string {
  const safe = /^[a-zA-Z0-9_.-]{1,64}$/.test(name)
    ? name
    : createHash('sha256').update(name).digest('hex').slice(0, 16);
  return `build-${buildId}-input-${safe}-${randomBytes(4).toString('hex')}`;
}
