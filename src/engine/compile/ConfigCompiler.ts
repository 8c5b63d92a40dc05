import { formatGvk } from '../../model/gvk.ts';
import type { ConfigProblem } from '../../config/ConfigError.ts';
import type { SourceLocation } from '../../config/SourceLocation.ts';
import type {
  EachConfig,
  ExpressionConfig,
  IterationLevel,
  LabelSources,
  MetricConfig,
  PathConfig,
  ResourceConfig,
} from '../../config/types.ts';
import { sanitizeLabelName } from '../../exposition/labelNames.ts';
import type { FamilyMeta } from '../../model/FamilyMeta.ts';
import { CelExpression } from '../cel/CelExpression.ts';
import { CompiledResource } from '../generate/CompiledResource.ts';
import type { CompiledFamily } from '../generate/CompiledResource.ts';
import type { EachGenerator } from '../generate/EachGenerator.ts';
import type { ExpressionLabel } from '../generate/expressionLabels.ts';
import { GaugeGenerator } from '../generate/GaugeGenerator.ts';
import { ConditionsGenerator } from '../generate/ConditionsGenerator.ts';
import { HealthOverrideProblems } from '../generate/HealthJudge.ts';
import type { HealthJudge, HealthJudges } from '../generate/HealthJudge.ts';
import { HealthStateGenerator } from '../generate/HealthStateGenerator.ts';
import { InfoGenerator } from '../generate/InfoGenerator.ts';
import { NestedGenerator } from '../generate/NestedGenerator.ts';
import { compilePathLabels, isStarKey } from '../generate/labels.ts';
import type { PathLabel } from '../generate/labels.ts';
import { StateSetGenerator } from '../generate/StateSetGenerator.ts';
import { InvalidPathError, ValuePath } from '../generate/ValuePath.ts';
import { ExpressionValueSource, PathValueSource } from '../generate/ValueSource.ts';
import type { ValueSource } from '../generate/ValueSource.ts';
import { didYouMean } from '../../config/didYouMean.ts';
import type { AggregateSpec } from '../../model/FamilyMeta.ts';
import { DEFAULT_LIMITS, mergeLimits } from '../limits.ts';
import type { SeriesLimits } from '../limits.ts';
import { declaredOrder } from './declaredOrder.ts';
import { eachBlock, iterationLevels } from './iterationLevels.ts';

const DEFAULT_PREFIX = 'kube_customresource';
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

type MutableFamily = { -readonly [K in keyof FamilyMeta]: FamilyMeta[K] } & { location: SourceLocation };

/**
 * Turns the resources of one config into executable form, checking what the reader cannot:
 * paths, CEL, names and types across resources. Every problem is collected (`problems`), none
 * stops the compilation, so one run reports them all; the result is only usable without problems.
 */
export class ConfigCompiler {
  readonly problems: ConfigProblem[] = [];
  readonly warnings: ConfigProblem[] = [];
  private readonly _limits: Partial<SeriesLimits> | undefined;
  /** Families by exposed name, in order of first appearance. */
  private readonly _families = new Map<string, MutableFamily>();
  private readonly _seenGvk = new Map<string, SourceLocation>();
  private readonly _health: HealthJudges | undefined;
  /** The CEL budget of the resource being compiled (its `limits.celCost`, else the flag's). */
  private _celCost = DEFAULT_LIMITS.celCost;

  constructor(_file: string, limits?: Partial<SeriesLimits>, health?: HealthJudges) {
    this._limits = limits;
    this._health = health;
  }

  /** The families in exposition order (first appearance in the config). */
  families(): FamilyMeta[] {
    return [...this._families.values()].map(({ location: _location, ...meta }) => meta);
  }

  resource(resource: ResourceConfig, index: number): CompiledResource {
    const gvk = resource.groupVersionKind;
    const gvkKey = `${gvk.group}/${gvk.version}/${gvk.kind}`;
    const earlier = this._seenGvk.get(gvkKey);
    if (earlier)
      this._warn(
        resource.location,
        `${gvkKey} is configured again (first at line ${earlier.line}); as in kube-state-metrics, this later entry replaces the earlier one`,
      );
    this._seenGvk.set(gvkKey, resource.location);
    // The id names the kind as configured; a second entry for it (replaced, but still compiled)
    // gets its entry number so that ids stay unique.
    const id = earlier ? `${formatGvk(gvk)}#${index + 1}` : formatGvk(gvk);
    this._celCost = mergeLimits(DEFAULT_LIMITS, this._limits, resource.limits).celCost;
    this._commonLabelNames(resource);
    const pathLabels = this._pathLabels(resource);
    const expressionLabels = this._expressionLabels(resource);
    const levels: ResourceLabels = {
      pathLabels,
      expressionLabels,
      // Shared by every metric that adds no labels of its own, so the engine can compute those
      // base labels once per object instead of once per family.
      compiledPath: compilePathLabels(pathLabels),
    };
    const prefix = resource.metricNamePrefix ?? DEFAULT_PREFIX;
    const namesInResource = new Map<string, SourceLocation>();
    const limits = mergeLimits(DEFAULT_LIMITS, this._limits, resource.limits);
    const families = resource.metrics.map((metric) =>
      this._metric(resource, metric, prefix === '' ? metric.name : `${prefix}_${metric.name}`, {
        labels: levels,
        namesInResource,
        limits,
      }),
    );
    families.push(...this._healthFamilies(resource, prefix === '' ? '' : `${prefix}_`, levels));
    return new CompiledResource(
      resource,
      id,
      families,
      resource.labelOrder === 'declared' ? declaredOrder(resource) : undefined,
      limits,
    );
  }

  private _metric(
    resource: ResourceConfig,
    metric: MetricConfig,
    name: string,
    within: {
      readonly labels: ResourceLabels;
      readonly namesInResource: Map<string, SourceLocation>;
      readonly limits: SeriesLimits;
    },
  ): CompiledFamily {
    const { namesInResource, labels: resourceLabels } = within;
    const sameName = namesInResource.get(name);
    // Both definitions feed one family, and an object keeps one block per family: the later
    // definition's series replace the earlier one's. (kube-state-metrics serves both, which a
    // strict parser rejects as duplicate series.)
    if (sameName)
      this._warn(
        metric.location,
        `metric "${name}" is defined again for this resource (first at line ${sameName.line}); only this later definition's series are served`,
      );
    else namesInResource.set(name, metric.location);
    if (!METRIC_NAME.test(name))
      this._problem(metric.location, `invalid metric name "${name}" (must match ${METRIC_NAME.source})`);
    if (metric.each.type === 'info' && !metric.aggregate && !name.endsWith('_info'))
      this._warn(metric.location, `Info metric "${name}" does not end in "_info"`);
    if (metric.aggregate) this._aggregateLabels(resource, metric);
    const meta = this._family(name, metric, within.limits);
    this._commonLabelNames(metric);
    // Metric-level entries replace resource-level ones with the same key (KSM's Labels.Merge).
    const metricPathLabels = this._pathLabels(metric);
    const metricExprLabels = this._expressionLabels(metric);
    const mergedPath = new Map<string, PathLabel>();
    for (const l of resourceLabels.pathLabels) mergedPath.set(l.name, l);
    for (const l of metricPathLabels) mergedPath.set(l.name, l);
    const mergedExpr = new Map<string, ExpressionLabel>();
    for (const l of resourceLabels.expressionLabels) mergedExpr.set(l.name, l);
    for (const l of metricExprLabels) mergedExpr.set(l.name, l);
    const eachPath = this._path(eachBlock(metric.each).path);
    return {
      meta,
      metricName: metric.name,
      path: eachPath,
      each: this._each(metric.each, eachPath),
      metricCommonLabels: sanitizedKeys(metric.commonLabels),
      pathLabels:
        metricPathLabels.length === 0 ? resourceLabels.compiledPath : compilePathLabels(mergedPath.values()),
      expressionLabels:
        metricExprLabels.length === 0 ? resourceLabels.expressionLabels : [...mergedExpr.values()],
      errorLogV: metric.errorLogV !== 0 ? metric.errorLogV : resource.errorLogV,
    };
  }

  /**
   * The family `name`, registered on first sight; later feeders must agree on its type (an
   * aggregate is a gauge of groups, whatever the type of the series it combines).
   */
  private _family(name: string, metric: MetricConfig, limits: SeriesLimits): FamilyMeta {
    const type = metric.aggregate ? 'gauge' : metric.each.type;
    const stateLabel =
      metric.each.type === 'stateset' && !metric.aggregate
        ? sanitizeLabelName(metric.each.stateSet.labelName)
        : undefined;
    const aggregate: AggregateSpec | undefined = metric.aggregate && {
      function: metric.aggregate.function,
      by: metric.aggregate.by.map(sanitizeLabelName),
      keepEmptyGroups: metric.aggregate.keepEmptyGroups,
      maxGroups: limits.aggregateGroups,
    };
    let meta = this._families.get(name);
    if (!meta) {
      meta = {
        index: this._families.size,
        name,
        type,
        help: metric.help,
        location: metric.location,
        ...(stateLabel !== undefined ? { stateLabel } : {}),
        ...(aggregate ? { aggregate } : {}),
      };
      this._families.set(name, meta);
    } else if (meta.stateLabel !== stateLabel) {
      // Feeders of one state set disagree on its label: no single label can satisfy OpenMetrics.
      delete meta.stateLabel;
    }
    if (!meta.aggregate !== !aggregate) {
      this._problem(
        metric.location,
        `metric "${name}" is ${aggregate ? 'an aggregate' : 'per object'} here but ${meta.aggregate ? 'an aggregate' : 'per object'} at line ${meta.location.line}; one name needs one kind`,
      );
    } else if (aggregate && meta.aggregate && aggregate.function !== meta.aggregate.function) {
      this._problem(
        metric.location,
        `metric "${name}" aggregates with ${aggregate.function} here but ${meta.aggregate.function} at line ${meta.location.line}; one name needs one function`,
      );
    } else if (meta.type !== type) {
      this._problem(
        metric.location,
        `metric "${name}" is of type ${type} here but ${meta.type} at line ${meta.location.line}; one name needs one type`,
      );
    } else if (meta.help !== metric.help) {
      this._warn(
        metric.location,
        `metric "${name}" has a different help text at line ${meta.location.line}; the first one is used`,
      );
    }
    return meta;
  }

  /**
   * The generator of `each`. With `forEach`, the type's generator runs on the innermost level (its
   * path and labels), wrapped by one NestedGenerator per enclosing level, outermost last.
   */
  private _each(each: EachConfig, path: ValuePath): EachGenerator {
    const levels = iterationLevels(each);
    const innermost = levels.at(-1)!;
    let generator = this._leaf(each, levels.length > 1 ? this._path(innermost.path) : path, innermost);
    for (let k = levels.length - 2; k >= 0; k--) {
      const level = levels[k]!;
      generator = new NestedGenerator(
        k === 0 ? path.text : this._path(level.path).text,
        {
          labelsFromPath: compilePathLabels(this._pathLabels(level)),
          labelsFromExpression: this._expressionLabels(level),
          innerPath: this._path(levels[k + 1]!.path),
        },
        generator,
      );
    }
    return generator;
  }

  /** The generator of the metric's type, over the innermost level's elements and labels. */
  private _leaf(each: EachConfig, path: ValuePath, labels: IterationLevel): EachGenerator {
    switch (each.type) {
      case 'gauge': {
        const g = each.gauge;
        if (g.labelFromKey !== '') this._labelName(g.labelFromKey, each.location, false);
        return new GaugeGenerator({
          path,
          value: this._valueSource(g.valueFrom, g.valueExpression),
          labelsFromPath: compilePathLabels(this._pathLabels(labels)),
          labelsFromExpression: this._expressionLabels(labels),
          labelFromKey: g.labelFromKey === '' ? '' : sanitizeLabelName(g.labelFromKey),
          nilIsZero: g.nilIsZero,
        });
      }
      case 'stateset': {
        const s = each.stateSet;
        // A missing labelName is the reader's to report.
        if (s.labelName !== '') this._labelName(s.labelName, each.location, false);
        return new StateSetGenerator({
          path,
          value: this._valueSource(s.valueFrom, s.valueExpression),
          labelsFromPath: compilePathLabels(this._pathLabels(labels)),
          labelsFromExpression: this._expressionLabels(labels),
          labelName: sanitizeLabelName(s.labelName),
          list: s.list,
        });
      }
      case 'info': {
        const i = each.info;
        if (i.labelFromKey !== '') this._labelName(i.labelFromKey, each.location, false);
        return new InfoGenerator({
          pathText: path.text,
          labelsFromPath: compilePathLabels(this._pathLabels(labels)),
          labelsFromExpression: this._expressionLabels(labels),
          labelFromKey: i.labelFromKey === '' ? '' : sanitizeLabelName(i.labelFromKey),
        });
      }
    }
  }

  /** `valueExpression` when given (the reader allows only one of the two), else `valueFrom`. */
  private _valueSource(valueFrom: PathConfig, valueExpression: ExpressionConfig | undefined): ValueSource {
    const expression = valueExpression ? this._expression(valueExpression) : undefined;
    return expression ? new ExpressionValueSource(expression) : new PathValueSource(this._path(valueFrom));
  }

  private _path(p: PathConfig): ValuePath {
    try {
      return new ValuePath(p.segments);
    } catch (err) {
      if (!(err instanceof InvalidPathError)) throw err;
      this._problem(p.location, err.message);
      return new ValuePath([]);
    }
  }

  private _expression(e: ExpressionConfig): CelExpression | undefined {
    try {
      const expression = new CelExpression(e.source, { costLimit: this._celCost });
      const cost = expression.costFinding();
      if (cost)
        (cost.severity === 'error' ? this.problems : this.warnings).push({
          location: e.location,
          message: cost.message,
        });
      return expression;
    } catch (err) {
      this._problem(e.location, `CEL expression does not compile: ${(err as Error).message.split('\n')[0]}`);
      return undefined;
    }
  }

  private _pathLabels(sources: Pick<LabelSources, 'labelsFromPath' | 'nameLocations'>): PathLabel[] {
    return [...sources.labelsFromPath].map(([name, p]) => {
      this._labelName(name, sources.nameLocations.get(name) ?? p.location, true);
      return { name, path: this._path(p) };
    });
  }

  private _expressionLabels(
    sources: Pick<LabelSources, 'labelsFromExpression' | 'nameLocations'>,
  ): ExpressionLabel[] {
    return [...sources.labelsFromExpression].flatMap(([name, e]) => {
      this._labelName(name, sources.nameLocations.get(name) ?? e.location, false);
      const compiled = this._expression(e);
      return compiled ? [{ name, expression: compiled }] : [];
    });
  }

  /**
   * The families `health` and `conditions` give a resource, with no per-kind config: each with the
   * object's identity labels (namespace, name) besides the resource's own labels.
   */
  private _healthFamilies(
    resource: ResourceConfig,
    prefix: string,
    levels: ResourceLabels,
  ): CompiledFamily[] {
    const out: CompiledFamily[] = [];
    const identity = new Map<string, PathLabel>([
      ['namespace', { name: 'namespace', path: new ValuePath(['metadata', 'namespace']) }],
      ['name', { name: 'name', path: new ValuePath(['metadata', 'name']) }],
    ]);
    for (const l of levels.pathLabels) identity.set(l.name, l);
    const base = {
      metricCommonLabels: new Map<string, string>(),
      path: new ValuePath([]),
      pathLabels: compilePathLabels(identity.values()),
      expressionLabels: levels.expressionLabels,
      errorLogV: resource.errorLogV,
    };
    const family = (
      name: string,
      type: 'gauge' | 'stateset',
      help: string,
      location: SourceLocation,
      extra: Partial<FamilyMeta> = {},
    ) => this._synthesized(prefix + name, type, help, location, extra);
    const health = resource.health;
    if (health) {
      let judge: HealthJudge | undefined;
      if (!this._health) this._problem(health.location, 'health rules are not available here');
      else
        try {
          judge = this._health.forResource(health.overrides);
        } catch (err) {
          if (!(err instanceof HealthOverrideProblems)) throw err;
          for (const p of err.problems)
            this._problem(
              health.overrideLocations.get(p.keyPath) ?? {
                ...health.location,
                keyPath:
                  p.keyPath === '' ? health.location.keyPath : `${health.location.keyPath}.${p.keyPath}`,
              },
              p.message,
            );
        }
      if (judge) {
        out.push({
          ...base,
          meta: family(
            'health',
            'stateset',
            'Health of each object: one of healthy, progressing, degraded, suspended, unknown at 1 (docs/health.md).',
            health.location,
            { stateLabel: 'state' },
          ),
          metricName: 'health',
          each: new HealthStateGenerator(judge),
        });
        out.push({
          ...base,
          meta: family(
            'health_last_transition_timestamp_seconds',
            'gauge',
            "When each object entered its current health state: the deciding condition's lastTransitionTime, else when the state was first seen.",
            health.location,
            {
              health: {
                transitions: `${prefix}health_transitions`,
                timeToHealthy: `${prefix}time_to_healthy_seconds`,
                buckets: health.buckets,
              },
            },
          ),
          metricName: 'health_last_transition_timestamp_seconds',
          each: new HealthStateGenerator(judge),
          healthJudge: judge,
        });
      }
    }
    const conditions = resource.conditions;
    if (conditions) {
      out.push({
        ...base,
        meta: family(
          'status_condition',
          'stateset',
          'Each entry of status.conditions[]: condition (its type) and status (true, false or unknown).',
          conditions.location,
          { stateLabel: 'status' },
        ),
        metricName: 'status_condition',
        each: new ConditionsGenerator('state'),
      });
      out.push({
        ...base,
        meta: family(
          'status_condition_last_transition_timestamp_seconds',
          'gauge',
          'The lastTransitionTime of each entry of status.conditions[], by condition.',
          conditions.location,
        ),
        metricName: 'status_condition_last_transition_timestamp_seconds',
        each: new ConditionsGenerator('timestamp'),
      });
    }
    return out;
  }

  /** A family the config implies (health, conditions); its name may not be used by another one. */
  private _synthesized(
    name: string,
    type: 'gauge' | 'stateset',
    help: string,
    location: SourceLocation,
    extra: Partial<FamilyMeta>,
  ): FamilyMeta {
    const existing = this._families.get(name);
    if (existing) {
      if (existing.type !== type || !!existing.health !== !!extra.health || existing.aggregate)
        this._problem(
          location,
          `family "${name}" is also defined at line ${existing.location.line}; rename that metric or set another metricNamePrefix`,
        );
      else if (existing.health && extra.health && !sameNumbers(existing.health.buckets, extra.health.buckets))
        this._problem(
          location,
          `health.buckets differ from those at line ${existing.location.line}, whose resource shares the histogram ${extra.health.timeToHealthy}; give both the same buckets or set another metricNamePrefix`,
        );
      return existing;
    }
    const meta = { index: this._families.size, name, type, help, location, ...extra };
    this._families.set(name, meta);
    return meta;
  }

  /**
   * An aggregate's `by` labels: valid names, and ones the metric can give (a label no level of the
   * metric reads would group everything under one empty value, which is rarely what was meant).
   */
  private _aggregateLabels(resource: ResourceConfig, metric: MetricConfig): void {
    const aggregate = metric.aggregate!;
    const known = new Set<string>();
    let fromData = false;
    const add = (name: string) => {
      if (isStarKey(name)) fromData = true;
      else known.add(sanitizeLabelName(name));
    };
    if (resource.customResourceLabels)
      ['customresource_group', 'customresource_version', 'customresource_kind'].forEach(add);
    for (const sources of [resource, metric]) for (const name of sources.nameLocations.keys()) add(name);
    for (const level of iterationLevels(metric.each))
      for (const name of level.nameLocations.keys()) add(name);
    if (metric.each.type === 'stateset') add(metric.each.stateSet.labelName);
    const labelFromKey =
      metric.each.type === 'gauge'
        ? metric.each.gauge.labelFromKey
        : metric.each.type === 'info'
          ? metric.each.info.labelFromKey
          : '';
    if (labelFromKey) fromData = true;
    for (const name of aggregate.by) {
      this._labelName(name, aggregate.location, false);
      if (!fromData && name !== '' && !known.has(sanitizeLabelName(name)))
        this._warn(
          aggregate.location,
          `aggregate.by: no level of this metric gives a label "${name}"${didYouMeanText(name, [...known])}; every series falls in one group for it`,
        );
    }
  }

  /** Constant labels' names (checked where they are declared). */
  private _commonLabelNames(sources: LabelSources): void {
    for (const [name, location] of sources.nameLocations)
      if (sources.commonLabels.has(name)) this._labelName(name, location, false);
  }

  private _labelName(name: string, location: SourceLocation, allowStar: boolean): void {
    if (name === '') this._problem(location, 'empty label name');
    else if (allowStar && isStarKey(name)) return;
    else if (sanitizeLabelName(name).startsWith('__'))
      this._problem(
        location,
        `label name "${name}" is reserved (names starting with "__" are Prometheus-internal)`,
      );
  }

  private _problem(location: SourceLocation, message: string): void {
    this.problems.push({ location, message });
  }

  private _warn(location: SourceLocation, message: string): void {
    this.warnings.push({ location, message });
  }
}

/** A resource's own label sources, compiled once for all its metrics. */
interface ResourceLabels {
  readonly pathLabels: readonly PathLabel[];
  readonly expressionLabels: readonly ExpressionLabel[];
  readonly compiledPath: ReturnType<typeof compilePathLabels>;
}

/**
 * Constant labels with their names sanitized like every other label name (KSM writes them as
 * given, and one invalid name makes the whole scrape fail).
 */
function sanitizedKeys(labels: ReadonlyMap<string, string>): ReadonlyMap<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of labels) out.set(sanitizeLabelName(k), v);
  return out;
}

function didYouMeanText(name: string, known: readonly string[]): string {
  const guess = didYouMean(name, known);
  return guess ? ` (did you mean "${guess}"?)` : '';
}

function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
