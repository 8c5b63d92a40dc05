import type { HealthState } from '../../model/HealthState.ts';

export { HEALTH_STATES, isHealthState } from '../../model/HealthState.ts';
export type { HealthState } from '../../model/HealthState.ts';

/** What the rules decided for one object, and why. */
export interface HealthVerdict {
  readonly state: HealthState;
  /** Short and human: `Ready=False: certificate is expired`, `phase Failed`. */
  readonly reason: string;
  /** The condition type that decided it, when a rule read one. */
  readonly condition?: string;
  /** That condition's `lastTransitionTime` (RFC 3339), when it has a valid one. */
  readonly since?: string;
  /** The rule set and rule that decided: `cert-manager.io/Certificate#2`, `generic#ready`. */
  readonly rule: string;
}
