import type { HealthState } from '../../model/HealthState.ts';

export { HEALTH_STATES } from '../../model/HealthState.ts';
export type { HealthState } from '../../model/HealthState.ts';

/** What decides an object's health (the rules of engine/health), seen from the generators. */
export interface HealthJudge {
  /** Never throws: any JSON value gets a state (`unknown` when nothing decides). */
  verdict(
    object: unknown,
    group: string,
    kind: string,
  ): {
    readonly state: HealthState;
    /** The deciding condition's `lastTransitionTime` (RFC 3339), when there is one. */
    readonly since?: string;
    /** Why, in one line (for explain). */
    readonly reason?: string;
    /** The deciding rule, `ruleSet#rule` (for explain). */
    readonly rule?: string;
  };
}

/**
 * One object's health as the store needs it to count transitions and time them: computed with the
 * object's other series, kept beside them.
 */
export interface HealthObservation {
  readonly state: HealthState;
  /** When the object entered the state, from the deciding condition (epoch seconds), if known. */
  readonly since: number | undefined;
  /** metadata.creationTimestamp, epoch seconds, if valid. */
  readonly createdAt: number | undefined;
  /** The object's identity labels, in label order (the per-object timestamp series). */
  readonly labels: readonly (readonly [string, string])[];
  /** The labels of the resource's transition counter and histogram: namespace and the constant labels. */
  readonly counterLabels: readonly (readonly [string, string])[];
}

/** Whether a family slot of an object holds a health observation. */
export function isHealthObservation(slot: unknown): slot is HealthObservation {
  return typeof slot === 'object' && slot !== null && 'counterLabels' in slot;
}

/** Where the compiler gets each resource's judge: the built-in and generic rules, and its own. */
export interface HealthJudges {
  /**
   * The judge for a resource: `overrides` (the config's `health.rules` and `health.complete`, as
   * plain values) ahead of the built-in and generic rules. Throws HealthOverrideProblems.
   */
  forResource(overrides: { readonly rules: unknown; readonly complete?: unknown } | undefined): HealthJudge;
}

/** A resource's health rules that do not compile: each problem at a key path under `health`. */
export class HealthOverrideProblems extends Error {
  readonly problems: readonly { readonly keyPath: string; readonly message: string }[];

  constructor(problems: readonly { readonly keyPath: string; readonly message: string }[]) {
    super(problems.map((p) => `${p.keyPath}: ${p.message}`).join('; '));
    this.name = 'HealthOverrideProblems';
    this.problems = problems;
  }
}
