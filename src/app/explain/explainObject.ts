import type { ConfigProblem } from '../../config/ConfigError.ts';
import type { SourceLocation } from '../../config/SourceLocation.ts';
import type { EachConfig, MetricConfig } from '../../config/types.ts';
import { eachBlock, iterationLevels } from '../../engine/compile/iterationLevels.ts';
import type { CompiledConfig } from '../../engine/generate/CompiledConfig.ts';
import type { CompiledResource, ObjectSeries } from '../../engine/generate/CompiledResource.ts';
import { isContribution } from '../../engine/generate/AggregateContribution.ts';
import { isHealthObservation } from '../../engine/generate/HealthJudge.ts';
import { ConditionsGenerator } from '../../engine/generate/ConditionsGenerator.ts';
import { HealthStateGenerator } from '../../engine/generate/HealthStateGenerator.ts';
import type { EachGenerator } from '../../engine/generate/EachGenerator.ts';
import { ValuePath } from '../../engine/generate/ValuePath.ts';
import type { PathMiss } from '../../engine/generate/ValuePath.ts';
import { LimitExceeded } from '../../engine/limits.ts';
import type { LimitName, SeriesLimits } from '../../engine/limits.ts';
import { ObjectErrors } from '../../engine/ObjectErrors.ts';
import type { ObjectErrorKind } from '../../engine/ObjectErrors.ts';
import { resourceFor } from '../../engine/store/resourceFor.ts';
import { formatSampleValue } from '../../exposition/sampleValue.ts';
import { formatGoValue } from '../../go/goFormat.ts';
import { goTypeName } from '../../go/goTypeName.ts';
import { isMap } from '../../go/kubeJson.ts';
import { formatGvk, isWildcard, objectGvk } from '../../model/gvk.ts';
import type { GroupVersionKind } from '../../model/gvk.ts';
import { objectRef } from '../../model/objectRef.ts';
import type { ObjectRef } from '../../model/objectRef.ts';
import { shardOf } from '../../kube/sharding.ts';
import type { ShardAssignment } from '../../kube/sharding.ts';
import { closestResource } from './closestResource.ts';
import { where } from './where.ts';
import { failedFieldRequirement, failedLabelRequirement } from './selectors.ts';

/**
 * What an explanation concludes for one family: it gives series; it gives none for a reason
 * that is expected (docs/cli.md, "explain": a filter, another shard, a path under a status not
 * written yet, an empty list, an entry replaced by a later one); or it gives none (or a wrong
 * picture) because of an error in the object or the config.
 */
export type Verdict = 'series' | 'expected' | 'error';

export interface FamilyExplanation {
  readonly name: string;
  /** `gauge`, `stateset`, `info`; `aggregate` for an aggregate family. */
  readonly type: string;
  /** Where the family is configured. */
  readonly location: SourceLocation;
  readonly verdict: Verdict;
  /** The series in exposition text, one line each (may be set with an error: a state not in `list`). */
  readonly series: readonly string[];
  /** One line: why there is no series (or what is wrong with them). */
  readonly reason?: string | undefined;
  /** Where in the config the reason points (defaults to `location`). */
  readonly reasonLocation?: SourceLocation | undefined;
  /** One line about series that are as they should be (the health verdict's deciding rule). */
  readonly note?: string | undefined;
}

export interface ResourceExplanation {
  /** `group/version/kind` as configured. */
  readonly gvk: string;
  readonly location: SourceLocation;
  /** How the object's kind was bound when the entry has wildcards. */
  readonly boundAs?: string | undefined;
  readonly families: readonly FamilyExplanation[];
}

export interface ObjectExplanation {
  readonly ref: ObjectRef;
  readonly gvk: GroupVersionKind | undefined;
  readonly resources: readonly ResourceExplanation[];
  /** Set when no resource matches: which came closest and why it does not match. */
  readonly unmatched?: string | undefined;
}

/** A cut-off found while the object went through the ingest path (limits that span objects). */
export interface IngestCut {
  readonly limit: LimitName | undefined;
  readonly family: string;
  readonly message: string;
}

export interface ExplainSettings {
  readonly config: CompiledConfig;
  /** Problems of the config (explain goes on with what compiled; `run` and `check` refuse it). */
  readonly problems?: readonly ConfigProblem[];
  readonly shard?: ShardAssignment | undefined;
  /** The `--limits.*` flags given, to say where a limit came from. */
  readonly limitFlags?: Partial<SeriesLimits>;
  /** A running bridge's `--namespaces` and `--namespaces-denylist`. @default none */
  readonly namespaceFlags?: { readonly allow: readonly string[]; readonly deny: readonly string[] };
}

/**
 * Explains one object: for every resource entry it matches, every family's series or the one
 * reason it gives none. Generates the series with the engine's own `computeSeries` (same code as
 * the bridge), then, only for families that gave nothing or a wrong picture, walks the config's
 * paths over the object to say where they stop.
 */
export function explainObject(
  settings: ExplainSettings,
  object: unknown,
  origin: string | undefined,
  cut?: IngestCut,
  blocked?: string,
): ObjectExplanation {
  const ref = objectRef(object, origin);
  const gvk = objectGvk(object);
  if (!gvk) return { ref, gvk, resources: [], unmatched: 'the object has no apiVersion and kind' };
  const resources = settings.config.resources;
  const matching = resources.filter((r) => r.matches(gvk.group, gvk.version, gvk.kind));
  if (matching.length === 0) return { ref, gvk, resources: [], unmatched: closestResource(resources, gvk) };
  const effective = resourceFor(resources, gvk)!;
  return {
    ref,
    gvk,
    resources: matching.map((resource) =>
      explainResource(settings, resource, effective, object, gvk, ref, cut, blocked),
    ),
  };
}

function explainResource(
  settings: ExplainSettings,
  resource: CompiledResource,
  effective: CompiledResource,
  object: unknown,
  gvk: GroupVersionKind,
  ref: ObjectRef,
  cut: IngestCut | undefined,
  blocked: string | undefined,
): ResourceExplanation {
  const configured = resource.groupVersionKind;
  const wildcard =
    isWildcard(configured.group) || isWildcard(configured.version) || isWildcard(configured.kind);
  const head = {
    gvk: formatGvk(configured),
    location: resource.config.location,
    boundAs: wildcard ? `${gvk.group}/${gvk.version}/${gvk.kind}` : undefined,
  };
  const all = (verdict: Verdict, reason: string, reasonLocation?: SourceLocation) => ({
    ...head,
    families: resource.families.map((_family, i) => ({
      ...familyHead(resource, i),
      verdict,
      series: [],
      reason,
      reasonLocation,
    })),
  });
  if (resource !== effective)
    return all(
      'expected',
      `a later entry for the same kind replaces this one (as in kube-state-metrics): ${formatGvk(effective.groupVersionKind)} at ${where(effective.config.location)}`,
    );
  const skip = objectFilter(settings, resource, object);
  if (skip) return all(skip.verdict, skip.reason, resource.config.location);
  if (cut) return all('error', limitReason(settings, resource, cut), resource.config.location);
  if (blocked !== undefined) return all('error', blocked, resource.config.location);

  const captured: { metric: string; kind: ObjectErrorKind; message: string }[] = [];
  const errors = new ObjectErrors({
    onEvery: (summary, occurrence) =>
      captured.push({ metric: summary.metric, kind: summary.kind, message: occurrence.message }),
  });
  let series: ObjectSeries;
  try {
    series = resource.computeSeries(object, gvk.version, gvk.kind, errors, ref);
  } catch (err) {
    // Anything else thrown is a bug in the engine; the bridge counts it as an `internal` object
    // error and goes on, and so does explain.
    if (!(err instanceof LimitExceeded))
      return all('error', `internal error while generating the series: ${(err as Error).message}`);
    return all(
      'error',
      limitReason(settings, resource, { limit: err.limit, family: err.family, message: err.message }),
      resource.config.location,
    );
  }
  const problems = settings.problems ?? [];
  return {
    ...head,
    families: resource.families.map((family, i) => {
      const own = captured.filter((c) => c.metric === family.meta.name);
      return explainFamily(resource, i, object, series[i], own, problems);
    }),
  };
}

/** The namespace, selector and shard checks that keep the object from the resource entirely. */
function objectFilter(
  settings: ExplainSettings,
  resource: CompiledResource,
  object: unknown,
): { verdict: Verdict; reason: string } | undefined {
  const config = resource.config;
  const metadata = isMap(object) && isMap(object.metadata) ? object.metadata : {};
  const namespace = typeof metadata.namespace === 'string' ? metadata.namespace : '';
  if (config.namespaces.length > 0 && namespace !== '' && !config.namespaces.includes(namespace))
    return {
      verdict: 'expected',
      reason: `filtered: namespace ${namespace} is not in the resource's namespaces [${config.namespaces.join(', ')}]`,
    };
  const flags = settings.namespaceFlags;
  if (flags && namespace !== '') {
    if (flags.allow.length > 0 && !flags.allow.includes(namespace))
      return {
        verdict: 'expected',
        reason: `filtered: namespace ${namespace} is not in --namespaces [${flags.allow.join(', ')}]`,
      };
    if (flags.deny.includes(namespace))
      return { verdict: 'expected', reason: `filtered: namespace ${namespace} is in --namespaces-denylist` };
  }
  if (config.labelSelector !== undefined) {
    const failed = failedLabelRequirement(config.labelSelector, object);
    if (failed !== undefined)
      return {
        verdict: 'expected',
        reason: `filtered: the object's labels do not satisfy "${failed}" of labelSelector "${config.labelSelector}"`,
      };
  }
  if (config.fieldSelector !== undefined) {
    const failed = failedFieldRequirement(config.fieldSelector, object);
    if (failed !== undefined)
      return {
        verdict: 'expected',
        reason: `filtered: the object does not satisfy "${failed}" of fieldSelector "${config.fieldSelector}"`,
      };
  }
  const shard = settings.shard;
  if (shard && shard.totalShards > 1) {
    const uid = typeof metadata.uid === 'string' ? metadata.uid : '';
    const owner = shardOf(uid, shard.totalShards);
    if (owner !== shard.shard)
      return {
        verdict: 'expected',
        reason: `another shard's object: uid "${uid}" belongs to shard ${owner} of ${shard.totalShards}, this is shard ${shard.shard} (--shard)`,
      };
  }
  return undefined;
}

function limitReason(settings: ExplainSettings, resource: CompiledResource, cut: IngestCut): string {
  const name = cut.limit;
  if (!name) return `cut off by a limit: ${cut.message}`;
  const value = resource.limits[name];
  const kebab = name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  const from =
    // The budgets across objects are flags only: a resource's limits never hold them.
    (resource.config.limits as Partial<Record<LimitName, number>>)[name] !== undefined
      ? `the resource's limits.${name}: ${value}`
      : settings.limitFlags?.[name] !== undefined
        ? `--limits.${kebab}=${value}`
        : `the default --limits.${kebab}=${value}`;
  return `cut off by ${from}: ${cut.message}`;
}

/** For the health state set: the state, the rule that decided it and why. */
function healthNote(each: EachGenerator, object: unknown): string | undefined {
  if (!(each instanceof HealthStateGenerator)) return undefined;
  const gvk = objectGvk(object);
  const verdict = each.judge.verdict(object, gvk?.group ?? '', gvk?.kind ?? '');
  const rule = verdict.rule !== undefined ? ` by rule ${verdict.rule}` : '';
  const reason = verdict.reason !== undefined && verdict.reason !== '' ? `: ${verdict.reason}` : '';
  return `${verdict.state}${rule}${reason}`;
}

function familyHead(resource: CompiledResource, index: number) {
  const family = resource.families[index]!;
  const metric = resource.config.metrics[index];
  const location =
    metric?.location ??
    (family.each instanceof ConditionsGenerator ? resource.config.conditions?.location : undefined) ??
    resource.config.health?.location ??
    resource.config.location;
  return {
    name: family.meta.name,
    // The metric's own type: the family's is the first definer's when two disagree.
    type: family.meta.aggregate || metric?.aggregate ? 'aggregate' : (metric?.each.type ?? family.meta.type),
    location,
  };
}

function explainFamily(
  resource: CompiledResource,
  index: number,
  object: unknown,
  slot: ObjectSeries[number],
  errors: readonly { kind: ObjectErrorKind; message: string }[],
  problems: readonly ConfigProblem[],
): FamilyExplanation {
  const head = familyHead(resource, index);
  const metric = resource.config.metrics[index];
  const family = resource.families[index]!;
  const invalid = metric ? problemsOf(metric, problems) : [];
  if (invalid.length > 0)
    return {
      ...head,
      verdict: 'error',
      series: [],
      reason: `the config is invalid here (run and check refuse it): ${invalid[0]!.message}`,
      reasonLocation: invalid[0]!.location,
    };
  const series = seriesLines(family.meta.name, slot);
  if (series.length > 0) {
    const wrong = metric ? wrongPicture(metric, object, slot, errors) : undefined;
    return wrong
      ? { ...head, verdict: 'error', series, reason: wrong.reason, reasonLocation: wrong.location }
      : { ...head, verdict: 'series', series, note: healthNote(family.each, object) };
  }
  const why = metric
    ? whyNone(metric, object, errors)
    : family.each instanceof ConditionsGenerator
      ? {
          verdict: 'expected' as const,
          reason: 'the object has no status.conditions (yet)',
          location: head.location,
        }
      : { verdict: 'error' as const, reason: errors[0]?.message ?? 'no series', location: head.location };
  return { ...head, series: [], verdict: why.verdict, reason: why.reason, reasonLocation: why.location };
}

/** The config problems located in this metric (its key path or below). */
function problemsOf(metric: MetricConfig, problems: readonly ConfigProblem[]): ConfigProblem[] {
  const at = metric.location.keyPath;
  return problems.filter((p) => p.location.keyPath === at || p.location.keyPath.startsWith(`${at}.`));
}

/** Exposition lines of a family slot (a block's samples, or what an aggregate or health slot holds). */
function seriesLines(name: string, slot: ObjectSeries[number]): string[] {
  if (slot === undefined) return [];
  if (isContribution(slot))
    return slot.shares.map(
      (s) =>
        `${name}{${s.labels.map(([k, v]) => `${k}="${v}"`).join(',')}} += this object's share: ${s.count} series, sum ${s.sum}`,
    );
  if (isHealthObservation(slot))
    return [
      `${name}{${slot.labels.map(([k, v]) => `${k}="${v}"`).join(',')}} ${slot.since === undefined ? '(when the running bridge first sees the state)' : formatSampleValue(slot.since)}`,
    ];
  return slot.text.split('\n').filter((l) => l !== '');
}

interface Why {
  readonly verdict: Verdict;
  readonly reason: string;
  readonly location: SourceLocation;
}

/** Series that are there but say something the config cannot mean: a state set of zeros. */
function wrongPicture(
  metric: MetricConfig,
  object: unknown,
  slot: ObjectSeries[number],
  errors: readonly { kind: ObjectErrorKind; message: string }[],
): Why | undefined {
  const each = metric.each;
  if (each.type === 'stateset' && !metric.aggregate && slot && 'points' in slot) {
    const set = each.stateSet;
    if (slot.points.length > 0 && !set.valueExpression) {
      const elements = innermost(each, object).elements;
      const valueFrom = new ValuePath(set.valueFrom.segments);
      const outside = elements
        .map((e) => valueFrom.get(e))
        .filter((s): s is string => typeof s === 'string' && !set.list.includes(s));
      if (outside.length > 0)
        return {
          verdict: 'error',
          reason: `state ${JSON.stringify(outside[0])} at ${valuePathText(each, set.valueFrom.segments)} is not in list [${set.list.join(', ')}]: ${outside.length === elements.length ? 'every series is 0' : "that element's series are all 0"}`,
          location: each.location,
        };
    }
  }
  // Some elements failed while others gave series (or a label was dropped): say so, once.
  const first = errors[0];
  if (!first) return undefined;
  const reason =
    first.kind === 'invalid-label-name'
      ? `a label was dropped: ${first.message}`
      : first.kind === 'duplicate-series'
        ? `some series are missing: ${first.message} (add labelFromKey or an each-level label that tells them apart)`
        : `some series are missing: ${errorReason(first.kind, first.message)}`;
  return { verdict: 'error', reason, location: metric.location };
}

/** The one reason a configured metric gave no series for the object. */
function whyNone(
  metric: MetricConfig,
  object: unknown,
  errors: readonly { kind: ObjectErrorKind; message: string }[],
): Why {
  const each = metric.each;
  const block = eachBlock(each);
  const path = new ValuePath(block.path.segments);
  const miss = path.miss(object);
  const nilIsZero = each.type === 'gauge' && each.gauge.nilIsZero;
  if (miss && !(nilIsZero && miss.nil)) {
    const fresh = underUnwrittenStatus(block.path.segments, miss, object);
    return {
      verdict: fresh ? 'expected' : 'error',
      reason:
        missReason('path', block.path.segments, miss) +
        (fresh ? '; the object has no status yet (a new object)' : '') +
        (each.type === 'gauge' && each.gauge.labelFromKey === '' && !fresh
          ? ' (nilIsZero: true would give 0)'
          : ''),
      location: block.path.location,
    };
  }
  const target = path.get(object);
  if (Array.isArray(target) && target.length === 0)
    return {
      verdict: 'expected',
      reason: `path ${pathText(block.path.segments)} is an empty list`,
      location: block.path.location,
    };
  const conversion = errors.filter((e) => e.kind === 'conversion');
  if (each.type === 'gauge' && isMap(target) && conversion.length > 0) {
    const entries = Object.keys(target).length;
    const [key, value] =
      Object.entries(target).find(([, v]) => typeof v === 'string') ?? Object.entries(target)[0]!;
    return {
      verdict: 'error',
      reason: `the map under ${pathText(block.path.segments)} holds values that are not numbers (${conversion.length} of ${entries} entries, e.g. ${key}: ${JSON.stringify(formatGoValue(value))}): a gauge needs numbers; an info metric with labelFromKey gives them as labels`,
      location: block.path.location,
    };
  }
  const first = errors.find((e) => e.kind !== 'duplicate-series' && e.kind !== 'invalid-label-name');
  if (first)
    return {
      verdict: 'error',
      reason: errorReason(first.kind, first.message),
      location: each.location,
    };
  if (block.forEach) {
    const inner = innermost(each, object);
    if (inner.elements.length === 0 && inner.miss)
      return {
        verdict: 'error',
        reason: `forEach ${missReason('path', inner.miss.segments, inner.miss.miss, 'the element')}, in every element of ${pathText(block.path.segments)}`,
        location: inner.miss.location,
      };
    if (inner.elements.length === 0 && inner.empty)
      return {
        verdict: 'expected',
        reason: `forEach path ${pathText(inner.empty.segments)} is an empty list in every element of ${pathText(block.path.segments)}`,
        location: inner.empty.location,
      };
    return {
      verdict: 'error',
      reason: `no element of ${pathText(block.path.segments)} gave a series through its forEach levels`,
      location: each.location,
    };
  }
  const elements = Array.isArray(target) ? target : [target];
  switch (each.type) {
    case 'info': {
      const i = each.info;
      if (i.labelsFromPath.size === 0 && i.labelsFromExpression.size === 0 && i.labelFromKey === '')
        return {
          verdict: 'error',
          reason:
            'an info metric gives a series only when a label of its own (each.info.labelsFromPath) resolves; this one has none, and resource- or metric-level labels do not count (as in kube-state-metrics)',
          location: each.location,
        };
      return {
        verdict: 'error',
        reason: `none of the info labels (${[...i.labelsFromPath.keys(), ...i.labelsFromExpression.keys()].join(', ')}) finds a value in ${pathText(block.path.segments)}`,
        location: each.location,
      };
    }
    case 'stateset': {
      const s = each.stateSet;
      if (s.valueExpression)
        return {
          verdict: 'error',
          reason: `valueExpression gave null for every element of ${pathText(block.path.segments)}`,
          location: s.valueExpression.location,
        };
      return valueMiss(
        'state',
        block.path.segments,
        s.valueFrom.segments,
        s.valueFrom.location,
        elements,
        object,
      );
    }
    case 'gauge': {
      const g = each.gauge;
      if (g.valueExpression)
        return {
          verdict: 'error',
          reason: `valueExpression gave null for every element of ${pathText(block.path.segments)}`,
          location: g.valueExpression.location,
        };
      const candidates = isMap(target) ? Object.values(target) : elements;
      return valueMiss(
        'value',
        block.path.segments,
        g.valueFrom.segments,
        g.valueFrom.location,
        candidates,
        object,
      );
    }
  }
}

/** valueFrom finds nothing in any element: a nil value (expected under a status not yet written). */
function valueMiss(
  what: string,
  path: readonly string[],
  valueFrom: readonly string[],
  location: SourceLocation,
  elements: readonly unknown[],
  object: unknown,
): Why {
  const from = new ValuePath(valueFrom);
  const miss = elements.map((e) => from.miss(e)).find((m) => m !== undefined);
  const full = [...path, ...valueFrom];
  const fresh =
    miss !== undefined && underUnwrittenStatus(full, { ...miss, index: path.length + miss.index }, object);
  const nil = miss?.nil ? 'a nil value' : 'nothing';
  return {
    verdict: fresh ? 'expected' : 'error',
    reason: `the ${what} at ${pathText(full)} is ${nil}${miss && !miss.nil && miss.index >= 0 ? ` (${missDetail(valueFrom, miss)})` : ''}${fresh ? '; the object has no status yet (a new object)' : ''}`,
    location,
  };
}

function errorReason(kind: ObjectErrorKind, message: string): string {
  switch (kind) {
    case 'conversion':
      return `a value is not a number: ${message}`;
    case 'not-a-string':
      return `a state is not a string: ${message}`;
    case 'nil-value':
      return `a nil value: ${message}`;
    case 'cel':
      return `a CEL expression failed: ${message}`;
    default:
      return message;
  }
}

/**
 * A path under `status` on an object whose status is absent or empty: the controller has not
 * written it yet, so no series is expected (it comes with the first status).
 */
function underUnwrittenStatus(segments: readonly string[], miss: PathMiss, object: unknown): boolean {
  if (segments[0] !== 'status' || miss.index < 0) return false;
  const status = isMap(object) ? object.status : undefined;
  return status === undefined || status === null || (isMap(status) && Object.keys(status).length === 0);
}

function missReason(what: string, segments: readonly string[], miss: PathMiss, root = 'the object'): string {
  if (miss.index < 0) return `${what} ${pathText(segments)}: the value is nil`;
  return `${what} ${pathText(segments)} ${missDetail(segments, miss, root)}`;
}

/** `stops at "phase": status has no key "phase" (it has: replicas)` and the like. */
function missDetail(segments: readonly string[], miss: PathMiss, root = 'the element'): string {
  const seg = JSON.stringify(miss.segment);
  const at = miss.index === 0 ? root : segments[miss.index - 1]!;
  const parent = miss.parent;
  if (miss.nil) return `stops at ${seg}: ${at}.${miss.segment} is null`;
  if (isMap(parent)) {
    const keys = Object.keys(parent);
    const shown =
      keys.length === 0
        ? 'it is empty'
        : `it has: ${keys.slice(0, 8).join(', ')}${keys.length > 8 ? ', …' : ''}`;
    return `stops at ${seg}: ${at} has no key ${seg} (${shown})`;
  }
  if (Array.isArray(parent)) {
    if (miss.segment.startsWith('['))
      return `stops at ${seg}: no element of ${at} (a list of ${parent.length}) matches`;
    return `stops at ${seg}: ${at} is a list of ${parent.length}; a list takes an index or [key=value]`;
  }
  const shown = typeof parent === 'string' ? JSON.stringify(parent) : formatGoValue(parent);
  return `stops at ${seg}: ${at} is not a map or list but ${goTypeName(parent)} ${shown}`;
}

/**
 * Where a value is read, as one path: `[status,phase]`; through forEach levels, each level's
 * path in turn, `[status,parents] > [conditions] > [status]`.
 */
function valuePathText(each: EachConfig, valueFrom: readonly string[]): string {
  const levels = iterationLevels(each);
  if (levels.length === 1) return pathText([...levels[0]!.path.segments, ...valueFrom]);
  return [...levels.map((l) => pathText(l.path.segments)), pathText(valueFrom)].join(' > ');
}

/** KSM's rendering of a path, `[status,phase]`. */
function pathText(segments: readonly string[]): string {
  return `[${segments.join(',')}]`;
}

/**
 * An object that could not be read at all (its version not served, RBAC forbidding the get):
 * every family of the resource, with that one reason.
 */
export function unreadableObject(
  resource: CompiledResource,
  gvk: GroupVersionKind,
  ref: ObjectRef,
  reason: string,
): ObjectExplanation {
  return {
    ref,
    gvk,
    resources: [
      {
        gvk: formatGvk(resource.groupVersionKind),
        location: resource.config.location,
        families: resource.families.map((_family, i) => ({
          ...familyHead(resource, i),
          verdict: 'error' as const,
          series: [],
          reason,
          reasonLocation: resource.config.location,
        })),
      },
    ],
  };
}

interface LevelPlace {
  readonly segments: readonly string[];
  readonly location: SourceLocation;
}

/**
 * The elements the innermost level of `each` reads its value from (through every `forEach`
 * level, as NestedGenerator walks them), the first inner path that found nothing, and the first
 * that was an empty list.
 */
function innermost(
  each: EachConfig,
  object: unknown,
): { elements: unknown[]; miss?: LevelPlace & { miss: PathMiss }; empty?: LevelPlace } {
  const levels = iterationLevels(each);
  let elements: unknown[] = [object];
  let miss: (LevelPlace & { miss: PathMiss }) | undefined;
  let empty: LevelPlace | undefined;
  for (const level of levels) {
    const path = new ValuePath(level.path.segments);
    const place = { segments: level.path.segments, location: level.path.location };
    const next: unknown[] = [];
    for (const element of elements) {
      const target = path.get(element);
      if (target === undefined) {
        if (level !== levels[0]) miss ??= { ...place, miss: path.miss(element)! };
        continue;
      }
      if (Array.isArray(target)) {
        if (target.length === 0 && level !== levels[0]) empty ??= place;
        for (const e of target as unknown[]) if (e !== undefined && e !== null) next.push(e);
      } else next.push(target);
    }
    elements = next;
  }
  return { elements, ...(miss ? { miss } : {}), ...(empty ? { empty } : {}) };
}
