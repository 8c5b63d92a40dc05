/** The metric types of kube-state-metrics' custom-resource config. */
export type MetricType = 'gauge' | 'stateset' | 'info';

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
