import { getHeapStatistics } from 'node:v8';

/**
 * Cut-offs that bound what one object (and one tenant) can cost. Every limit is a count; 0 means
 * unlimited. Lengths are counted in UTF-16 code units (JavaScript string length), which equal
 * bytes for ASCII; a value's UTF-8 size is at most three times its length.
 */
export interface SeriesLimits {
  /** Series (and per-object errors) one object may produce across all families of its resource. @default 2000 */
  readonly objectSeries: number;
  /** Sum of label name and value lengths over all series of one object. @default 1048576 (1 MiB) */
  readonly objectLabelBytes: number;
  /** Length of one label value. @default 65536 (64 KiB) */
  readonly labelValueLength: number;
  /** Series in one family, across all objects (a cardinality limit). @default 1000000 */
  readonly familySeries: number;
  /** Objects cached for one resource (kube-state-metrics' `--object-limit`). @default 500000 */
  readonly resourceObjects: number;
  /**
   * Groups one aggregate family may expose; the contributions of further groups fold into one
   * overflow series labelled `otel_metric_overflow="true"`. @default 10000
   */
  readonly aggregateGroups: number;
  /**
   * Cost of one CEL evaluation, in Kubernetes' unit (cel/CelCost.ts): resource-state-metrics'
   * `--cel-cost-limit`. 0 also lifts the CPU-time deadline of one evaluation. @default 100000
   */
  readonly celCost: number;
  /**
   * Budgets across objects (store/BudgetLedger.ts): series served by the whole process. Not
   * settable per resource. @default derived from the heap limit (budgetDefaults)
   */
  readonly totalSeries: number;
  /** Bytes of sample lines (the exposition text of the series) served by the whole process. @default derived from the heap limit */
  readonly totalSeriesBytes: number;
  /** Series served for the objects of one namespace (cluster-scoped objects: namespace ""). @default half of totalSeries */
  readonly namespaceSeries: number;
  /** Bytes of sample lines served for the objects of one namespace. @default half of totalSeriesBytes */
  readonly namespaceSeriesBytes: number;
}

/**
 * What one cached series costs on the V8 heap: a fixed part per series (its point and attributes)
 * plus about one byte per byte of its sample line (kept rendered, Latin-1 strings). Measured by
 * bench/budgetBench.ts; see docs/benchmarks.md, "Budgets across objects".
 */
export const HEAP_BYTES_PER_SERIES = 200;
export const HEAP_BYTES_PER_TEXT_BYTE = 1;
/**
 * Share of the heap limit the series of one generation may take (the sizing rule of
 * docs/kubernetes.md keeps the old space under two thirds of the cap; the rest of it is the
 * runtime, scrapes in flight and list/watch buffers).
 */
export const BUDGET_HEAP_SHARE = 0.55;
/**
 * Part of that share the series budget covers (their fixed cost); the bytes budget covers the
 * rest. Both full at once take the whole share, and ordinary series (one to two hundred bytes of
 * sample line) reach both limits at about the same count.
 */
export const SERIES_SHARE = 0.45;
/** Share of a process budget one namespace may take. */
export const NAMESPACE_SHARE = 0.5;

export type BudgetName = 'totalSeries' | 'totalSeriesBytes' | 'namespaceSeries' | 'namespaceSeriesBytes';

/** The budgets across objects for a heap limit of `heapLimitBytes` (v8 heap_size_limit). */
export function budgetDefaults(heapLimitBytes: number): Pick<SeriesLimits, BudgetName> {
  const share = heapLimitBytes * BUDGET_HEAP_SHARE;
  const totalSeries = Math.floor((share * SERIES_SHARE) / HEAP_BYTES_PER_SERIES);
  const totalSeriesBytes = Math.floor((share * (1 - SERIES_SHARE)) / HEAP_BYTES_PER_TEXT_BYTE);
  return {
    totalSeries,
    totalSeriesBytes,
    namespaceSeries: Math.floor(totalSeries * NAMESPACE_SHARE),
    namespaceSeriesBytes: Math.floor(totalSeriesBytes * NAMESPACE_SHARE),
  };
}

/** This process's heap limit (`--max-old-space-size` plus the young generation). */
export const HEAP_LIMIT_BYTES = getHeapStatistics().heap_size_limit;

export const DEFAULT_LIMITS: SeriesLimits = {
  objectSeries: 2_000,
  objectLabelBytes: 1024 * 1024,
  labelValueLength: 64 * 1024,
  familySeries: 1_000_000,
  resourceObjects: 500_000,
  aggregateGroups: 10_000,
  celCost: 100_000,
  ...budgetDefaults(HEAP_LIMIT_BYTES),
};

export const LIMIT_NAMES = [
  'objectSeries',
  'objectLabelBytes',
  'labelValueLength',
  'familySeries',
  'resourceObjects',
  'aggregateGroups',
  'celCost',
  'totalSeries',
  'totalSeriesBytes',
  'namespaceSeries',
  'namespaceSeriesBytes',
] as const satisfies readonly (keyof SeriesLimits)[];

export type LimitName = (typeof LIMIT_NAMES)[number];

/** The budgets across objects: process-wide, set by flags only (not per resource). */
export const BUDGET_NAMES = [
  'totalSeries',
  'totalSeriesBytes',
  'namespaceSeries',
  'namespaceSeriesBytes',
] as const satisfies readonly BudgetName[];

export type Budgets = Pick<SeriesLimits, BudgetName>;

/** The `kind` a cut-off is counted under in `crd_metrics_bridge_object_errors_total`. */
export type LimitKind =
  | 'limit-object-series'
  | 'limit-object-label-bytes'
  | 'limit-label-value-length'
  | 'limit-family-series'
  | 'limit-resource-objects'
  | 'limit-aggregate-groups'
  | 'limit-cel-cost'
  | 'limit-total-series'
  | 'limit-total-series-bytes'
  | 'limit-namespace-series'
  | 'limit-namespace-series-bytes';

/** `objectSeries` → `object-series` (flag and error-kind spelling). */
export function limitKebab(name: LimitName): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

export function limitKind(name: LimitName): LimitKind {
  return `limit-${limitKebab(name)}` as LimitKind;
}

/** Later layers win, key by key: built-in defaults, then flags, then the resource's config. */
export function mergeLimits(
  base: SeriesLimits,
  ...overrides: (Partial<SeriesLimits> | undefined)[]
): SeriesLimits {
  const out: Record<LimitName, number> = { ...base };
  for (const o of overrides) {
    if (!o) continue;
    for (const name of LIMIT_NAMES) {
      const v = o[name];
      if (v !== undefined) out[name] = v;
    }
  }
  return out;
}

/**
 * Thrown while an object's series are being generated, as soon as a limit is crossed: the work
 * stops there and the object contributes nothing (see ObjectIngestor).
 */
export class LimitExceeded extends Error {
  readonly limit: LimitName;
  /** The family being generated, or `*` when the limit is not about one family. */
  readonly family: string;

  constructor(limit: LimitName, family: string, message: string) {
    super(message);
    this.name = 'LimitExceeded';
    this.limit = limit;
    this.family = family;
  }

  get kind(): LimitKind {
    return limitKind(this.limit);
  }
}
