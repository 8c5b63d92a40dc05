/** The five health states an object can be in, as Argo CD names them (Missing aside), in state-set order. */
export const HEALTH_STATES = ['healthy', 'progressing', 'degraded', 'suspended', 'unknown'] as const;

export type HealthState = (typeof HEALTH_STATES)[number];

export function isHealthState(value: unknown): value is HealthState {
  return typeof value === 'string' && (HEALTH_STATES as readonly string[]).includes(value);
}
