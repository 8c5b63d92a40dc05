// A plausible but quadratic CEL expression over a tenant's large object: a join of `spec.items`
// with itself. Over the 199 KB Foo below it took 47 s of one synchronous evaluation (and /healthz
// 51 s) before CEL had a cost budget. Generated, not committed. Run directly to write the files
// for a manual reproduction:
//   node test/support/hostileCel.ts DIR [bytes]
//   node bin/crd-metrics-bridge.js render --config DIR/config.yaml DIR/objects
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** How many items depend on an item of the same list: a join, n × n comparisons when none does. */
export const JOIN_EXPRESSION =
  'size(object.spec.items.filter(x, object.spec.items.exists(y, y.id == x.dep)))';

/**
 * A Foo resource with the join as a gauge, an ordinary CEL gauge (the fast path's subset) and a
 * path gauge. `limits` is inserted as the resource's `limits:` block (e.g. `{ celCost: 5000 }`).
 */
export function celJoinConfig(limits = ''): string {
  return `kind: CustomResourceStateMetrics
spec:
  resources:
    - groupVersionKind: { group: example.com, version: v1, kind: Foo }
      metricNamePrefix: foo
      labelsFromPath:
        name: [metadata, name]
        namespace: [metadata, namespace]${limits === '' ? '' : `\n      limits: ${limits}`}
      metrics:
        - name: items
          help: Items of the Foo.
          each:
            type: Gauge
            gauge:
              valueExpression: size(object.spec.items)
        - name: satisfied_dependencies
          help: Items whose dependency is an item of the same Foo.
          each:
            type: Gauge
            gauge:
              valueExpression: '${JOIN_EXPRESSION}'
        - name: ready
          help: Whether the Foo is ready.
          each:
            type: Gauge
            gauge:
              valueExpression: 'object.status.phase == "Ready" ? 1 : 0'
`;
}

/** The JSON size of the object that took 47 s. */
export const JOIN_FOO_BYTES = 199 * 1024;

/**
 * A Foo whose `spec.items` fills about `bytes` of JSON; no item's `dep` names another item, so
 * `exists` scans the whole list for every item (the worst case of the join).
 */
export function joinFoo(
  options: { bytes?: number; items?: number; name?: string; namespace?: string } = {},
): Record<string, unknown> {
  const item = (i: number) => ({
    id: `item-${String(i).padStart(6, '0')}`,
    dep: `none-${String(i).padStart(6, '0')}`,
  });
  const itemBytes = JSON.stringify(item(0)).length + 1;
  const count = options.items ?? Math.floor((options.bytes ?? JOIN_FOO_BYTES) / itemBytes);
  return {
    apiVersion: 'example.com/v1',
    kind: 'Foo',
    metadata: { name: options.name ?? 'join', namespace: options.namespace ?? 'tenant-a' },
    spec: { items: Array.from({ length: count }, (_, i) => item(i)) },
    status: { phase: 'Ready' },
  };
}

/** Another team's small Foo next to it: its series must still be served. */
export function smallFoo(name = 'small', namespace = 'tenant-b'): Record<string, unknown> {
  return joinFoo({ items: 3, name, namespace });
}

/** Writes `dir`/config.yaml and the objects `dir`/objects/{join,small}.json. */
export function writeJoinFixture(dir: string, bytes = JOIN_FOO_BYTES): void {
  mkdirSync(join(dir, 'objects'), { recursive: true });
  writeFileSync(join(dir, 'config.yaml'), celJoinConfig());
  writeFileSync(join(dir, 'objects', 'join.json'), JSON.stringify(joinFoo({ bytes })));
  writeFileSync(join(dir, 'objects', 'small.json'), JSON.stringify(smallFoo()));
}

if (import.meta.main) {
  const [dir, bytes] = process.argv.slice(2);
  if (!dir) {
    console.error('usage: node test/support/hostileCel.ts DIR [bytes]');
    process.exitCode = 2;
  } else {
    writeJoinFixture(dir, bytes ? Number(bytes) : undefined);
  }
}
