// Aggregates at scale: Foos in 50 namespaces served as per-object series (a phase gauge and a
// replicas gauge per object) or as aggregates only (count by namespace and phase, sum of replicas
// by namespace), each in a fresh bridge process (bench/configComparison.ts), with the per-object
// config as the reference in the same run. Usage: node --expose-gc bench/aggregateBench.ts [objects]
import { compareConfigs, runConfig } from './configComparison.ts';

const NAMESPACES = 50;
const PHASES = ['Pending', 'Running', 'Failed'];
const UPDATES = Number(process.env.BENCH_AGGREGATE_UPDATES ?? 20_000);

const CONFIGS = {
  'per-object': `spec:
  resources:
    - groupVersionKind: { group: bench.example.com, version: v1, kind: Foo }
      customResourceLabels: false
      labelsFromPath:
        namespace: [metadata, namespace]
        name: [metadata, name]
      metrics:
        - name: foo_phase
          help: Phase of each Foo.
          labelsFromPath: { phase: [status, phase] }
          each: { type: Gauge, gauge: { valueExpression: '1' } }
        - name: foo_replicas
          help: spec.replicas of each Foo.
          each: { type: Gauge, gauge: { path: [spec], valueFrom: [replicas] } }
`,
  'aggregate-only': `spec:
  resources:
    - groupVersionKind: { group: bench.example.com, version: v1, kind: Foo }
      customResourceLabels: false
      labelsFromPath:
        namespace: [metadata, namespace]
      metrics:
        - name: foos
          help: Foos by namespace and phase.
          labelsFromPath: { phase: [status, phase] }
          aggregate: { function: count, by: [namespace, phase] }
        - name: foo_replicas_sum
          help: Replicas by namespace.
          aggregate: { function: sum, by: [namespace] }
          each: { type: Gauge, gauge: { path: [spec], valueFrom: [replicas] } }
`,
} as const;
type ConfigName = keyof typeof CONFIGS;

function foo(i: number, version: number): Record<string, unknown> {
  return {
    apiVersion: 'bench.example.com/v1',
    kind: 'Foo',
    metadata: { name: `foo-${i}`, namespace: `ns-${i % NAMESPACES}`, uid: `uid-${i}` },
    spec: { replicas: (i + version) % 7 },
    status: { phase: PHASES[(i * 7 + version) % PHASES.length] },
  };
}

/** Both configs, each twice in fresh processes, alternating; prints a table with the ratios. */
export function aggregateSection(objects = Number(process.env.BENCH_AGGREGATE_OBJECTS ?? 100_000)): void {
  compareConfigs({
    title: `Aggregates: ${objects.toLocaleString('en')} Foos in ${NAMESPACES} namespaces`,
    moduleFile: import.meta.filename,
    configs: Object.keys(CONFIGS),
    reference: 'per-object',
    objects,
  });
}

if (import.meta.main) {
  if (process.argv[2] === 'child') {
    const name = process.argv[3] as ConfigName;
    process.stdout.write(
      JSON.stringify(await runConfig(name, CONFIGS[name], foo, Number(process.argv[4]), UPDATES)),
    );
    process.exit(0);
  }
  aggregateSection(process.argv[2] ? Number(process.argv[2]) : undefined);
}
