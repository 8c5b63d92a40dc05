/** The five health states an object can be in, as Argo CD names them (Missing aside). */
export const HEALTH_STATES = ['healthy', 'progressing', 'degraded', 'suspended', 'unknown'] as const;

export type HealthState = (typeof HEALTH_STATES)[number];

export function isHealthState(value: unknown): value is HealthState {
  return typeof value === 'string' && (HEALTH_STATES as readonly string[]).includes(value);
}

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
