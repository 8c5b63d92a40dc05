// The hostile object: a Foo whose `spec.note` is large and whose `spec.items` has tens
// of thousands of elements, each becoming a series that carries the note as a label. Generated,
// not committed (the default object is about 700 KB of JSON). Run directly to write the files for
// a manual reproduction:
//   node test/support/hostileFoo.ts DIR [noteBytes] [items]
//   node bin/crd-metrics-bridge.js render --config DIR/config.yaml DIR/objects
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The config that turns a Foo into one series per list element, each carrying `spec.note`. */
export const FOO_CONFIG = `kind: CustomResourceStateMetrics
spec:
  resources:
    - groupVersionKind: { group: example.com, version: v1, kind: Foo }
      metricNamePrefix: foo
      labelsFromPath:
        name: [metadata, name]
        namespace: [metadata, namespace]
      metrics:
        - name: item_value
          help: One series per list element; the note rides along as a label.
          labelsFromPath:
            note: [spec, note]
          each:
            type: Gauge
            gauge:
              path: [spec, items]
              valueFrom: [value]
              labelsFromPath:
                item: [name]
        - name: phase
          help: Phase of the Foo.
          each:
            type: StateSet
            stateSet:
              path: [status]
              valueFrom: [phase]
              labelName: phase
              list: [Pending, Ready, Failed]
`;

export interface HostileFooOptions {
  /** Length of `spec.note`. @default 102400 */
  readonly noteBytes?: number;
  /** Elements of `spec.items`. @default 20000 */
  readonly items?: number;
  readonly name?: string;
  readonly namespace?: string;
}

export function hostileFoo(options: HostileFooOptions = {}): Record<string, unknown> {
  const noteBytes = options.noteBytes ?? 100 * 1024;
  const items = options.items ?? 20_000;
  return {
    apiVersion: 'example.com/v1',
    kind: 'Foo',
    metadata: { name: options.name ?? 'hostile', namespace: options.namespace ?? 'tenant-a' },
    spec: {
      note: 'n'.repeat(noteBytes),
      items: Array.from({ length: items }, (_, i) => ({ name: `item-${i}`, value: i })),
    },
    status: { phase: 'Ready' },
  };
}

/** An ordinary Foo next to the hostile one: its series must still be served. */
export function benignFoo(name: string, namespace = 'tenant-b'): Record<string, unknown> {
  return hostileFoo({ noteBytes: 12, items: 3, name, namespace });
}

/** Writes `dir`/config.yaml and the objects `dir`/objects/{hostile,benign}.json. */
export function writeHostileFixture(dir: string, options: HostileFooOptions = {}): void {
  mkdirSync(join(dir, 'objects'), { recursive: true });
  writeFileSync(join(dir, 'config.yaml'), FOO_CONFIG);
  writeFileSync(join(dir, 'objects', 'hostile.json'), JSON.stringify(hostileFoo(options)));
  writeFileSync(join(dir, 'objects', 'benign.json'), JSON.stringify(benignFoo('benign')));
}

if (import.meta.main) {
  const [dir, noteBytes, items] = process.argv.slice(2);
  if (!dir) {
    console.error('usage: node test/support/hostileFoo.ts DIR [noteBytes] [items]');
    process.exitCode = 2;
  } else {
    writeHostileFixture(dir, {
      ...(noteBytes ? { noteBytes: Number(noteBytes) } : {}),
      ...(items ? { items: Number(items) } : {}),
    });
  }
}
