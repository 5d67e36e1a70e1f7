import type { VolumeRef } from '@conveyor/plugin-api';

/**
 * A scope of a running build: its artifacts (name → volume) and local vars (`load_var`, across
 * values). A child scope (one per across combination) sees its parent's names and shadows them
 * with its own; what it registers stays in it, as Concourse's build.Repository.NewLocalScope.
 */
export class RunScope {
  readonly #artifacts = new Map<string, VolumeRef>();
  readonly #vars = new Map<string, unknown>();
  readonly #parent: RunScope | undefined;

  constructor(parent?: RunScope) {
    this.#parent = parent;
  }

  child(): RunScope {
    return new RunScope(this);
  }

  artifact(name: string): VolumeRef | undefined {
    return this.#artifacts.get(name) ?? this.#parent?.artifact(name);
  }

  registerArtifact(name: string, volume: VolumeRef): void {
    this.#artifacts.set(name, volume);
  }

  /** Every artifact visible here, nearest scope first winning; names sorted for a stable order. */
  artifacts(): Map<string, VolumeRef> {
    const all = new Map(this.#parent?.artifacts());
    for (const [name, volume] of this.#artifacts) all.set(name, volume);
    return new Map([...all].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  hasLocalVar(name: string): boolean {
    return this.#vars.has(name) || (this.#parent?.hasLocalVar(name) ?? false);
  }

  setLocalVar(name: string, value: unknown): void {
    this.#vars.set(name, value);
  }

  localVars(): Record<string, unknown> {
    return { ...this.#parent?.localVars(), ...Object.fromEntries(this.#vars) };
  }
}
