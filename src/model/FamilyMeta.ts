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
  /** Set for an aggregate family: its series are groups across objects, not objects' series. */
  readonly aggregate?: AggregateSpec;
  /**
   * Set for `<prefix>_health_last_transition_timestamp_seconds`: the store makes its series from
   * each object's health history, and reports what it sees change to the families named here.
   */
  readonly health?: HealthHistorySpec;
}

/** The families fed by the objects' health history, beside the per-object timestamp. */
export interface HealthHistorySpec {
  /** The transition counter, named without `_total`: `<prefix>_health_transitions`. */
  readonly transitions: string;
  /** The histogram of the time from creation to the first healthy state: `<prefix>_time_to_healthy_seconds`. */
  readonly timeToHealthy: string;
  /** The histogram's bucket boundaries in seconds, increasing (+Inf implied). */
  readonly buckets: readonly number[];
}

/** How an aggregate family combines the series of each group. */
export type AggregateFunction = 'count' | 'sum' | 'min' | 'max';

/** An aggregate family's grouping, as the store keeps it. */
export interface AggregateSpec {
  readonly function: AggregateFunction;
  /** Label names (sanitized) that group the series; the other labels but constant ones are dropped. */
  readonly by: readonly string[];
  /** Serve a group whose last series went away (count and sum 0) instead of removing it. */
  readonly keepEmptyGroups: boolean;
  /** Groups served at most; further groups fold into an overflow series. 0: unlimited. */
  readonly maxGroups: number;
}
