import type { MetricType } from '../config/types.ts';

/** A metric family as exposed: one HELP/TYPE, samples from every resource that feeds the name. */
export interface FamilyMeta {
  /** Position in the exposition (first appearance in the config). */
  readonly index: number;
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  /** StateSet only: the label carrying the state (after sanitizing). */
  readonly stateLabel?: string;
}
