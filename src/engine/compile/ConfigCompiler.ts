import type { ConfigProblem } from '../../config/ConfigError.ts';
import type { SourceLocation } from '../../config/SourceLocation.ts';
import type {
  EachConfig,
  ExpressionConfig,
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
import { InfoGenerator } from '../generate/InfoGenerator.ts';
import { compilePathLabels, isStarKey } from '../generate/labels.ts';
import type { PathLabel } from '../generate/labels.ts';
import { StateSetGenerator } from '../generate/StateSetGenerator.ts';
import { InvalidPathError, ValuePath } from '../generate/ValuePath.ts';
import { ExpressionValueSource, PathValueSource } from '../generate/ValueSource.ts';
import type { ValueSource } from '../generate/ValueSource.ts';
import { DEFAULT_LIMITS, mergeLimits } from '../limits.ts';
import type { SeriesLimits } from '../limits.ts';
import { declaredOrder } from './declaredOrder.ts';

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
  /** The CEL budget of the resource being compiled (its `limits.celCost`, else the flag's). */
  private _celCost = DEFAULT_LIMITS.celCost;

  constructor(_file: string, limits?: Partial<SeriesLimits>) {
    this._limits = limits;
  }

  /** The families in exposition order (first appearance in the config). */
  families(): FamilyMeta[] {
    return [...this._families.values()].map(({ index, name, type, help, stateLabel }) => ({
      index,
      name,
      type,
      help,
      ...(stateLabel !== undefined ? { stateLabel } : {}),
    }));
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
    const families = resource.metrics.map((metric) =>
      this._metric(
        resource,
        metric,
        prefix === '' ? metric.name : `${prefix}_${metric.name}`,
        levels,
        namesInResource,
      ),
    );
    return new CompiledResource(
      resource,
      index,
      families,
      resource.labelOrder === 'declared' ? declaredOrder(resource) : undefined,
      mergeLimits(DEFAULT_LIMITS, this._limits, resource.limits),
    );
  }

  private _metric(
    resource: ResourceConfig,
    metric: MetricConfig,
    name: string,
    resourceLabels: ResourceLabels,
    namesInResource: Map<string, SourceLocation>,
  ): CompiledFamily {
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
    if (metric.each.type === 'info' && !name.endsWith('_info'))
      this._warn(metric.location, `Info metric "${name}" does not end in "_info"`);
    const meta = this._family(name, metric);
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
    const eachPath = this._path(eachPathOf(metric.each));
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

  /** The family `name`, registered on first sight; later feeders must agree on its type. */
  private _family(name: string, metric: MetricConfig): FamilyMeta {
    const stateLabel =
      metric.each.type === 'stateset' ? sanitizeLabelName(metric.each.stateSet.labelName) : undefined;
    let meta = this._families.get(name);
    if (!meta) {
      meta = {
        index: this._families.size,
        name,
        type: metric.each.type,
        help: metric.help,
        location: metric.location,
        ...(stateLabel !== undefined ? { stateLabel } : {}),
      };
      this._families.set(name, meta);
    } else if (meta.stateLabel !== stateLabel) {
      // Feeders of one state set disagree on its label: no single label can satisfy OpenMetrics.
      delete meta.stateLabel;
    }
    if (meta.type !== metric.each.type) {
      this._problem(
        metric.location,
        `metric "${name}" is of type ${metric.each.type} here but ${meta.type} at line ${meta.location.line}; one name needs one type`,
      );
    } else if (meta.help !== metric.help) {
      this._warn(
        metric.location,
        `metric "${name}" has a different help text at line ${meta.location.line}; the first one is used`,
      );
    }
    return meta;
  }

  private _each(each: EachConfig, path: ValuePath): EachGenerator {
    switch (each.type) {
      case 'gauge': {
        const g = each.gauge;
        if (g.labelFromKey !== '') this._labelName(g.labelFromKey, each.location, false);
        return new GaugeGenerator({
          path,
          value: this._valueSource(g.valueFrom, g.valueExpression),
          labelsFromPath: compilePathLabels(this._pathLabels(g)),
          labelsFromExpression: this._expressionLabels(g),
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
          labelsFromPath: compilePathLabels(this._pathLabels(s)),
          labelsFromExpression: this._expressionLabels(s),
          labelName: sanitizeLabelName(s.labelName),
          list: s.list,
        });
      }
      case 'info': {
        const i = each.info;
        if (i.labelFromKey !== '') this._labelName(i.labelFromKey, each.location, false);
        return new InfoGenerator({
          pathText: path.text,
          labelsFromPath: compilePathLabels(this._pathLabels(i)),
          labelsFromExpression: this._expressionLabels(i),
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

function eachPathOf(each: EachConfig): PathConfig {
  return each.type === 'gauge'
    ? each.gauge.path
    : each.type === 'stateset'
      ? each.stateSet.path
      : each.info.path;
}
