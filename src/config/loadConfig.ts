import { isMap, isNode, isScalar, isSeq, LineCounter, parseAllDocuments } from 'yaml';
import type { Node } from 'yaml';
import { ConfigError } from './ConfigError.ts';
import type { ConfigProblem } from './ConfigError.ts';
import { expandAliases, joinKey, YamlReader } from './YamlReader.ts';
import type {
  AggregateConfig,
  BridgeConfig,
  ConditionsConfig,
  HealthConfig,
  EachConfig,
  ForEachConfig,
  ExpressionConfig,
  GaugeConfig,
  InfoConfig,
  LabelSources,
  LimitsConfig,
  MetricConfig,
  PathConfig,
  ResourceConfig,
  StateSetConfig,
} from './types.ts';
import { LIMITS_FIELDS } from './types.ts';
import type { SourceLocation } from './SourceLocation.ts';

const TOP_FIELDS = ['kind', 'apiVersion', 'spec'];
const SPEC_FIELDS = ['resources'];
const LABEL_FIELDS = ['commonLabels', 'labelsFromPath', 'labelsFromExpression'];
const RESOURCE_FIELDS = [
  'groupVersionKind',
  'resourcePlural',
  'metricNamePrefix',
  'errorLogV',
  'metrics',
  'customResourceLabels',
  'labelOrder',
  'namespaces',
  'labelSelector',
  'fieldSelector',
  'limits',
  'health',
  'conditions',
  ...LABEL_FIELDS,
];
const HEALTH_FIELDS = ['rules', 'complete', 'buckets'];
/** Time to healthy, in seconds: from a few seconds to a day. */
export const DEFAULT_HEALTH_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400];
const GVK_FIELDS = ['group', 'version', 'kind'];
const METRIC_FIELDS = ['name', 'help', 'errorLogV', 'each', 'aggregate', ...LABEL_FIELDS];
const EACH_FIELDS = ['type', 'gauge', 'stateSet', 'info'];
const EACH_COMMON_FIELDS = ['path', 'labelsFromPath', 'labelsFromExpression', 'forEach'];
const FOR_EACH_FIELDS = ['path', 'labelsFromPath', 'labelsFromExpression', 'forEach'];
const AGGREGATE_FIELDS = ['function', 'by', 'keepEmptyGroups'];
const AGGREGATE_FUNCTIONS = ['count', 'sum', 'min', 'max'] as const;
/** How deep `forEach` may nest (a list in a list in a list ...): far beyond any real status shape. */
const MAX_FOR_EACH_DEPTH = 8;
const GAUGE_FIELDS = [...EACH_COMMON_FIELDS, 'valueFrom', 'valueExpression', 'labelFromKey', 'nilIsZero'];
const STATESET_FIELDS = [...EACH_COMMON_FIELDS, 'valueFrom', 'valueExpression', 'labelName', 'list'];
const INFO_FIELDS = [...EACH_COMMON_FIELDS, 'labelFromKey'];
const PATH_HINT = ' (a path is a list of segments, e.g. [status, phase])';

/** The error for a config file that cannot be read: missing, a directory, not permitted, ... */
export function unreadableConfig(file: string, err: unknown): ConfigError {
  const code = (err as NodeJS.ErrnoException).code;
  const reason =
    code === 'ENOENT'
      ? 'file not found'
      : code === 'EISDIR'
        ? 'is a directory; --config takes a file'
        : code === 'EACCES'
          ? 'permission denied'
          : (err as Error).message;
  return new ConfigError([{ location: { file, line: 1, column: 1, keyPath: '' }, message: reason }]);
}

/** Parses and validates config text; throws ConfigError listing every problem. `file` is only used in messages. */
export function parseConfig(text: string, file: string): BridgeConfig {
  const { config, problems } = readConfigText(text, file);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/**
 * Reads config text without giving up at the first problem: every problem the reader finds comes
 * back with whatever could be read (resources and metrics that are whole), so a compiler can check
 * those too and one run reports everything. `file` is only used in messages.
 */
export function readConfigText(
  text: string,
  file: string,
): { config: BridgeConfig; problems: ConfigProblem[] } {
  const lines = new LineCounter();
  const reader = new YamlReader(file, lines);
  const docs = parseAllDocuments(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const documents = Array.isArray(docs) ? docs : [];
  for (const doc of documents) {
    for (const err of [...doc.errors, ...doc.warnings]) {
      const pos = err.linePos?.[0] ?? lines.linePos(err.pos[0]);
      const message = err.message.split('\n')[0] ?? err.message;
      reader.reportAt({ file, line: pos.line, column: pos.col, keyPath: '' }, `YAML: ${message}`);
    }
  }
  for (const doc of reader.problems.length > 0 ? [] : documents) {
    const aliasProblem = expandAliases(doc);
    if (aliasProblem) reader.report(aliasProblem.node, '', aliasProblem.message);
  }
  const nothing = { config: { file, resources: [] }, problems: reader.problems };
  if (reader.problems.length > 0) return nothing;
  const nonEmpty = documents.filter(
    (d) => d.contents !== null && !(isScalar(d.contents) && d.contents.value === null),
  );
  if (nonEmpty.length === 0) {
    reader.reportAt({ file, line: 1, column: 1, keyPath: '' }, 'the config is empty');
    return nothing;
  }
  if (nonEmpty.length > 1) {
    reader.report(
      nonEmpty[1]!.contents,
      '',
      'the file holds more than one YAML document; put every resource under one spec.resources list',
    );
  }
  const root = nonEmpty[0]!.contents as Node;
  return { config: { file, resources: readRoot(reader, root) }, problems: reader.problems };
}

function readRoot(r: YamlReader, root: Node): ResourceConfig[] {
  const top = r.entries(root, '', TOP_FIELDS);
  if (!top) return [];
  const kind = r.string(top.get('kind')?.value, 'kind');
  if (kind !== undefined && kind !== 'CustomResourceStateMetrics') {
    r.report(top.get('kind')!.value, 'kind', `expected "CustomResourceStateMetrics", got "${kind}"`);
  }
  const specEntry = top.get('spec');
  if (!specEntry) {
    r.report(
      root,
      '',
      'missing field "spec" (the config is a CustomResourceStateMetrics document: spec.resources[...])',
    );
    return [];
  }
  const spec = r.entries(specEntry.value, 'spec', SPEC_FIELDS, specEntry.key);
  if (!spec) return [];
  const list = spec.get('resources');
  if (!list || list.value === null || (isScalar(list.value) && list.value.value === null)) {
    r.report(
      list?.key ?? specEntry.key,
      'spec.resources',
      'no resources configured: the bridge would produce nothing',
    );
    return [];
  }
  const seq = list.value;
  if (!isSeq(seq)) {
    r.report(seq, 'spec.resources', 'expected a list of resources');
    return [];
  }
  const items = seq.items as (Node | null)[];
  if (items.length === 0)
    r.report(seq, 'spec.resources', 'no resources configured: the bridge would produce nothing');
  return items.flatMap((item, i) => {
    const res = readResource(r, item, `spec.resources[${i}]`, seq);
    return res ? [res] : [];
  });
}

function readLabels(
  r: YamlReader,
  entries: Map<string, { key: Node; value: Node | null }>,
  keyPath: string,
  allowCommon: boolean,
): LabelSources {
  const nameLocations = new Map<string, SourceLocation>();
  const commonLabels = new Map<string, string>();
  if (allowCommon) {
    for (const [name, { value, key }] of r.stringMap(
      entries.get('commonLabels')?.value,
      joinKey(keyPath, 'commonLabels'),
    )) {
      commonLabels.set(name, value);
      nameLocations.set(name, r.locate(key, joinKey(joinKey(keyPath, 'commonLabels'), name)));
    }
  }
  const labelsFromPath = new Map<string, PathConfig>();
  const fromPathKey = joinKey(keyPath, 'labelsFromPath');
  for (const [name, { value, key }] of r.nodeMap(entries.get('labelsFromPath')?.value, fromPathKey)) {
    const location = r.locate(key, joinKey(fromPathKey, name));
    const segments = r.stringList(value, joinKey(fromPathKey, name), PATH_HINT) ?? [];
    labelsFromPath.set(name, { segments, location: r.locate(value, joinKey(fromPathKey, name), key) });
    nameLocations.set(name, location);
  }
  const labelsFromExpression = new Map<string, ExpressionConfig>();
  const fromExprKey = joinKey(keyPath, 'labelsFromExpression');
  for (const [name, { value, key }] of r.nodeMap(entries.get('labelsFromExpression')?.value, fromExprKey)) {
    const source = r.string(value, joinKey(fromExprKey, name));
    if (source === undefined) {
      r.report(value, joinKey(fromExprKey, name), 'expected a CEL expression', key);
      continue;
    }
    labelsFromExpression.set(name, { source, location: r.locate(value, joinKey(fromExprKey, name), key) });
    nameLocations.set(name, r.locate(key, joinKey(fromExprKey, name)));
  }
  return { commonLabels, labelsFromPath, labelsFromExpression, nameLocations };
}

function readResource(
  r: YamlReader,
  node: Node | null,
  keyPath: string,
  parent: Node,
): ResourceConfig | undefined {
  const e = r.entries(node, keyPath, RESOURCE_FIELDS, parent);
  if (!e) return undefined;
  const location = r.locate(node, keyPath, parent);
  const gvkEntry = e.get('groupVersionKind');
  let group = '';
  let version = '';
  let kind = '';
  if (!gvkEntry) {
    r.report(node, keyPath, 'missing field "groupVersionKind"', parent);
  } else {
    const gvk = r.entries(gvkEntry.value, `${keyPath}.groupVersionKind`, GVK_FIELDS, gvkEntry.key);
    if (gvk) {
      group = r.string(gvk.get('group')?.value, `${keyPath}.groupVersionKind.group`) ?? '';
      version = r.string(gvk.get('version')?.value, `${keyPath}.groupVersionKind.version`) ?? '';
      kind = r.string(gvk.get('kind')?.value, `${keyPath}.groupVersionKind.kind`) ?? '';
      if (group === '') {
        r.report(
          gvk.get('group')?.value ?? gvkEntry.key,
          `${keyPath}.groupVersionKind.group`,
          'group is required ("*" for every group with a CRD)',
          gvkEntry.key,
        );
      }
    }
  }
  const prefixEntry = e.get('metricNamePrefix');
  const metricNamePrefix = prefixEntry
    ? r.string(prefixEntry.value, `${keyPath}.metricNamePrefix`)
    : undefined;
  const labelOrderText = r.string(e.get('labelOrder')?.value, `${keyPath}.labelOrder`) ?? 'sorted';
  if (labelOrderText !== 'sorted' && labelOrderText !== 'declared') {
    r.report(
      e.get('labelOrder')!.value,
      `${keyPath}.labelOrder`,
      `expected "sorted" or "declared", got "${labelOrderText}"`,
    );
  }
  const healthEntry = e.get('health');
  const health = healthEntry ? readHealth(r, healthEntry, `${keyPath}.health`) : undefined;
  const conditionsEntry = e.get('conditions');
  let conditions: ConditionsConfig | undefined;
  if (conditionsEntry && r.entries(conditionsEntry.value, `${keyPath}.conditions`, [], conditionsEntry.key))
    conditions = { location: r.locate(conditionsEntry.key, `${keyPath}.conditions`) };
  const metrics: MetricConfig[] = [];
  const metricsEntry = e.get('metrics');
  const metricItems = isSeq(metricsEntry?.value) ? (metricsEntry.value.items as (Node | null)[]) : undefined;
  if (!metricsEntry || metricItems === undefined || metricItems.length === 0) {
    if (metricsEntry && metricsEntry.value !== null && metricItems === undefined) {
      r.report(metricsEntry.value, `${keyPath}.metrics`, 'expected a list of metrics');
    } else if (healthEntry || conditionsEntry) {
      // health or conditions alone is a complete resource.
    } else {
      r.report(
        metricsEntry?.key ?? node,
        `${keyPath}.metrics`,
        'no metrics configured for this resource',
        parent,
      );
    }
  } else {
    metricItems.forEach((item, i) => {
      const m = readMetric(r, item, `${keyPath}.metrics[${i}]`, metricsEntry.value);
      if (m) metrics.push(m);
    });
  }
  return {
    groupVersionKind: { group, version, kind },
    resourcePlural: r.string(e.get('resourcePlural')?.value, `${keyPath}.resourcePlural`),
    metricNamePrefix,
    customResourceLabels:
      r.bool(e.get('customResourceLabels')?.value, `${keyPath}.customResourceLabels`) ?? true,
    labelOrder: labelOrderText === 'declared' ? 'declared' : 'sorted',
    namespaces: r.stringList(e.get('namespaces')?.value, `${keyPath}.namespaces`) ?? [],
    labelSelector: r.string(e.get('labelSelector')?.value, `${keyPath}.labelSelector`),
    fieldSelector: r.string(e.get('fieldSelector')?.value, `${keyPath}.fieldSelector`),
    errorLogV: r.integer(e.get('errorLogV')?.value, `${keyPath}.errorLogV`) ?? 0,
    limits: readLimits(r, e.get('limits'), `${keyPath}.limits`),
    metrics,
    health,
    conditions,
    location,
    ...readLabels(r, e, keyPath, true),
  };
}

/** `health: {rules, complete, buckets}`; the rules are checked by the health evaluator. */
function readHealth(
  r: YamlReader,
  entry: { key: Node; value: Node | null },
  keyPath: string,
): HealthConfig | undefined {
  const e = r.entries(entry.value, keyPath, HEALTH_FIELDS, entry.key);
  if (!e) return undefined;
  let buckets = DEFAULT_HEALTH_BUCKETS;
  const bucketsEntry = e.get('buckets');
  if (bucketsEntry) {
    const texts = r.stringList(bucketsEntry.value, `${keyPath}.buckets`) ?? [];
    const values = texts.map(Number);
    if (
      texts.length === 0 ||
      values.some((v, i) => !Number.isFinite(v) || v <= 0 || (i > 0 && v <= values[i - 1]!))
    )
      r.report(
        bucketsEntry.value,
        `${keyPath}.buckets`,
        'expected a list of increasing positive numbers of seconds (the +Inf bucket is implied)',
      );
    else buckets = values;
  }
  const rules = e.get('rules');
  const complete = e.get('complete');
  return {
    overrides:
      rules || complete ? { rules: rules?.value?.toJSON(), complete: complete?.value?.toJSON() } : undefined,
    overrideLocations: valueLocations(r, entry.value, keyPath),
    buckets,
    location: r.locate(entry.key, keyPath),
  };
}

/**
 * The location of every value in a subtree, by key path relative to it: `rules[0].when` (a key
 * that is not an identifier is quoted, as the health rules name key paths).
 */
function valueLocations(r: YamlReader, root: Node | null, keyPath: string): Map<string, SourceLocation> {
  const out = new Map<string, SourceLocation>();
  const walk = (node: unknown, relative: string): void => {
    if (!isNode(node)) return;
    if (relative !== '') out.set(relative, r.locate(node, `${keyPath}.${relative}`));
    if (isMap(node))
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
        if (key === undefined) continue;
        const part = /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? key : JSON.stringify(key);
        walk(pair.value ?? pair.key, relative === '' ? part : `${relative}.${part}`);
      }
    else if (isSeq(node)) node.items.forEach((item, i) => walk(item, `${relative}[${i}]`));
  };
  walk(root, '');
  return out;
}

function readLimits(
  r: YamlReader,
  entry: { key: Node; value: Node | null } | undefined,
  keyPath: string,
): LimitsConfig {
  if (!entry) return {};
  const e = r.entries(entry.value, keyPath, LIMITS_FIELDS, entry.key);
  if (!e) return {};
  const limits: Record<string, number> = {};
  for (const name of LIMITS_FIELDS) {
    const field = e.get(name);
    if (!field) continue;
    const value = r.integer(field.value, `${keyPath}.${name}`);
    if (value === undefined) continue;
    if (value < 0 || !Number.isSafeInteger(value)) {
      r.report(
        field.value,
        `${keyPath}.${name}`,
        `expected a non-negative integer (0 = unlimited), got ${value}`,
      );
      continue;
    }
    limits[name] = value;
  }
  return limits;
}

function readMetric(
  r: YamlReader,
  node: Node | null,
  keyPath: string,
  parent: Node | null,
): MetricConfig | undefined {
  const e = r.entries(node, keyPath, METRIC_FIELDS, parent);
  if (!e) return undefined;
  const name = r.string(e.get('name')?.value, `${keyPath}.name`);
  if (name === undefined || name === '')
    r.report(e.get('name')?.value ?? node, `${keyPath}.name`, 'a metric needs a name', parent);
  const aggregateEntry = e.get('aggregate');
  const aggregate = aggregateEntry
    ? readAggregate(r, aggregateEntry.value, `${keyPath}.aggregate`, aggregateEntry.key)
    : undefined;
  const eachEntry = e.get('each');
  let each: EachConfig | undefined;
  if (eachEntry) each = readEach(r, eachEntry.value, `${keyPath}.each`, eachEntry.key);
  else if (aggregate?.function === 'count') each = countEach(aggregate.location);
  else
    r.report(
      node,
      `${keyPath}.each`,
      aggregate
        ? `missing field "each": aggregate.function ${aggregate.function} needs the values to combine`
        : 'missing field "each" (type and gauge, stateSet or info block)',
      parent,
    );
  if (!each || name === undefined || (aggregateEntry && !aggregate)) return undefined;
  return {
    name,
    help: r.string(e.get('help')?.value, `${keyPath}.help`) ?? '',
    errorLogV: r.integer(e.get('errorLogV')?.value, `${keyPath}.errorLogV`) ?? 0,
    each,
    aggregate,
    location: r.locate(node, keyPath, parent),
    ...readLabels(r, e, keyPath, true),
  };
}

/** `aggregate: {function, by, keepEmptyGroups}`. */
function readAggregate(
  r: YamlReader,
  node: Node | null,
  keyPath: string,
  owner: Node,
): AggregateConfig | undefined {
  const e = r.entries(node, keyPath, AGGREGATE_FIELDS, owner);
  if (!e) return undefined;
  const fn = r.string(e.get('function')?.value, `${keyPath}.function`);
  if (fn === undefined) {
    if (!e.has('function'))
      r.report(node, `${keyPath}.function`, 'missing field "function" (count, sum, min or max)', owner);
    return undefined;
  }
  const known = AGGREGATE_FUNCTIONS.find((f) => f === fn.toLowerCase());
  if (!known) {
    r.report(
      e.get('function')!.value,
      `${keyPath}.function`,
      `unknown aggregate function "${fn}" (expected count, sum, min or max)`,
    );
    return undefined;
  }
  const by = r.stringList(e.get('by')?.value, `${keyPath}.by`) ?? [];
  const seen = new Set<string>();
  for (const label of by) {
    if (seen.has(label)) r.report(e.get('by')!.value, `${keyPath}.by`, `label "${label}" is listed twice`);
    seen.add(label);
  }
  return {
    function: known,
    by,
    keepEmptyGroups: r.bool(e.get('keepEmptyGroups')?.value, `${keyPath}.keepEmptyGroups`) ?? false,
    location: r.locate(node, keyPath, owner),
  };
}

/** The `each` of an aggregate count without one: a series of value 1 per object. */
function countEach(location: SourceLocation): EachConfig {
  const none = new Map();
  const path: PathConfig = { segments: [], location };
  return {
    type: 'gauge',
    location,
    gauge: {
      path,
      labelsFromPath: none,
      labelsFromExpression: none,
      nameLocations: none,
      forEach: undefined,
      valueFrom: path,
      valueExpression: { source: '1', location },
      labelFromKey: '',
      nilIsZero: false,
    },
  };
}

const TYPE_BLOCKS = { gauge: 'gauge', stateset: 'stateSet', info: 'info' } as const;

function readEach(r: YamlReader, node: Node | null, keyPath: string, owner: Node): EachConfig | undefined {
  const e = r.entries(node, keyPath, EACH_FIELDS, owner);
  if (!e) return undefined;
  const location = r.locate(node, keyPath, owner);
  const typeText = r.string(e.get('type')?.value, `${keyPath}.type`);
  if (typeText === undefined) {
    r.report(node, `${keyPath}.type`, 'missing field "type" (Gauge, StateSet or Info)', owner);
    return undefined;
  }
  const type = typeText.toLowerCase();
  if (type !== 'gauge' && type !== 'stateset' && type !== 'info') {
    r.report(
      e.get('type')!.value,
      `${keyPath}.type`,
      `unknown metric type "${typeText}" (expected Gauge, StateSet or Info)`,
    );
    return undefined;
  }
  const blockName = TYPE_BLOCKS[type];
  for (const other of Object.values(TYPE_BLOCKS)) {
    if (other !== blockName && e.has(other)) {
      r.report(
        e.get(other)!.key,
        `${keyPath}.${other}`,
        `"${other}" block given for a metric of type ${typeText}; it would be ignored`,
      );
    }
  }
  const block = e.get(blockName);
  const blockPath = `${keyPath}.${blockName}`;
  if (!block || block.value === null) {
    r.report(
      block?.key ?? node,
      blockPath,
      `expected each.${blockName} to not be nil (type ${typeText} needs the "${blockName}" block)`,
      owner,
    );
    return undefined;
  }
  if (type === 'gauge') {
    const g = r.entries(block.value, blockPath, GAUGE_FIELDS, block.key);
    if (!g) return undefined;
    const gauge: GaugeConfig = {
      ...readEachCommon(r, g, blockPath, block.value),
      valueFrom: readPath(r, g, 'valueFrom', blockPath, block.value),
      valueExpression: readExpression(r, g, 'valueExpression', blockPath),
      labelFromKey: r.string(g.get('labelFromKey')?.value, `${blockPath}.labelFromKey`) ?? '',
      nilIsZero: r.bool(g.get('nilIsZero')?.value, `${blockPath}.nilIsZero`) ?? false,
    };
    if (gauge.valueExpression && g.has('valueFrom')) {
      r.report(
        g.get('valueExpression')!.key,
        `${blockPath}.valueExpression`,
        'give either valueFrom or valueExpression, not both',
      );
    }
    return { type, gauge, location };
  }
  if (type === 'stateset') {
    const s = r.entries(block.value, blockPath, STATESET_FIELDS, block.key);
    if (!s) return undefined;
    const list = r.stringList(s.get('list')?.value, `${blockPath}.list`) ?? [];
    if (list.length === 0)
      r.report(
        s.get('list')?.value ?? block.value,
        `${blockPath}.list`,
        'a StateSet needs a non-empty list of states',
        block.key,
      );
    const labelName = r.string(s.get('labelName')?.value, `${blockPath}.labelName`) ?? '';
    if (labelName === '')
      r.report(
        s.get('labelName')?.value ?? block.value,
        `${blockPath}.labelName`,
        'a StateSet needs a labelName',
        block.key,
      );
    const stateSet: StateSetConfig = {
      ...readEachCommon(r, s, blockPath, block.value),
      valueFrom: readPath(r, s, 'valueFrom', blockPath, block.value),
      valueExpression: readExpression(r, s, 'valueExpression', blockPath),
      labelName,
      list,
    };
    if (stateSet.valueExpression && s.has('valueFrom')) {
      r.report(
        s.get('valueExpression')!.key,
        `${blockPath}.valueExpression`,
        'give either valueFrom or valueExpression, not both',
      );
    }
    return { type, stateSet, location };
  }
  const i = r.entries(block.value, blockPath, INFO_FIELDS, block.key);
  if (!i) return undefined;
  const info: InfoConfig = {
    ...readEachCommon(r, i, blockPath, block.value),
    labelFromKey: r.string(i.get('labelFromKey')?.value, `${blockPath}.labelFromKey`) ?? '',
  };
  return { type, info, location };
}

function readPath(
  r: YamlReader,
  e: Map<string, { key: Node; value: Node | null }>,
  field: string,
  keyPath: string,
  owner: Node | null,
): PathConfig {
  const entry = e.get(field);
  const segments = r.stringList(entry?.value, `${keyPath}.${field}`, PATH_HINT) ?? [];
  return { segments, location: r.locate(entry?.value ?? entry?.key, `${keyPath}.${field}`, owner) };
}

function readExpression(
  r: YamlReader,
  e: Map<string, { key: Node; value: Node | null }>,
  field: string,
  keyPath: string,
): ExpressionConfig | undefined {
  const entry = e.get(field);
  if (!entry) return undefined;
  const source = r.string(entry.value, `${keyPath}.${field}`);
  if (source === undefined || source.trim() === '') {
    r.report(entry.value, `${keyPath}.${field}`, 'expected a CEL expression', entry.key);
    return undefined;
  }
  return { source, location: r.locate(entry.value, `${keyPath}.${field}`, entry.key) };
}

function readEachCommon(
  r: YamlReader,
  e: Map<string, { key: Node; value: Node | null }>,
  keyPath: string,
  owner: Node | null,
) {
  const labels = readLabels(r, e, keyPath, false);
  const forEachEntry = e.get('forEach');
  return {
    path: readPath(r, e, 'path', keyPath, owner),
    labelsFromPath: labels.labelsFromPath,
    labelsFromExpression: labels.labelsFromExpression,
    nameLocations: labels.nameLocations,
    forEach: forEachEntry
      ? readForEach(r, forEachEntry.value, `${keyPath}.forEach`, forEachEntry.key, 1)
      : undefined,
  };
}

/** `forEach: {path, labelsFromPath, labelsFromExpression, forEach}`, nested up to MAX_FOR_EACH_DEPTH. */
function readForEach(
  r: YamlReader,
  node: Node | null,
  keyPath: string,
  owner: Node,
  depth: number,
): ForEachConfig | undefined {
  const e = r.entries(node, keyPath, FOR_EACH_FIELDS, owner);
  if (!e) return undefined;
  const location = r.locate(node, keyPath, owner);
  if (!e.has('path')) r.report(node, `${keyPath}.path`, 'missing field "path" (the list to iterate)', owner);
  const inner = e.get('forEach');
  if (inner && depth >= MAX_FOR_EACH_DEPTH) {
    r.report(inner.key, `${keyPath}.forEach`, `forEach nests deeper than ${MAX_FOR_EACH_DEPTH} levels`);
    return undefined;
  }
  const labels = readLabels(r, e, keyPath, false);
  return {
    path: readPath(r, e, 'path', keyPath, node),
    labelsFromPath: labels.labelsFromPath,
    labelsFromExpression: labels.labelsFromExpression,
    nameLocations: labels.nameLocations,
    forEach: inner ? readForEach(r, inner.value, `${keyPath}.forEach`, inner.key, depth + 1) : undefined,
    location,
  };
}
