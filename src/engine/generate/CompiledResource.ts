import type { ResourceConfig } from '../../config/types.ts';
import { isWildcard, matchesGvk, objectGvk } from '../../model/gvk.ts';
import type { GroupVersionKind } from '../../model/gvk.ts';
import { AttributeInterner, renderBlock, SeriesBlockWriter } from '../../exposition/SeriesBlock.ts';
import type { SeriesBlock } from '../../exposition/SeriesBlock.ts';
import { CelConversionCache } from '../cel/CelExpression.ts';
import { isMap } from '../../go/kubeJson.ts';
import { parseGoRfc3339Seconds } from '../../go/rfc3339.ts';
import { contribution, GroupInterner } from './AggregateContribution.ts';
import type { HealthJudge, HealthObservation } from './HealthJudge.ts';
import { healthVerdict } from './HealthStateGenerator.ts';
import type { AggregateContribution } from './AggregateContribution.ts';
import type { ExpressionLabel } from './expressionLabels.ts';
import { addExpressionLabels } from './expressionLabels.ts';
import type { EachContext, EachGenerator, EachValue, ErrorSink, GenerationMemo } from './EachGenerator.ts';
import type { FamilyMeta } from '../../model/FamilyMeta.ts';
import { sanitizeLabelName } from '../../exposition/labelNames.ts';
import { addPathLabels } from './labels.ts';
import { DEFAULT_LIMITS } from '../limits.ts';
import type { SeriesLimits } from '../limits.ts';
import { SeriesBudget } from './SeriesBudget.ts';
import type { FamilyHeadroom, SliceThreshold } from './SeriesBudget.ts';
import type { CompiledPathLabels } from './labels.ts';
import type { ObjectRef } from '../../model/objectRef.ts';
import type { ObjectErrorKind, ObjectErrors } from '../ObjectErrors.ts';
import type { ValuePath } from './ValuePath.ts';

/** One configured metric of a resource, compiled. */
export interface CompiledFamily {
  readonly meta: FamilyMeta;
  /** The metric name as configured (without prefix), for error reports. */
  readonly metricName: string;
  readonly path: ValuePath;
  readonly each: EachGenerator;
  /** Metric-level constant labels (resource-level ones and customresource_* are merged in per GVK). */
  readonly metricCommonLabels: ReadonlyMap<string, string>;
  readonly pathLabels: CompiledPathLabels;
  readonly expressionLabels: readonly ExpressionLabel[];
  readonly errorLogV: number;
  /**
   * Set on the health tracker family (`<prefix>_health_last_transition_timestamp_seconds`): its
   * slot is the object's HealthObservation, which the store turns into the series (it needs the
   * object's history), not a block.
   */
  readonly healthJudge?: HealthJudge;
}

/**
 * The series of one object, one slot per family of the resource: its series block, or for an
 * aggregate family its contribution to the groups (undefined: nothing).
 */
export type ObjectSeries = readonly (SeriesBlock | AggregateContribution | HealthObservation | undefined)[];

/**
 * Whether the current slice of a sliced generation has used its share (time, or a count in tests).
 * Called between units of work; the generation yields when it returns true.
 */
export type SliceOver = () => boolean;

/** What generating one object needs besides the object itself. */
export interface SeriesRequest {
  readonly version: string;
  readonly kind: string;
  readonly errors: ObjectErrors;
  readonly ref: ObjectRef;
  /** How many series each family may still take (the family limit across objects). */
  readonly headroom?: FamilyHeadroom | undefined;
}

/** Concrete group/version/kind bindings kept per resource (a wildcard resource sees many). */
const MAX_BOUND_KINDS = 4096;

const CUSTOM_RESOURCE_LABELS = [
  'customresource_group',
  'customresource_version',
  'customresource_kind',
] as const;

/**
 * A configured resource, ready to turn objects into series. All per-object work happens in
 * `computeSeries`, called when an object is added or changes, never on a scrape.
 */
export class CompiledResource {
  /**
   * Stable id for caches and self-metrics: `group/version/kind` as configured (`#N`, the entry's
   * number, added for a second entry of the same kind).
   */
  readonly id: string;
  readonly config: ResourceConfig;
  readonly families: readonly CompiledFamily[];
  /** Cut-offs for this resource's objects (defaults, flags, then the resource's `limits`). */
  readonly limits: SeriesLimits;
  private readonly _labelRank: ReadonlyMap<string, number> | undefined;
  private readonly _bound = new Map<string, BoundLabels>();
  /** Per family index, the group interner of an aggregate family. */
  private readonly _interners: (GroupInterner | undefined)[] = [];

  constructor(
    config: ResourceConfig,
    id: string,
    families: readonly CompiledFamily[],
    labelRank: ReadonlyMap<string, number> | undefined,
    limits: SeriesLimits = DEFAULT_LIMITS,
  ) {
    this.id = id;
    this.config = config;
    this.families = families;
    this.limits = limits;
    for (const f of families) if (f.meta.aggregate) this._interners[f.meta.index] ??= new GroupInterner();
    this._labelRank = labelRank;
  }

  get groupVersionKind(): GroupVersionKind {
    return this.config.groupVersionKind;
  }

  /** Whether an object of this apiVersion and kind belongs to this resource (wildcards included). */
  matches(group: string, version: string, kind: string): boolean {
    return matchesGvk(this.config.groupVersionKind, group, version, kind);
  }

  /**
   * Computes every family's series for one object of the given (resolved) version and kind, in one
   * synchronous stretch. Problems with values are counted in `errors`. Throws LimitExceeded as
   * soon as the object crosses one of `limits` (`headroom` tells how many series each family may
   * still take), so the work on a hostile object stops there; nothing partial is returned. With
   * `sliceAbove`, throws SliceNeeded once the object turns out larger than that: the caller then
   * uses `computeSeriesSliced`.
   */
  computeSeries(
    object: unknown,
    version: string,
    kind: string,
    errors: ObjectErrors,
    ref: ObjectRef,
    headroom?: FamilyHeadroom,
    sliceAbove?: SliceThreshold,
  ): ObjectSeries {
    const bound = this._boundLabels(object, version, kind);
    const budget = new SeriesBudget(this.limits, headroom, sliceAbove);
    const cel = new CelConversionCache();
    const memo: GenerationMemo = {};
    const interner = new AttributeInterner();
    const out = new Array<ObjectSeries[number]>(this.families.length);
    let shared: SharedBase | undefined;
    for (let i = 0; i < this.families.length; i++) {
      const family = this.families[i]!;
      const context = this._context(family, object, { cel, memo, budget, errors, ref });
      shared = this._base(family, bound.common[i]!, object, context, shared);
      budget.startFamily(family.meta, shared.base);
      out[i] = family.healthJudge
        ? this._observation(family.healthJudge, shared, object, context, bound.common[i]!)
        : this._family(family, shared, object, context, interner, bound.groupLabels[i]);
    }
    return out;
  }

  /** One family's block in one go (the fast path; `computeSeriesSliced` has the sliced one). */
  private _family(
    family: CompiledFamily,
    shared: SharedBase,
    object: unknown,
    context: EachContext,
    interner: AttributeInterner,
    groupLabels: ReadonlySet<string> | undefined,
  ): SeriesBlock | AggregateContribution | undefined {
    const values = family.each.values(family.path.get(object), context);
    if (values.length === 0) return undefined;
    // An aggregate counts every element: series with equal labels are expected there, not dropped.
    if (values.length > 1 && !groupLabels) sortEachValues(values);
    const series: { labels: readonly [string, string][]; value: number }[] = [];
    const seen = values.length > 1 && !groupLabels ? new Set<string>() : undefined;
    for (const v of values) {
      const labels = this._seriesLabels(v, shared, seen, context.errors);
      if (labels) series.push({ labels, value: v.value });
    }
    if (groupLabels) return contribution(series, groupLabels, this._interners[family.meta.index]);
    return renderBlock(family.meta.name, series, interner);
  }

  /**
   * The same series as `computeSeries`, generated in slices: the generator yields whenever
   * `sliceOver()` says the current slice is spent, between units of work that are bounded by the
   * limits (reading one family's values, sorting them, one series). The caller resumes it in a
   * later event-loop turn, or drops it to abandon the object. Throws LimitExceeded as
   * `computeSeries` does; returns the complete series only at the end. (The loop is the one of
   * `computeSeries` with yields: kept apart so that ordinary objects pay no generator.)
   */
  *computeSeriesSliced(
    object: unknown,
    request: SeriesRequest,
    sliceOver: SliceOver,
  ): Generator<void, ObjectSeries, void> {
    const bound = this._boundLabels(object, request.version, request.kind);
    const budget = new SeriesBudget(this.limits, request.headroom);
    const cel = new CelConversionCache();
    const memo: GenerationMemo = {};
    const interner = new AttributeInterner();
    const out = new Array<ObjectSeries[number]>(this.families.length);
    let shared: SharedBase | undefined;
    for (let i = 0; i < this.families.length; i++) {
      const family = this.families[i]!;
      const context = this._context(family, object, {
        cel,
        memo,
        budget,
        errors: request.errors,
        ref: request.ref,
      });
      shared = this._base(family, bound.common[i]!, object, context, shared);
      budget.startFamily(family.meta, shared.base);
      if (family.healthJudge) {
        out[i] = this._observation(family.healthJudge, shared, object, context, bound.common[i]!);
        continue;
      }
      const values = family.each.values(family.path.get(object), context);
      if (values.length === 0) continue;
      if (sliceOver()) yield;
      const groupLabels = bound.groupLabels[i];
      if (values.length > 1 && !groupLabels) sortEachValues(values);
      const writer = groupLabels ? undefined : new SeriesBlockWriter(family.meta.name, interner);
      const grouped: { labels: readonly [string, string][]; value: number }[] = [];
      const seen = values.length > 1 && !groupLabels ? new Set<string>() : undefined;
      for (const v of values) {
        if (sliceOver()) yield;
        const labels = this._seriesLabels(v, shared, seen, context.errors);
        if (!labels) continue;
        if (writer) writer.add(labels, v.value);
        else grouped.push({ labels, value: v.value });
      }
      if (sliceOver()) yield;
      out[i] = writer
        ? writer.finish()
        : contribution(grouped, groupLabels!, this._interners[family.meta.index]);
      if (sliceOver()) yield;
    }
    return out;
  }

  /** The object's health for the store: the verdict (judged once per object) and its labels. */
  private _observation(
    judge: HealthJudge,
    shared: SharedBase,
    object: unknown,
    context: EachContext,
    common: ReadonlyMap<string, string>,
  ): HealthObservation {
    const verdict = healthVerdict(judge, object, context);
    const labels = (shared.ordered ??= this._orderLabels([...shared.base]));
    context.budget.add(new Map());
    const metadata = isMap(object) && isMap(object.metadata) ? object.metadata : undefined;
    const created = metadata?.creationTimestamp;
    return {
      state: verdict.state,
      since: verdict.since === undefined ? undefined : parseGoRfc3339Seconds(verdict.since),
      createdAt: typeof created === 'string' ? parseGoRfc3339Seconds(created) : undefined,
      labels,
      counterLabels: labels.filter(([k]) => k === 'namespace' || common.has(k)),
    };
  }

  /** Where a family's generators report per-object problems (each one costs a series of budget). */
  private _context(
    family: CompiledFamily,
    object: unknown,
    shared: {
      cel: CelConversionCache;
      memo: GenerationMemo;
      budget: SeriesBudget;
      errors: ObjectErrors;
      ref: ObjectRef;
    },
  ): EachContext {
    const { budget, errors, ref } = shared;
    const sink: ErrorSink = {
      report: (errorKind: ObjectErrorKind, message: string) => {
        budget.addError();
        errors.record(this.id, family.meta.name, errorKind, message, ref, family.errorLogV);
      },
    };
    return { root: object, cel: shared.cel, memo: shared.memo, errors: sink, budget };
  }

  /** Families with the same label sources share one computation of the base labels. */
  private _base(
    family: CompiledFamily,
    common: ReadonlyMap<string, string>,
    object: unknown,
    context: EachContext,
    previous: SharedBase | undefined,
  ): SharedBase {
    if (
      previous !== undefined &&
      previous.common === common &&
      previous.family.pathLabels === family.pathLabels &&
      previous.family.expressionLabels === family.expressionLabels
    )
      return previous;
    return { family, common, base: this._baseLabels(family, common, object, context) };
  }

  /**
   * One each-level value's labels as a series: the base labels merged in and ordered; undefined
   * when they repeat an earlier series' (KSM emits such series, e.g. a map iterated without
   * labelFromKey; a scrape with duplicates is rejected by strict parsers, so the first is kept
   * and the rest reported).
   */
  private _seriesLabels(
    v: EachValue,
    shared: SharedBase,
    seen: Set<string> | undefined,
    errors: ErrorSink,
  ): readonly [string, string][] | undefined {
    let labels: readonly [string, string][];
    if (v.labels.size === 0) {
      // The usual series (a gauge of one field): only the base labels, ordered once per object
      // and shared by its families, so the attribute interner sees the very same array.
      labels = shared.ordered ??= this._orderLabels([...shared.base]);
    } else {
      for (const [k, value] of shared.base) if (!v.labels.has(k)) v.labels.set(k, value);
      labels = this._orderLabels([...v.labels]);
    }
    if (seen) {
      const key = labels.map(([k, value]) => `${k}\u0000${value}`).join('\u0001');
      if (seen.has(key)) {
        errors.report(
          'duplicate-series',
          `series with identical labels {${labels.map(([k, x]) => `${k}="${x}"`).join(',')}} dropped`,
        );
        return undefined;
      }
      seen.add(key);
    }
    return labels;
  }

  /** Resource- and metric-level labels of one object (read-only once computed). */
  private _baseLabels(
    family: CompiledFamily,
    common: ReadonlyMap<string, string>,
    object: unknown,
    context: EachContext,
  ): Map<string, string> {
    const base = new Map(common);
    addPathLabels(object, family.pathLabels, base, context.errors);
    if (family.expressionLabels.length > 0)
      addExpressionLabels(object, family.expressionLabels, context, base);
    return base;
  }

  /** Sorts `labels` in place into the resource's label order, and returns it. */
  private _orderLabels(labels: [string, string][]): [string, string][] {
    const rank = this._labelRank;
    if (rank === undefined) return labels.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return labels.sort((a, b) => {
      const ra = rank.get(a[0]) ?? Number.MAX_SAFE_INTEGER;
      const rb = rank.get(b[0]) ?? Number.MAX_SAFE_INTEGER;
      if (ra !== rb) return ra - rb;
      return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
    });
  }

  private _boundLabels(object: unknown, version: string, kind: string): BoundLabels {
    const configured = this.config.groupVersionKind.group;
    // A group wildcard (an extension) names the object's own group, as version and kind do.
    const group = isWildcard(configured) ? (objectGvk(object)?.group ?? '') : configured;
    const key = `${group}/${version}/${kind}`;
    let bound = this._bound.get(key);
    if (!bound) {
      const injected: [string, string][] = this.config.customResourceLabels
        ? [
            [CUSTOM_RESOURCE_LABELS[0], group],
            [CUSTOM_RESOURCE_LABELS[1], version],
            [CUSTOM_RESOURCE_LABELS[2], kind],
          ]
        : [];
      // KSM writes these into the resource-level commonLabels (overriding the user's), so a
      // metric-level commonLabel of the same name still wins.
      const resourceLevel = new Map<string, string>();
      // Sanitized like every label name: one invalid name would make the whole scrape fail.
      for (const [k, v] of this.config.commonLabels) resourceLevel.set(sanitizeLabelName(k), v);
      for (const [k, v] of injected) resourceLevel.set(k, v);
      const common = this.families.map((f) => {
        if (f.metricCommonLabels.size === 0) return resourceLevel;
        const merged = new Map(resourceLevel);
        for (const [k, v] of f.metricCommonLabels) merged.set(k, v);
        return merged;
      });
      bound = {
        common,
        // An aggregate keeps the constant labels and its `by` labels.
        groupLabels: this.families.map((f, i) => {
          const by = f.meta.aggregate?.by;
          return by ? new Set([...common[i]!.keys(), ...by]) : undefined;
        }),
      };
      // Wildcards bind once per concrete kind; objects that name made-up kinds cannot grow this.
      if (this._bound.size >= MAX_BOUND_KINDS) this._bound.clear();
      this._bound.set(key, bound);
    }
    return bound;
  }
}

interface SharedBase {
  readonly family: CompiledFamily;
  readonly common: ReadonlyMap<string, string>;
  readonly base: Map<string, string>;
  /** `base` in label order: the labels of a series with none of its own (made on first use). */
  ordered?: readonly [string, string][];
}

interface BoundLabels {
  readonly common: readonly ReadonlyMap<string, string>[];
  /** Per family, the labels an aggregate family groups by; undefined for the other families. */
  readonly groupLabels: readonly (ReadonlySet<string> | undefined)[];
}

/**
 * Sorts in place by KSM's `less`: compare sorted keys, then values, then the number of labels.
 * Each value's keys are sorted once up front, not once per comparison.
 */
function sortEachValues(values: EachValue[]): void {
  const keyed = values.map((v) => ({ v, keys: [...v.labels.keys()].sort() }));
  keyed.sort((x, y) => {
    const a = x.keys;
    const b = y.keys;
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      const ka = a[i]!;
      const kb = b[i]!;
      if (ka !== kb) return ka < kb ? -1 : 1;
      const va = x.v.labels.get(ka)!;
      const vb = y.v.labels.get(kb)!;
      if (va !== vb) return va < vb ? -1 : 1;
    }
    return a.length - b.length;
  });
  for (let i = 0; i < keyed.length; i++) values[i] = keyed[i]!.v;
}
