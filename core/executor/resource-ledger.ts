import { randomBytes } from 'node:crypto';
import type { IdMapping, Labels, runtime, VolumeRef, volume } from '@conveyor/plugin-api';
import { ConveyorError } from '../errors/index.js';
import { conveyorLabels } from '../gc/labels.js';
import { ImagePins } from './image-pins.js';
import type { BuildResult, ExecutorDeps, KeepCandidate, TrackedResource } from './types.js';

interface Entry {
  readonly kind: 'container' | 'volume';
  readonly handle: string;
  readonly stepId: string;
  readonly parent?: string | undefined;
  state: TrackedResource['state'];
}

/**
 * Labels every container and volume of a build carries, so GC and operators can find them. The
 * owner and build labels are gc's contract (core/gc/labels.ts); step and role are for people.
 */
export const STEP_LABEL = 'conveyor.dev/step';
export const ROLE_LABEL = 'conveyor.dev/role';
export const ARTIFACT_LABEL = 'conveyor.dev/artifact';

/**
 * Every container and volume a build makes. Each is recorded (`creating`) before it is asked for,
 * so a crash between the request and the reply leaves a record GC can act on, and is destroyed
 * when the build ends, recorded `destroying` then `gone`.
 */
export class ResourceLedger {
  readonly #deps: ExecutorDeps;
  readonly #entries: Entry[] = [];
  readonly #imagePins = new ImagePins();

  constructor(deps: ExecutorDeps) {
    this.#deps = deps;
  }

  /**
   * `artifact` names the artifact the volume becomes (a task output), for whoever looks it up
   * later; `idMapping` makes an empty volume writable by unprivileged containers' root.
   */
  async createVolume(
    stepId: string,
    role: string,
    strategy: volume.VolumeStrategy,
    options: { artifact?: string | undefined; idMapping?: IdMapping | undefined } = {},
  ): Promise<VolumeRef> {
    const entry = await this.#begin(
      'volume',
      stepId,
      strategy.type === 'child' ? strategy.parent : undefined,
    );
    const labels = this.#labels(stepId, role);
    if (options.artifact !== undefined) labels[ARTIFACT_LABEL] = options.artifact;
    const reply = await this.#deps.volumes.call('createVolume', {
      handle: entry.handle,
      strategy,
      labels,
      ...(options.idMapping ? { idMapping: options.idMapping } : {}),
    });
    await this.#record(entry, 'created');
    return reply.volume.volume;
  }

  /** A container of the build; an image tag it names runs the image the build first saw there. */
  async createContainer(stepId: string, role: string, spec: runtime.ContainerSpec): Promise<string> {
    const entry = await this.#begin('container', stepId);
    await this.#imagePins.create(spec.image, async (image) => {
      const reply = await this.#deps.runtime.call('createContainer', {
        handle: entry.handle,
        spec: { ...spec, image },
        labels: this.#labels(stepId, role),
      });
      return reply.container.image;
    });
    await this.#record(entry, 'created');
    return entry.handle;
  }

  /**
   * Destroy everything not kept: containers first (they use the volumes), then volumes newest
   * first (a copy-on-write child before its parent). Never rejects: what cannot be destroyed
   * stays recorded as `destroying` for GC, and is returned.
   */
  async releaseAll(
    result: BuildResult,
    keep: ((resource: KeepCandidate) => boolean) | undefined,
  ): Promise<TrackedResource[]> {
    const leftovers: TrackedResource[] = [];
    const order = [
      ...this.#entries.filter((e) => e.kind === 'container').reverse(),
      ...this.#entries.filter((e) => e.kind === 'volume').reverse(),
    ];
    for (const entry of order) {
      if (entry.state === 'gone') continue;
      if (
        entry.state === 'created' &&
        keep?.({ kind: entry.kind, handle: entry.handle, stepId: entry.stepId, result })
      ) {
        continue;
      }
      try {
        await this.#record(entry, 'destroying');
        if (entry.kind === 'container') {
          await this.#deps.runtime.call('destroyContainer', { handle: entry.handle });
        } else {
          await this.#deps.volumes.call('destroyVolume', { handle: entry.handle });
        }
        await this.#record(entry, 'gone');
      } catch {
        leftovers.push({ kind: entry.kind, handle: entry.handle, state: entry.state });
      }
    }
    return leftovers;
  }

  async #begin(kind: Entry['kind'], stepId: string, parent?: string): Promise<Entry> {
    const entry: Entry = { kind, handle: this.#handle(kind), stepId, parent, state: 'creating' };
    await this.#track(entry);
    // Listed only once recorded: release never destroys what the caller never heard of.
    this.#entries.push(entry);
    return entry;
  }

  async #record(entry: Entry, state: TrackedResource['state']): Promise<void> {
    entry.state = state;
    await this.#track(entry);
  }

  async #track(entry: Entry): Promise<void> {
    try {
      await this.#deps.track({
        kind: entry.kind,
        handle: entry.handle,
        state: entry.state,
        ...(entry.state === 'creating' && entry.parent ? { parent: entry.parent } : {}),
      });
    } catch (error) {
      throw new ConveyorError(
        'CC_E_EXEC_EVENT_FAILED',
        `could not record ${entry.kind} ${entry.handle} as ${entry.state}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error, details: { handle: entry.handle, state: entry.state } },
      );
    }
  }

  /** `b<build>-c|v-<random>`: unique, and safe in paths and labels as the plugin API requires. */
  #handle(kind: Entry['kind']): string {
    return `b${this.#deps.build.id}-${kind === 'container' ? 'c' : 'v'}-${randomBytes(6).toString('hex')}`;
  }

  #labels(stepId: string, role: string): Labels {
    return {
      ...this.#deps.labels,
      ...conveyorLabels(this.#deps.build.id),
      [STEP_LABEL]: stepId,
      [ROLE_LABEL]: role,
    };
  }
}
