import type { CrdVersion, PrinterColumn, SchemaNode } from './crd.ts';
import { guardedValueExpression } from './celGuard.ts';
import { isUsableLabelName, NameScope, namePart, RESERVED_LABELS, snakeCase } from './names.ts';
import { formatSteps, parsePrinterColumnPath } from './printerColumnPath.ts';
import type { JsonPathStep } from './printerColumnPath.ts';
import {
  enumStrings,
  fieldKind,
  firstSentence,
  isRequiredAlong,
  nodeAt,
  unfitForLabel,
} from './schemaFields.ts';
import type { FieldKind } from './schemaFields.ts';

/** A label read from the object: its name, config path and why it was taken. */
export interface DraftLabel {
  readonly name: string;
  readonly path: readonly string[];
  readonly why: string;
}

export type DraftEach =
  | { readonly type: 'Gauge'; readonly path?: readonly string[]; readonly valueExpression?: string }
  | {
      readonly type: 'StateSet';
      readonly path: readonly string[];
      readonly valueFrom?: readonly string[];
      readonly labelName: string;
      readonly list: readonly string[];
      readonly labelsFromPath?: readonly DraftLabel[];
    }
  | { readonly type: 'Info'; readonly labels: readonly DraftLabel[] };

export interface DraftMetric {
  /** Without the resource's prefix. */
  readonly name: string;
  readonly help: string;
  /** Comment lines: where the metric comes from and why. */
  readonly why: readonly string[];
  readonly each: DraftEach;
}

/** A key the draft adds to a resource as it stands (see conditionsKeys). */
export interface ResourceKey {
  readonly key: string;
  readonly value: unknown;
  readonly comment: string;
}

/** One resource of the drafted config. */
export interface DraftResource {
  readonly crd: CrdVersion;
  readonly prefix: string;
  readonly labels: readonly DraftLabel[];
  readonly extraKeys: readonly ResourceKey[];
  readonly metrics: readonly DraftMetric[];
  /** Fields considered and not used, one line each: `path: reason`. */
  readonly leftOut: readonly string[];
  /** The printer columns, each with what became of it (for reports and tests). */
  readonly columns: readonly ColumnOutcome[];
  /** The string enum fields found, each with what became of it. */
  readonly enums: readonly EnumOutcome[];
}

export interface ColumnOutcome {
  readonly column: string;
  readonly jsonPath: string;
  /** The family (without prefix) that carries it, or undefined when left out. */
  readonly family: string | undefined;
}

export interface EnumOutcome {
  readonly field: string;
  readonly family: string | undefined;
}

/** A state set of more values than this is left to a label (or left out): each value is a series per object. */
export const MAX_STATES = 20;

/**
 * How deep under `spec` or `status` the draft looks (`status.a.b.c` is 3): deeper objects are
 * mostly copies of configuration (a status that echoes the spec it acted on), not state.
 */
export const MAX_DEPTH = 3;

/** Flags deeper than this in status (`status.a.flag` is 2) are not drafted: the status of a run often echoes its settings. */
export const MAX_BOOLEAN_DEPTH = 2;

/** Condition statuses when the schema does not list them (metav1.Condition's). */
const CONDITION_STATUSES = ['True', 'False', 'Unknown'];

/**
 * The families `health` and `conditions` give a resource (engine/compile), under its prefix: the
 * draft names none of its own families so.
 */
const HEALTH_AND_CONDITION_FAMILIES = [
  'health',
  'health_last_transition_timestamp_seconds',
  'health_transitions',
  'time_to_healthy_seconds',
  'status_condition',
  'status_condition_last_transition_timestamp_seconds',
];

/**
 * Resource-level keys: `health: {}` for every kind (the generic rules read generation, phase and
 * conditions, and an object with no status is healthy as kstatus has it), and `conditions: {}` for
 * kinds whose schema has `status.conditions` (one series per condition, whatever its type).
 */
export function conditionsKeys(crd: CrdVersion): ResourceKey[] {
  const keys: ResourceKey[] = [
    {
      key: 'health',
      value: {},
      comment:
        'Health of each object (healthy, progressing, degraded, suspended, unknown), its transitions and time to healthy: docs/health.md.',
    },
  ];
  if (isConditionsList(crd.schema.properties?.status?.properties?.conditions))
    keys.push({
      key: 'conditions',
      value: {},
      comment: 'Every entry of status.conditions: its status and lastTransitionTime, by condition type.',
    });
  return keys;
}

/** A field the draft looks at, and why it is looked at. */
interface Candidate {
  readonly steps: readonly JsonPathStep[];
  readonly key: string;
  readonly reasons: string[];
  column?: PrinterColumn;
  fromScale?: boolean;
}

/** What the draft does with one candidate. */
type Decision =
  | { readonly use: 'gauge'; readonly timestamp: boolean; readonly kind: FieldKind }
  | { readonly use: 'stateset'; readonly list: readonly string[]; readonly dropped: boolean }
  | { readonly use: 'condition'; readonly type: string; readonly list: readonly string[] }
  | { readonly use: 'label'; readonly kind: FieldKind }
  | { readonly use: 'none'; readonly reason: string };

/** The metric path segments of JSONPath steps; undefined if a field name would read as path syntax. */
function configPath(steps: readonly JsonPathStep[]): string[] | undefined {
  const out: string[] = [];
  for (const step of steps) {
    if (step.kind === 'field') {
      if (step.name.includes('=') || step.name.startsWith('[') || /^-?[0-9]+$/.test(step.name))
        return undefined;
      out.push(step.name);
    } else if (step.kind === 'index') out.push(String(step.index));
    else out.push(`[${step.key}=${step.value}]`);
  }
  return out;
}

/** `status_ready_replicas` for `status.readyReplicas`; filter steps give their value. */
function pathName(steps: readonly JsonPathStep[]): string {
  return steps
    .map((s) => (s.kind === 'field' ? snakeCase(s.name) : s.kind === 'index' ? '' : snakeCase(s.value)))
    .filter((s) => s !== '')
    .join('_');
}

/** `status_start_timestamp_seconds` for `status.startTime`; `…_time`/`_timestamp`/`_at` are not doubled. */
function timestampName(base: string): string {
  const stem = base.replace(/_(timestamp|time|at|date)$/, '');
  return `${stem === '' ? base : stem}_timestamp_seconds`;
}

function lastFieldName(steps: readonly JsonPathStep[]): string {
  for (let i = steps.length - 1; i >= 0; i--) {
    const s = steps[i]!;
    if (s.kind === 'field') return s.name;
  }
  return '';
}

const isConditionsList = (node: SchemaNode | undefined): boolean =>
  !!node?.items?.properties?.type && !!node.items.properties.status;

const KIND_TEXT: Readonly<Record<FieldKind, string>> = {
  number: 'a number',
  boolean: 'a boolean, 1 or 0',
  timestamp: 'a date-time',
  enum: 'an enum',
  quantity: 'a quantity',
  'int-or-string': 'an int-or-string',
  string: 'a string',
  object: 'an object',
  list: 'a list',
  map: 'a map',
  unknown: 'of a type the schema does not give',
};

/**
 * Plans the metrics of one kind from its schema and printer columns. Pure: the same CRD version
 * and prefix always give the same draft (fields are visited in sorted order).
 */
export function draftResource(crd: CrdVersion, prefix: string): DraftResource {
  const schema = crd.schema;
  const candidates = new Map<string, Candidate>();
  const leftOut: { key: string; line: string }[] = [];
  const columnOf = new Map<PrinterColumn, string>();
  const leave = (key: string, reason: string) => leftOut.push({ key, line: `${key}: ${reason}` });
  const consider = (steps: readonly JsonPathStep[], reason: string): Candidate => {
    const key = formatSteps(steps);
    let c = candidates.get(key);
    if (!c) {
      c = { steps, key, reasons: [] };
      candidates.set(key, c);
    }
    if (!c.reasons.includes(reason)) c.reasons.push(reason);
    return c;
  };

  for (const column of crd.printerColumns) {
    const steps = parsePrinterColumnPath(column.jsonPath);
    const what = `printer column "${column.name}" (${column.jsonPath})`;
    if (!steps) {
      leave(what, 'a JSONPath that one config path cannot follow');
      continue;
    }
    const c = consider(steps, `printer column "${column.name}"`);
    c.column ??= column;
    columnOf.set(column, c.key);
  }
  for (const [which, path] of [
    ['spec', crd.scale?.specReplicasPath],
    ['status', crd.scale?.statusReplicasPath],
  ] as const) {
    const steps = path === undefined ? undefined : parsePrinterColumnPath(path);
    if (steps) consider(steps, `the scale subresource's ${which} replicas`).fromScale = true;
  }
  consider(
    [
      { kind: 'field', name: 'metadata' },
      { kind: 'field', name: 'creationTimestamp' },
    ],
    'the creation time of every object',
  );

  const extraKeys = conditionsKeys(crd);
  // With `conditions: {}`, its family carries every condition: no state set of the draft's own.
  const conditionsKey = extraKeys.some((k) => k.key === 'conditions');
  const status = schema.properties?.status;
  let conditionTypes: readonly string[] | undefined;
  let conditionStatuses = CONDITION_STATUSES;
  const conditions = status?.properties?.conditions;
  if (isConditionsList(conditions)) {
    const types = enumStrings(conditions!.items!.properties!.type!);
    const statuses = enumStrings(conditions!.items!.properties!.status!).filter((s) => s !== '');
    if (statuses.length > 0) conditionStatuses = statuses;
    if (types.length > 0) conditionTypes = types;
  }
  if (status) {
    const statusSteps: JsonPathStep[] = [{ kind: 'field', name: 'status' }];
    walkFields(
      status,
      statusSteps,
      (steps, node, kind) => {
        const key = formatSteps(steps);
        if (key === 'status.conditions' && isConditionsList(node)) {
          if (!conditionTypes && !conditionsKey)
            leave(
              key,
              'the schema does not list the condition types (no enum); a printer column naming one gives a state set',
            );
          return;
        }
        if (kind === 'object') return;
        if (kind === 'list' || kind === 'map')
          leave(
            key,
            `${KIND_TEXT[kind]}: one series per element needs a key label; add it by hand if wanted`,
          );
        else if (kind === 'unknown') leave(key, 'the schema does not say what it holds');
        else if (kind === 'boolean' && steps.length > MAX_BOOLEAN_DEPTH + 1)
          leave(
            key,
            `a flag more than ${MAX_BOOLEAN_DEPTH} levels deep: mostly a copy of configuration, not state`,
          );
        else consider(steps, 'a field of status');
      },
      MAX_DEPTH + 1,
      (steps) =>
        leave(formatSteps(steps), `an object more than ${MAX_DEPTH} levels deep: its fields are not drafted`),
    );
    if (status.properties?.observedGeneration)
      consider(
        [
          { kind: 'field', name: 'metadata' },
          { kind: 'field', name: 'generation' },
        ],
        'compared with status.observedGeneration, it tells whether the controller has seen the latest change',
      );
  }
  const spec = schema.properties?.spec;
  if (spec)
    walkFields(
      spec,
      [{ kind: 'field', name: 'spec' }],
      (steps, _node, kind) => {
        if (kind === 'enum') consider(steps, 'an enum in spec');
      },
      MAX_DEPTH + 1,
    );

  // Decide, in path order (stable whatever the order of the CRD's properties and columns).
  const sorted = [...candidates.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const metricNames = new NameScope(['info', ...HEALTH_AND_CONDITION_FAMILIES]);
  const metrics: DraftMetric[] = [];
  const infoLabels: DraftLabel[] = [];
  const labelNames = new NameScope(RESERVED_LABELS);
  const familyOf = new Map<string, string>();
  const conditionsFamily = conditionsKey
    ? 'status_condition'
    : conditionTypes
      ? metricNames.claim('status_condition')
      : undefined;
  const conditionColumns: string[] = [];

  for (const c of sorted) {
    const node = nodeAt(schema, c.steps);
    const decision = decide(c, node, conditionStatuses);
    const where = c.reasons.join(', ');
    const path = configPath(c.steps);
    const description = firstSentence(node?.description ?? c.column?.description);
    if (decision.use === 'none') {
      leave(c.key, `${decision.reason} (${where})`);
      continue;
    }
    if (decision.use === 'condition' && conditionsFamily) {
      familyOf.set(c.key, conditionsFamily);
      conditionColumns.push(`${c.key} (${where})`);
      continue;
    }
    if (decision.use === 'label') {
      const unfit = unfitForLabel(lastFieldName(c.steps), node);
      if (unfit || !path) {
        leave(c.key, `${unfit ?? 'a field name that reads as path syntax'}, not a label (${where})`);
        continue;
      }
      const fromColumn = c.column ? snakeCase(c.column.name) : '';
      const candidate = isUsableLabelName(fromColumn) && !/^[0-9]/.test(fromColumn) ? fromColumn : '';
      const name = labelNames.claim(
        candidate !== '' && !labelNames.has(candidate) ? candidate : namePart(pathName(c.steps), 'field'),
      );
      const enumSize = decision.kind === 'enum' && node ? enumStrings(node).length : 0;
      const what =
        enumSize > 0 ? `an enum of ${enumSize}, too many for a state set` : KIND_TEXT[decision.kind];
      infoLabels.push({ name, path, why: `${c.key} (${what}; ${where}): one value per object` });
      familyOf.set(c.key, 'info');
      continue;
    }
    const base = namePart(pathName(c.steps), 'field');
    if (decision.use === 'gauge') {
      const name = metricNames.claim(decision.timestamp ? timestampName(base) : base);
      const unit = decision.timestamp ? ', as seconds since the Unix epoch' : '';
      const plain = path && isRequiredAlong(schema, c.steps) && !c.steps.some((s) => s.kind !== 'field');
      metrics.push({
        name,
        help: `${c.key}${unit}.${description ? ` ${description}` : ''}`,
        why: [
          `${c.key} (${KIND_TEXT[decision.kind]}): ${where}.` +
            (plain ? '' : ' Optional: an object without it gives no series.'),
        ],
        each: plain
          ? { type: 'Gauge', path: path }
          : { type: 'Gauge', valueExpression: guardedValueExpression(c.steps) },
      });
      familyOf.set(c.key, name);
      continue;
    }
    if (!path) {
      leave(c.key, `a field name that reads as path syntax (${where})`);
      continue;
    }
    if (decision.use === 'condition') {
      const name = metricNames.claim(namePart(`status_condition_${snakeCase(decision.type)}`, 'condition'));
      metrics.push({
        name,
        help: `The status of the ${decision.type} condition, one series per possible status (1 for the current one).`,
        why: [`${c.key}: ${where}. No series while the object has no ${decision.type} condition.`],
        each: {
          type: 'StateSet',
          path: path.slice(0, -1),
          valueFrom: path.slice(-1),
          labelName: 'status',
          list: decision.list,
        },
      });
      familyOf.set(c.key, name);
      continue;
    }
    const field = snakeCase(lastFieldName(c.steps));
    const labelName = field !== '' && isUsableLabelName(field) && !/^[0-9]/.test(field) ? field : 'state';
    const name = metricNames.claim(base);
    metrics.push({
      name,
      help: `${c.key}, one series per value (1 for the current one).${description ? ` ${description}` : ''}`,
      why: [
        `${c.key} (an enum of ${decision.list.length}): ${where}.` +
          (decision.dropped ? ' The empty value is left out of the list.' : ''),
      ],
      each: { type: 'StateSet', path, labelName, list: decision.list },
    });
    familyOf.set(c.key, name);
  }

  if (conditionTypes && conditionsFamily && !conditionsKey) {
    metrics.push({
      name: conditionsFamily,
      help: `The status of each condition (${conditionTypes.join(', ')}), one series per possible status (1 for the current one).`,
      why: [
        'status.conditions: the schema lists the condition types, so their number is bounded.',
        ...conditionColumns.map((c) => `It also covers ${c}.`),
      ],
      each: {
        type: 'StateSet',
        path: ['status', 'conditions'],
        valueFrom: ['status'],
        labelName: 'status',
        list: conditionStatuses,
        labelsFromPath: [{ name: 'type', path: ['type'], why: 'the condition type' }],
      },
    });
  }

  const identity: DraftLabel[] = [
    { name: 'name', path: ['metadata', 'name'], why: 'the object name' },
    ...(crd.namespaced ? [{ name: 'namespace', path: ['metadata', 'namespace'], why: 'its namespace' }] : []),
  ];
  const info: DraftMetric = {
    name: 'info',
    help: `Information about each ${crd.kind}; value 1.`,
    why: [
      'One series per object (so every object gives at least one series), labelled with the identity' +
        (infoLabels.length > 0 ? ' and these fields:' : ' (no printer column gives a label).'),
      ...infoLabels.map((l) => `  ${l.name}: ${l.why}`),
    ],
    each: { type: 'Info', labels: infoLabels },
  };

  const columns = crd.printerColumns.map((column) => {
    const key = columnOf.get(column);
    return { column: column.name, jsonPath: column.jsonPath, family: key ? familyOf.get(key) : undefined };
  });
  const enums: EnumOutcome[] = [];
  walkFields(schema, [], (steps, _node, kind) => {
    if (kind === 'enum') enums.push({ field: formatSteps(steps), family: familyOf.get(formatSteps(steps)) });
  });
  return {
    crd,
    prefix,
    labels: identity,
    extraKeys,
    metrics: [info, ...metrics.sort((a, b) => metricOrder(a, b))],
    leftOut: leftOut.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map((l) => l.line),
    columns,
    enums,
  };
}

/** Metrics in the order of their names, which follows the field paths. */
function metricOrder(a: DraftMetric, b: DraftMetric): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function decide(c: Candidate, node: SchemaNode | undefined, conditionStatuses: readonly string[]): Decision {
  const steps = c.steps;
  const last = steps[steps.length - 1];
  const filter = steps.length >= 2 ? steps[steps.length - 2] : undefined;
  // A condition picked by type: .status.conditions[?(@.type=="Ready")].status
  if (
    filter?.kind === 'filter' &&
    filter.key === 'type' &&
    last?.kind === 'field' &&
    formatSteps(steps.slice(0, -2)) === 'status.conditions'
  ) {
    if (last.name === 'status') return { use: 'condition', type: filter.value, list: conditionStatuses };
    if (last.name === 'reason' || last.name === 'message')
      return { use: 'none', reason: `the condition's ${last.name}: free text, not a label or a value` };
  }
  let kind = fieldKind(node);
  const columnType = c.column?.type;
  if (kind === 'unknown' || kind === 'string') {
    if (columnType === 'date') kind = 'timestamp';
    else if (kind === 'unknown' && (columnType === 'integer' || columnType === 'number')) kind = 'number';
    else if (kind === 'unknown' && columnType === 'boolean') kind = 'boolean';
    // The scale subresource's replica paths hold integers by definition.
    else if (kind === 'unknown' && c.fromScale === true && c.column === undefined) kind = 'number';
    else if (kind === 'unknown' && columnType === 'string' && node === undefined) kind = 'string';
  }
  const shown = c.column !== undefined || c.fromScale === true;
  switch (kind) {
    case 'number':
    case 'boolean':
    case 'quantity':
      return { use: 'gauge', timestamp: false, kind };
    case 'timestamp':
      return { use: 'gauge', timestamp: true, kind };
    case 'enum': {
      const all = [...new Set(enumStrings(node!))];
      const list = all.filter((v) => v !== '');
      if (list.length === 0) return { use: 'none', reason: 'an enum of only the empty string' };
      if (list.length <= MAX_STATES) return { use: 'stateset', list, dropped: list.length < all.length };
      return shown
        ? { use: 'label', kind }
        : {
            use: 'none',
            reason: `an enum of ${list.length} values: more states than a state set should have`,
          };
    }
    case 'int-or-string':
      return shown
        ? { use: 'label', kind }
        : { use: 'none', reason: 'an int-or-string that is not a quantity: it may not be a number' };
    case 'string':
      return shown
        ? { use: 'label', kind }
        : {
            use: 'none',
            reason:
              'a string without an enum: its values are not known, and as a label it would start a new series whenever it changes',
          };
    default:
      return { use: 'none', reason: `${KIND_TEXT[kind]}: not a value or a label` };
  }
}

/**
 * Visits the fields under an object schema, depth first in sorted order, through objects only
 * (lists and maps are reported, not entered: their elements need a key label), at most
 * `maxSteps` deep; `cut` hears of each object not entered for that reason.
 */
function walkFields(
  node: SchemaNode,
  steps: readonly JsonPathStep[],
  visit: (steps: readonly JsonPathStep[], node: SchemaNode, kind: FieldKind) => void,
  maxSteps = Infinity,
  cut?: (steps: readonly JsonPathStep[]) => void,
): void {
  for (const name of Object.keys(node.properties ?? {}).sort()) {
    const child = node.properties![name]!;
    const childSteps = [...steps, { kind: 'field', name } as const];
    const kind = fieldKind(child);
    visit(childSteps, child, kind);
    if (kind !== 'object') continue;
    if (childSteps.length < maxSteps) walkFields(child, childSteps, visit, maxSteps, cut);
    else cut?.(childSteps);
  }
}
