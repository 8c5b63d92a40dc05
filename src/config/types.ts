import type { AggregateFunction } from '../model/FamilyMeta.ts';
import type { GroupVersionKind } from '../model/gvk.ts';
import type { SourceLocation } from './SourceLocation.ts';

/**
 * The config model: kube-state-metrics' `CustomResourceStateMetrics` (every field, same meaning)
 * plus this project's extensions, each marked "Extension". Produced by `loadConfig`, consumed by
 * the engine's compiler. Scalars keep their YAML source text, as KSM's decoder does, so `[spec, 0]`
 * is the segment "0" and `1.0` stays "1.0".
 */
export interface BridgeConfig {
  /** The file the config was read from (as given on the command line). */
  readonly file: string;
  readonly resources: readonly ResourceConfig[];
}

/** A path: a list of segments applied left to right (see docs/config.md, "Paths"). Empty = the value itself. */
export interface PathConfig {
  readonly segments: readonly string[];
  readonly location: SourceLocation;
}

/** Extension: a CEL expression evaluated against the object when it changes. */
export interface ExpressionConfig {
  readonly source: string;
  readonly location: SourceLocation;
}

/** Label sources shared by the resource, metric and `each` levels. Maps keep declaration order. */
export interface LabelSources {
  /** Constant labels. Not allowed inside `each` (as in KSM). */
  readonly commonLabels: ReadonlyMap<string, string>;
  /** Labels read from the object; keys starting or ending with `*` copy a whole map. */
  readonly labelsFromPath: ReadonlyMap<string, PathConfig>;
  /** Extension: labels computed by CEL. Evaluated after `labelsFromPath` at the same level, so they win. */
  readonly labelsFromExpression: ReadonlyMap<string, ExpressionConfig>;
  /** Where each label name was declared, for error messages. */
  readonly nameLocations: ReadonlyMap<string, SourceLocation>;
}

export interface ResourceConfig extends LabelSources {
  /**
   * Group required (extension: `"*"`, every group with a CRD); version `""` or `"*"`: every
   * served version; kind `""` or `"*"`: every kind of the group (resolved through CRD discovery).
   */
  readonly groupVersionKind: GroupVersionKind;
  /** Accepted for compatibility; the plural always comes from discovery, as in KSM. */
  readonly resourcePlural: string | undefined;
  /**
   * Prefix joined to every metric name with `_`. Absent or null: `kube_customresource`.
   * `""`: no prefix.
   */
  readonly metricNamePrefix: string | undefined;
  /**
   * Extension. Whether to add the `customresource_group`, `customresource_version` and
   * `customresource_kind` labels. @default true
   */
  readonly customResourceLabels: boolean;
  /**
   * Extension. `sorted` orders labels alphabetically (KSM's output); `declared` keeps the order in
   * which labels are written in the config (resource level, then metric level, then `each`).
   * @default "sorted"
   */
  readonly labelOrder: 'sorted' | 'declared';
  /**
   * Extension. Watch only these namespaces (one watch each); empty: all namespaces (or the
   * resource is cluster-scoped). @default []
   */
  readonly namespaces: readonly string[];
  /** Extension. Kubernetes label selector applied to list and watch, e.g. `app=web,tier!=db`. */
  readonly labelSelector: string | undefined;
  /** Extension. Kubernetes field selector applied to list and watch, e.g. `metadata.name=x`. */
  readonly fieldSelector: string | undefined;
  /** Log verbosity for this resource's per-object errors (KSM `errorLogV`). @default 0 */
  readonly errorLogV: number;
  /**
   * Extension. Cut-offs for this resource's objects; each key given replaces the `--limits.*` flag
   * (or built-in default) for this resource. See docs/config.md, "Limits". @default {}
   */
  readonly limits: LimitsConfig;
  /** May be empty when `health` or `conditions` is set. */
  readonly metrics: readonly MetricConfig[];
  /** Extension: health of every object with no per-kind config (`<prefix>_health` and its transitions). */
  readonly health: HealthConfig | undefined;
  /** Extension: every entry of `status.conditions[]`, with no per-kind config. */
  readonly conditions: ConditionsConfig | undefined;
  readonly location: SourceLocation;
}

/** Extension: `health: {}` on a resource (docs/health.md). */
export interface HealthConfig {
  /**
   * The resource's own rules (`rules`, `complete`) as plain values, ahead of the built-in and
   * generic ones; the health evaluator checks them. @default none
   */
  readonly overrides: { readonly rules: unknown; readonly complete?: unknown } | undefined;
  /**
   * Where each value under `health` is written, by key path relative to it (`rules[0].when`), so
   * a problem the evaluator finds in an override points at its line.
   */
  readonly overrideLocations: ReadonlyMap<string, SourceLocation>;
  /** Upper bounds (seconds) of the time-to-healthy histogram's buckets in the Prometheus exposition. */
  readonly buckets: readonly number[];
  readonly location: SourceLocation;
}

/** Extension: `conditions: {}` on a resource. */
export interface ConditionsConfig {
  readonly location: SourceLocation;
}

/**
 * Extension: per-resource limits, each a non-negative integer (0 = unlimited). Absent keys keep
 * the flag value or the built-in default.
 */
export interface LimitsConfig {
  /** Series one object may produce (all families of the resource). */
  readonly objectSeries?: number;
  /** Total length of label names and values over one object's series. */
  readonly objectLabelBytes?: number;
  /** Length of one label value. */
  readonly labelValueLength?: number;
  /** Series one family may hold across all objects (cardinality limit). */
  readonly familySeries?: number;
  /** Objects kept for this resource (kube-state-metrics' `--object-limit`). */
  readonly resourceObjects?: number;
  /** Groups one aggregate family of this resource may expose; more fold into one overflow series. */
  readonly aggregateGroups?: number;
  /** Cost of one CEL evaluation. */
  readonly celCost?: number;
}

/** The keys of `limits`, in documentation order. */
export const LIMITS_FIELDS = [
  'objectSeries',
  'objectLabelBytes',
  'labelValueLength',
  'familySeries',
  'resourceObjects',
  'aggregateGroups',
  'celCost',
] as const satisfies readonly (keyof LimitsConfig)[];

export interface MetricConfig extends LabelSources {
  /** Metric name, joined to the prefix. */
  readonly name: string;
  /** HELP text. @default "" */
  readonly help: string;
  /** Overrides the resource's `errorLogV` when non-zero. @default 0 */
  readonly errorLogV: number;
  /**
   * The series of each object. With `aggregate: {function: count}` it may be left out: one series
   * of value 1 per object (the reader fills it in).
   */
  readonly each: EachConfig;
  /**
   * Extension. Instead of serving the series `each` gives for every object, serve them combined
   * across objects: one series per group of `by` label values. @default none (per-object series)
   */
  readonly aggregate: AggregateConfig | undefined;
  readonly location: SourceLocation;
}

/** Extension: a family of aggregates over a resource's objects (see MetricConfig.aggregate). */
export interface AggregateConfig {
  /** `count` of series, or `sum`, `min`, `max` of their values. */
  readonly function: AggregateFunction;
  /**
   * The label names that group the series (labels from any level: resource, metric, `each`); the
   * aggregate carries these and the constant labels, the other labels are dropped. @default [] (one group)
   */
  readonly by: readonly string[];
  /** Keep serving a group whose last series went away (count and sum 0) instead of removing it. @default false */
  readonly keepEmptyGroups: boolean;
  readonly location: SourceLocation;
}

export type EachConfig =
  | { readonly type: 'gauge'; readonly gauge: GaugeConfig; readonly location: SourceLocation }
  | { readonly type: 'stateset'; readonly stateSet: StateSetConfig; readonly location: SourceLocation }
  | { readonly type: 'info'; readonly info: InfoConfig; readonly location: SourceLocation };

/** One level of iteration: a path to a list (or a single value) and labels read from each element. */
export interface IterationLevel {
  /** Where to iterate from. Empty: the whole object (or the element of the level above). */
  readonly path: PathConfig;
  /** Labels read relative to each element under `path`. */
  readonly labelsFromPath: ReadonlyMap<string, PathConfig>;
  /** Extension: CEL labels, with `self` bound to the element and `object` to the whole object. */
  readonly labelsFromExpression: ReadonlyMap<string, ExpressionConfig>;
  readonly nameLocations: ReadonlyMap<string, SourceLocation>;
}

/** Extension: a list inside each element of the level above, iterated in turn (`parents[*].conditions[*]`). */
export interface ForEachConfig extends IterationLevel {
  /** A list inside each element of this level, iterated in turn. */
  readonly forEach: ForEachConfig | undefined;
  readonly location: SourceLocation;
}

interface EachCommon extends IterationLevel {
  /**
   * Extension. A list inside each element under `path`, iterated in turn (any depth): each
   * level's labels are carried to the series below it, and the value or state is read relative
   * to the innermost element. @default none
   */
  readonly forEach: ForEachConfig | undefined;
}

export interface GaugeConfig extends EachCommon {
  /** Where the value is, relative to each element. Empty: the element itself. */
  readonly valueFrom: PathConfig;
  /** Extension: the value as a CEL expression (instead of `valueFrom`). */
  readonly valueExpression: ExpressionConfig | undefined;
  /** When `path` is a map: name of the label that carries each map key. */
  readonly labelFromKey: string;
  /** A missing value counts as 0 instead of an error. @default false */
  readonly nilIsZero: boolean;
}

export interface StateSetConfig extends EachCommon {
  /** Where the state string is, relative to each element. Empty: the element itself. */
  readonly valueFrom: PathConfig;
  /** Extension: the state as a CEL expression returning a string (instead of `valueFrom`). */
  readonly valueExpression: ExpressionConfig | undefined;
  /** The label that carries each entry of `list`. */
  readonly labelName: string;
  /** Every possible state; one series each, 1 for the current state and 0 for the others. */
  readonly list: readonly string[];
}

export interface InfoConfig extends EachCommon {
  /** When `path` is a map: name of the label that carries each map key. */
  readonly labelFromKey: string;
}
