import { ConfigError } from '../config/ConfigError.ts';
import type { ConfigProblem } from '../config/ConfigError.ts';
import type { SourceLocation } from '../config/SourceLocation.ts';
import type {
  BridgeConfig,
  ExpressionConfig,
  LabelSources,
  MetricConfig,
  PathConfig,
  ResourceConfig,
} from '../config/types.ts';
import { CelExpression } from './cel/CelExpression.ts';
import type { ExpressionLabel } from './each/eachLabels.ts';
import type { EachGenerator } from './each/EachGenerator.ts';
import { GaugeGenerator } from './each/GaugeGenerator.ts';
import { InfoGenerator } from './each/InfoGenerator.ts';
import { StateSetGenerator } from './each/StateSetGenerator.ts';
import type { FamilyMeta } from './FamilyRegistry.ts';
import { CompiledResource } from './CompiledResource.ts';
import type { CompiledFamily } from './CompiledResource.ts';
import { compilePathLabels, isStarKey, sanitizeLabelName } from './labels.ts';
import { DEFAULT_LIMITS, mergeLimits } from './limits.ts';
import type { SeriesLimits } from './limits.ts';
import type { PathLabel } from './labels.ts';
import { InvalidPathError, ValuePath } from './ValuePath.ts';

/** A config turned into executable form: the families in exposition order and the resources. */
export interface CompiledConfig {
  readonly file: string;
  readonly families: readonly FamilyMeta[];
  readonly resources: readonly CompiledResource[];
  /** Things that work but are probably not what the author meant. */
  readonly warnings: readonly ConfigProblem[];
}

const DEFAULT_PREFIX = 'kube_customresource';
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

export interface CompileOptions {
  /**
   * Limits for every resource (the `--limits.*` flags); a resource's own `limits` keys win.
   * @default DEFAULT_LIMITS
   */
  readonly limits?: Partial<SeriesLimits>;
}

/** Compiles paths and CEL, checks names and types across resources. Throws ConfigError with every problem. */
export function compileConfig(config: BridgeConfig, options: CompileOptions = {}): CompiledConfig {
  const problems: ConfigProblem[] = [];
  const warnings: ConfigProblem[] = [];
  const families = new Map<
    string,
    { -readonly [K in keyof FamilyMeta]: FamilyMeta[K] } & { location: SourceLocation }
  >();
  const problem = (location: SourceLocation, message: string) => problems.push({ location, message });

  const path = (p: PathConfig): ValuePath => {
    try {
      return new ValuePath(p.segments);
    } catch (err) {
      if (err instanceof InvalidPathError) {
        problem(p.location, err.message);
        return new ValuePath([]);
      }
      throw err;
    }
  };
  const expression = (e: ExpressionConfig): CelExpression | undefined => {
    try {
      return new CelExpression(e.source);
    } catch (err) {
      problem(e.location, `CEL expression does not compile: ${(err as Error).message.split('\n')[0]}`);
      return undefined;
    }
  };
  const checkLabelName = (name: string, location: SourceLocation, allowStar: boolean) => {
    if (name === '') problem(location, 'empty label name');
    else if (allowStar && isStarKey(name)) return;
    else if (sanitizeLabelName(name).startsWith('__'))
      problem(
        location,
        `label name "${name}" is reserved (names starting with "__" are Prometheus-internal)`,
      );
  };
  const pathLabels = (sources: Pick<LabelSources, 'labelsFromPath' | 'nameLocations'>): PathLabel[] =>
    [...sources.labelsFromPath].map(([name, p]) => {
      checkLabelName(name, sources.nameLocations.get(name) ?? p.location, true);
      return { name, path: path(p) };
    });
  const expressionLabels = (
    sources: Pick<LabelSources, 'labelsFromExpression' | 'nameLocations'>,
  ): ExpressionLabel[] =>
    [...sources.labelsFromExpression].flatMap(([name, e]) => {
      checkLabelName(name, sources.nameLocations.get(name) ?? e.location, false);
      const compiled = expression(e);
      return compiled ? [{ name, expression: compiled }] : [];
    });

  const seenGvk = new Map<string, SourceLocation>();
  const resources = config.resources.map((resource, index) => {
    const gvk = resource.groupVersionKind;
    const gvkKey = `${gvk.group}/${gvk.version}/${gvk.kind}`;
    const earlier = seenGvk.get(gvkKey);
    if (earlier) {
      warnings.push({
        location: resource.location,
        message: `${gvkKey} is configured again (first at line ${earlier.line}); as in kube-state-metrics, this later entry replaces the earlier one`,
      });
    }
    seenGvk.set(gvkKey, resource.location);
    for (const [name, loc] of resource.nameLocations)
      if (resource.commonLabels.has(name)) checkLabelName(name, loc, false);
    const resourcePathLabels = pathLabels(resource);
    const resourceExprLabels = expressionLabels(resource);
    // Shared by every metric that adds no labels of its own, so the engine can compute those
    // base labels once per object instead of once per family.
    const resourceCompiledPath = compilePathLabels(resourcePathLabels);
    const prefix = resource.metricNamePrefix ?? DEFAULT_PREFIX;
    const namesInResource = new Map<string, SourceLocation>();
    const compiledFamilies: CompiledFamily[] = resource.metrics.map((metric) => {
      const name = prefix !== '' ? `${prefix}_${metric.name}` : metric.name;
      const sameName = namesInResource.get(name);
      // Both definitions feed one family, and an object keeps one block per family: the later
      // definition's series replace the earlier one's. (kube-state-metrics serves both, which a
      // strict parser rejects as duplicate series.)
      if (sameName)
        warnings.push({
          location: metric.location,
          message: `metric "${name}" is defined again for this resource (first at line ${sameName.line}); only this later definition's series are served`,
        });
      else namesInResource.set(name, metric.location);
      if (!METRIC_NAME.test(name))
        problem(metric.location, `invalid metric name "${name}" (must match ${METRIC_NAME.source})`);
      if (metric.each.type === 'info' && !name.endsWith('_info')) {
        warnings.push({
          location: metric.location,
          message: `Info metric "${name}" does not end in "_info"`,
        });
      }
      let meta = families.get(name);
      const stateLabel =
        metric.each.type === 'stateset' ? sanitizeLabelName(metric.each.stateSet.labelName) : undefined;
      if (!meta) {
        meta = {
          index: families.size,
          name,
          type: metric.each.type,
          help: metric.help,
          location: metric.location,
          ...(stateLabel !== undefined ? { stateLabel } : {}),
        };
        families.set(name, meta);
      } else if (meta.stateLabel !== stateLabel) {
        // Feeders of one state set disagree on its label: no single label can satisfy OpenMetrics.
        delete meta.stateLabel;
      }
      if (meta.type !== metric.each.type) {
        problem(
          metric.location,
          `metric "${name}" is of type ${metric.each.type} here but ${meta.type} at line ${meta.location.line}; one name needs one type`,
        );
      } else if (meta.help !== metric.help) {
        warnings.push({
          location: metric.location,
          message: `metric "${name}" has a different help text at line ${meta.location.line}; the first one is used`,
        });
      }
      for (const [labelName, loc] of metric.nameLocations)
        if (metric.commonLabels.has(labelName)) checkLabelName(labelName, loc, false);
      // Metric-level entries replace resource-level ones with the same key (KSM's Labels.Merge).
      const metricPathLabels = pathLabels(metric);
      const metricExprLabels = expressionLabels(metric);
      const mergedPath = new Map<string, PathLabel>();
      for (const l of resourcePathLabels) mergedPath.set(l.name, l);
      for (const l of metricPathLabels) mergedPath.set(l.name, l);
      const compiledEachPath = path(eachPath(metric));
      const mergedExpr = new Map<string, ExpressionLabel>();
      for (const l of resourceExprLabels) mergedExpr.set(l.name, l);
      for (const l of metricExprLabels) mergedExpr.set(l.name, l);
      return {
        meta,
        metricName: metric.name,
        path: compiledEachPath,
        each: compileEach(
          metric,
          compiledEachPath,
          path,
          expression,
          pathLabels,
          expressionLabels,
          checkLabelName,
        ),
        metricCommonLabels: sanitizedKeys(metric.commonLabels),
        pathLabels:
          metricPathLabels.length === 0 ? resourceCompiledPath : compilePathLabels(mergedPath.values()),
        expressionLabels: metricExprLabels.length === 0 ? resourceExprLabels : [...mergedExpr.values()],
        errorLogV: metric.errorLogV !== 0 ? metric.errorLogV : resource.errorLogV,
      };
    });
    return new CompiledResource(
      resource,
      index,
      compiledFamilies,
      resource.labelOrder === 'declared' ? declaredOrder(resource) : undefined,
      mergeLimits(DEFAULT_LIMITS, options.limits, resource.limits),
    );
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    file: config.file,
    families: [...families.values()].map(({ index, name, type, help, stateLabel }) => ({
      index,
      name,
      type,
      help,
      ...(stateLabel !== undefined ? { stateLabel } : {}),
    })),
    resources,
    warnings,
  };
}

/**
 * Constant labels with their names sanitized like every other label name (KSM writes them as
 * given, and one invalid name makes the whole scrape fail).
 */
export function sanitizedKeys(labels: ReadonlyMap<string, string>): ReadonlyMap<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of labels) out.set(sanitizeLabelName(k), v);
  return out;
}

function eachPath(metric: MetricConfig): PathConfig {
  const each = metric.each;
  return each.type === 'gauge'
    ? each.gauge.path
    : each.type === 'stateset'
      ? each.stateSet.path
      : each.info.path;
}

function compileEach(
  metric: MetricConfig,
  eachPath: ValuePath,
  path: (p: PathConfig) => ValuePath,
  expression: (e: ExpressionConfig) => CelExpression | undefined,
  pathLabels: (s: Pick<LabelSources, 'labelsFromPath' | 'nameLocations'>) => PathLabel[],
  expressionLabels: (s: Pick<LabelSources, 'labelsFromExpression' | 'nameLocations'>) => ExpressionLabel[],
  checkLabelName: (name: string, location: SourceLocation, allowStar: boolean) => void,
): EachGenerator {
  const each = metric.each;
  switch (each.type) {
    case 'gauge': {
      const g = each.gauge;
      if (g.labelFromKey !== '') checkLabelName(g.labelFromKey, each.location, false);
      return new GaugeGenerator({
        path: eachPath,
        valueFrom: path(g.valueFrom),
        valueExpression: g.valueExpression ? expression(g.valueExpression) : undefined,
        labelsFromPath: compilePathLabels(pathLabels(g)),
        labelsFromExpression: expressionLabels(g),
        labelFromKey: g.labelFromKey === '' ? '' : sanitizeLabelName(g.labelFromKey),
        nilIsZero: g.nilIsZero,
      });
    }
    case 'stateset': {
      const s = each.stateSet;
      checkLabelName(s.labelName, each.location, false);
      return new StateSetGenerator({
        path: eachPath,
        valueFrom: path(s.valueFrom),
        valueExpression: s.valueExpression ? expression(s.valueExpression) : undefined,
        labelsFromPath: compilePathLabels(pathLabels(s)),
        labelsFromExpression: expressionLabels(s),
        labelName: sanitizeLabelName(s.labelName),
        list: s.list,
      });
    }
    case 'info': {
      const i = each.info;
      if (i.labelFromKey !== '') checkLabelName(i.labelFromKey, each.location, false);
      return new InfoGenerator({
        pathText: eachPath.text,
        labelsFromPath: compilePathLabels(pathLabels(i)),
        labelsFromExpression: expressionLabels(i),
        labelFromKey: i.labelFromKey === '' ? '' : sanitizeLabelName(i.labelFromKey),
      });
    }
  }
}

/**
 * Label ranks for `labelOrder: declared`: the order labels are first written in the config,
 * resource level first. Labels whose names come from the data (star keys) sort after, by name.
 */
function declaredOrder(resource: ResourceConfig): Map<string, number> {
  const rank = new Map<string, number>();
  const add = (name: string) => {
    if (isStarKey(name)) return;
    const key = sanitizeLabelName(name);
    if (!rank.has(key)) rank.set(key, rank.size);
  };
  if (resource.customResourceLabels)
    ['customresource_group', 'customresource_version', 'customresource_kind'].forEach(add);
  const addSources = (s: LabelSources) => {
    for (const name of s.nameLocations.keys()) add(name);
  };
  addSources(resource);
  for (const metric of resource.metrics) {
    addSources(metric);
    const each = metric.each;
    if (each.type === 'gauge') {
      if (each.gauge.labelFromKey) add(each.gauge.labelFromKey);
      for (const name of each.gauge.nameLocations.keys()) add(name);
    } else if (each.type === 'stateset') {
      add(each.stateSet.labelName);
      for (const name of each.stateSet.nameLocations.keys()) add(name);
    } else {
      if (each.info.labelFromKey) add(each.info.labelFromKey);
      for (const name of each.info.nameLocations.keys()) add(name);
    }
  }
  return rank;
}
