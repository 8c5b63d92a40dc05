import { Document, isMap, isScalar, isSeq, Scalar } from 'yaml';
import type { Node, YAMLMap, YAMLSeq } from 'yaml';
import type { DraftEach, DraftLabel, DraftResource } from './draftResource.ts';

const HEADER = [
  'Drafted by `crd-metrics-bridge init`: a starting point to review, not a finished config.',
  'Each metric says which field it reads and why; fields left out are listed, with the reason,',
  'after each resource. Same CRDs in, same file out: regenerate after a CRD upgrade and diff.',
  'Optional fields are read with a CEL valueExpression guarded by has(), so an object without the',
  'field gives no series (a plain path would count a nil-value error for every such object).',
];

const VERSION_CHOICE = {
  storage: 'the storage version',
  requested: 'the version asked for',
  only: 'its only version',
} as const;

function labelsMap(labels: readonly DraftLabel[]): Record<string, readonly string[]> {
  return Object.fromEntries(labels.map((l) => [l.name, l.path]));
}

function eachValue(each: DraftEach): Record<string, unknown> {
  switch (each.type) {
    case 'Gauge':
      return {
        type: 'Gauge',
        gauge: each.path ? { path: each.path } : { valueExpression: each.valueExpression },
      };
    case 'StateSet':
      return {
        type: 'StateSet',
        stateSet: {
          path: each.path,
          ...(each.valueFrom ? { valueFrom: each.valueFrom } : {}),
          labelName: each.labelName,
          list: each.list,
          ...(each.labelsFromPath ? { labelsFromPath: labelsMap(each.labelsFromPath) } : {}),
        },
      };
    case 'Info':
      // A path to one scalar every object has: exactly one series per object (an Info over a map
      // would give one more for every entry where a label resolves).
      return { type: 'Info', info: { path: ['metadata', 'name'], labelsFromPath: { name: [] } } };
  }
}

/** Lines as a YAML comment body (the library adds `#`; a leading space keeps `# text`). */
function comment(lines: readonly string[]): string {
  return lines.map((l) => ` ${l}`).join('\n');
}

/** Paths and label maps in flow style (`[status, phase]`); state lists quoted, as YAML 1.1 readers need. */
function styleNode(node: unknown, key: string | undefined): void {
  if (isSeq(node)) {
    if (node.items.every((i) => isScalar(i))) {
      node.flow = true;
      if (key === 'list') for (const item of node.items) if (isScalar(item)) item.type = Scalar.QUOTE_DOUBLE;
    } else for (const item of node.items) styleNode(item, undefined);
  } else if (isMap(node)) {
    for (const pair of node.items) {
      const k = isScalar(pair.key) ? String(pair.key.value) : undefined;
      styleNode(pair.value, k);
    }
  }
}

/** The drafted resources as one commented `CustomResourceStateMetrics` document. */
export function writeConfig(resources: readonly DraftResource[]): string {
  const doc = new Document(
    {
      kind: 'CustomResourceStateMetrics',
      spec: {
        resources: resources.map((r) => ({
          groupVersionKind: { group: r.crd.group, version: r.crd.version, kind: r.crd.kind },
          // Read by `rbac` (the run itself asks discovery): a guessed plural would be wrong for `podchaos`.
          ...(r.crd.plural !== '' ? { resourcePlural: r.crd.plural } : {}),
          metricNamePrefix: r.prefix,
          labelsFromPath: labelsMap(r.labels),
          ...Object.fromEntries(r.extraKeys.map((k) => [k.key, k.value])),
          metrics: r.metrics.map((m) => ({
            name: m.name,
            help: m.help,
            ...(m.each.type === 'Info' && m.each.labels.length > 0
              ? { labelsFromPath: labelsMap(m.each.labels) }
              : {}),
            each: eachValue(m.each),
          })),
        })),
      },
      // One list object may back several families (the condition statuses): write it out each time.
    },
    { aliasDuplicateObjects: false },
  );
  doc.commentBefore = comment(HEADER);
  styleNode(doc.contents, undefined);
  const seq = doc.getIn(['spec', 'resources'], true) as YAMLSeq;
  resources.forEach((r, i) => {
    const node = seq.items[i] as YAMLMap;
    const scope = r.crd.namespaced ? 'namespaced' : 'cluster-scoped';
    node.commentBefore = comment([
      `${r.crd.kind} (${r.crd.group}/${r.crd.version}, ${VERSION_CHOICE[r.crd.versionChoice]}; ${scope}), from the CRD ${r.crd.crdName}.`,
      `Metric names: ${r.prefix}_<field path in snake_case>.`,
    ]);
    for (const key of r.extraKeys) {
      const pair = node.items.find((p) => isScalar(p.key) && p.key.value === key.key);
      if (pair && isScalar(pair.key)) pair.key.commentBefore = comment([key.comment]);
    }
    const metrics = node.get('metrics', true) as unknown as YAMLSeq;
    r.metrics.forEach((m, j) => {
      (metrics.items[j] as Node).commentBefore = comment(m.why);
    });
    if (r.leftOut.length > 0) metrics.comment = comment(['Left out:', ...r.leftOut.map((l) => `  ${l}`)]);
  });
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}
