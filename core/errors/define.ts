/**
 * One error registry for the core. Every error the core raises carries a stable code from this
 * registry, an HTTP status where the API serves it, and a line of documentation that
 * docs/errors.md is generated from. Codes are append-only: a shipped code is never renamed or
 * reused, because scripts and dashboards branch on them.
 */
export interface ErrorDefinition {
  /** HTTP status the API answers with when this error reaches a route. */
  readonly status: number;
  /** What the error means and what the user should do about it (rendered into docs/errors.md). */
  readonly docs: string;
}

/** Define a group of codes; the `satisfies` keeps each group's literal keys for the union type. */
export function defineErrors<const T extends Record<`CC_E_${string}`, ErrorDefinition>>(group: T): T {
  return group;
}
